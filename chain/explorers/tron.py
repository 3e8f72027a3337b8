"""TRON over a TronGrid-compatible HTTP API: transactions, TRC-20 transfers, address history.

Endpoints used (POST bodies and GET queries as TronGrid documents them):
/wallet/gettransactionbyid, /wallet/gettransactioninfobyid, /walletsolidity/getnowblock,
/wallet/getblockbynum, /wallet/triggerconstantcontract, /v1/accounts/{address}/transactions
and /v1/accounts/{address}/transactions/trc20. TronGrid has no batch call: every address of a
hop level costs its own requests, and the round trips are counted one by one.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chain.addresses import AddressError, is_tron_address, tron_from_hex, tron_to_hex
from chain.explorers.evm_wire import TRANSFER_TOPIC, units
from chain.explorers.http import HttpClient
from chain.explorers.port import (
    ExplorerError,
    History,
    TokenTransfer,
    Transaction,
    TransactionNotFound,
    Transfer,
)
from chain.explorers.tron_wire import abi_decimals, abi_symbol, constant_result, successful

TRX_DECIMALS = 6


def tron_address(value: Any) -> str:
    """A base58check address from any form the API uses (T…, 41… hex, 20-byte log hex)."""
    text = str(value or "")
    if is_tron_address(text):
        return text
    try:
        return tron_from_hex(text)
    except AddressError as error:
        raise ExplorerError(f"the TRON API sent an unreadable address {text[:60]!r}") from error


def _stamp(milliseconds: Any) -> datetime | None:
    """A UTC time from TRON's millisecond timestamps."""
    return datetime.fromtimestamp(int(milliseconds) / 1000, UTC) if milliseconds else None


class TronExplorer:
    """An Explorer for TRON; final data is what the solidified block covers (irreversible)."""

    chain = "tron"
    native_asset = "TRX"
    # Everything at or below the solidified block is irreversible, and latest_block() is that block.
    finality_depth = 0

    def __init__(self, client: HttpClient, *, page_size: int = 200, max_pages: int = 5):
        self.client = client
        self.page_size, self.max_pages = page_size, max_pages
        self._tokens: dict[str, tuple[str | None, int | None]] = {}
        self._block_times: dict[int, int] = {}  # block number -> timestamp (ms), learned on the way

    @classmethod
    def over_http(cls, url: str, api_key: str | None = None, **options: Any) -> TronExplorer:
        """An explorer for the API at `url`, sending the key as TronGrid expects it."""
        headers = {"TRON-PRO-API-KEY": api_key} if api_key else {}
        return cls(HttpClient(url, headers=headers), **options)

    @property
    def round_trips(self) -> int:
        """Requests sent so far."""
        return self.client.round_trips

    def latest_block(self) -> int:
        """The solidified head: the newest block that can no longer change."""
        header = (self.client.post_json("/walletsolidity/getnowblock", {}).get("block_header")
                  or {}).get("raw_data") or {}
        if "number" not in header:
            raise ExplorerError("the TRON API gave no solidified block")
        self._block_times[int(header["number"])] = int(header.get("timestamp") or 0)
        return int(header["number"])

    # -- transactions -- #

    def get_transaction(self, tx_hash: str) -> Transaction:
        """The transaction, its receipt (fee, logs, block) and the solidified head."""
        tx = self.client.post_json("/wallet/gettransactionbyid", {"value": tx_hash})
        if not tx or not tx.get("txID"):
            raise TransactionNotFound(f"transaction {tx_hash} is unknown on tron")
        info = self.client.post_json("/wallet/gettransactioninfobyid", {"value": tx_hash})
        head = self.latest_block()
        logs = [log for log in info.get("log") or [] if _is_transfer(log)]
        self.load_tokens(tron_address(log["address"]) for log in logs)
        contract = ((tx.get("raw_data") or {}).get("contract") or [{}])[0]
        value = (contract.get("parameter") or {}).get("value") or {}
        block = info.get("blockNumber")
        if block is None:
            status, confirmations, fee = "pending", 0, None
        else:
            self._block_times[int(block)] = int(info.get("blockTimeStamp") or 0)
            status = "confirmed" if successful(tx, info) else "failed"
            confirmations = max(head - int(block) + 1, 0)
            fee = units(int(info.get("fee") or 0), TRX_DECIMALS)
        receiver = value.get("to_address") or value.get("contract_address")
        amount = value.get("amount") if contract.get("type") == "TransferContract" else value.get(
            "call_value")
        return Transaction(
            hash=tx["txID"].lower(), status=status, confirmations=confirmations,
            block_number=None if block is None else int(block),
            timestamp=_stamp(info.get("blockTimeStamp")),
            from_address=tron_address(value.get("owner_address")) if value.get("owner_address")
            else None,
            to_address=tron_address(receiver) if receiver else None,
            value=units(int(amount or 0), TRX_DECIMALS), asset=self.native_asset, fee=fee,
            token_transfers=() if status != "confirmed" else tuple(
                self._log_transfer(log) for log in logs))

    def _log_transfer(self, log: dict) -> TokenTransfer:
        """A TRC-20 Transfer event from the receipt's log (hex topics, 20-byte addresses)."""
        token = tron_address(log["address"])
        raw = int(log.get("data") or "0", 16)
        symbol, decimals = self._tokens.get(token, (None, None))
        amount = units(raw, decimals) if decimals is not None else Decimal(raw)
        topics = log["topics"]
        return TokenTransfer(token, symbol, tron_address(topics[1][-40:]),
                             tron_address(topics[2][-40:]), amount, raw)

    # -- tokens and balances -- #

    def load_tokens(self, tokens: Iterable[str]) -> None:
        """Read symbol() and decimals() of tokens not seen before (two constant calls each)."""
        for token in sorted(set(tokens) - set(self._tokens)):
            symbol = abi_symbol(self._constant(token, token, "symbol()", ""))
            decimals = abi_decimals(self._constant(token, token, "decimals()", ""))
            self._tokens[token] = (symbol, decimals)

    def token_balances(self, holdings: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """balanceOf(holder) of each (holder, token) now, in token units (one call each)."""
        self.load_tokens(token for _, token in holdings)
        balances = {}
        for holder, token in holdings:
            result = self._constant(holder, token, "balanceOf(address)",
                                    tron_to_hex(holder)[2:].rjust(64, "0"))
            if result is None:
                continue
            decimals = self._tokens[token][1]
            raw = int(result or "0", 16)
            balances[(holder, token)] = units(raw, decimals) if decimals is not None else Decimal(raw)
        return balances

    def _constant(self, owner: str, contract: str, selector: str, parameter: str) -> str | None:
        """A read-only contract call; its result as hex, None when the contract refused."""
        answer = self.client.post_json("/wallet/triggerconstantcontract", {
            "owner_address": owner, "contract_address": contract, "function_selector": selector,
            "parameter": parameter, "visible": True})
        return constant_result(answer)

    # -- address history -- #

    def outgoing_transfers(self, addresses: Sequence[str], *, after_block: int,
                           through_block: int) -> History:
        """Every address's outgoing TRX and TRC-20 transfers in (after_block, through_block]."""
        history = History(through_block=through_block,
                          transfers={address: [] for address in addresses})
        if not addresses or through_block <= after_block:
            return history
        since = self._time_of(after_block + 1)
        for address in addresses:
            query = {"only_from": "true", "only_confirmed": "true", "min_timestamp": since,
                     "order_by": "block_timestamp,asc", "limit": self.page_size}
            txs, full = self._pages(f"/v1/accounts/{address}/transactions", query)
            tokens, full_tokens = self._pages(f"/v1/accounts/{address}/transactions/trc20", query)
            if not (full and full_tokens):
                history.partial.add(address)
            found = self._trx_transfers(address, txs) + self._token_transfers(address, tokens, txs)
            history.transfers[address] = sorted(
                (t for t in found if after_block < t.block_number <= through_block),
                key=lambda t: (t.block_number, t.tx_hash, t.log_index))
        return history

    def _pages(self, path: str, query: dict[str, Any]) -> tuple[list[dict], bool]:
        """Follow the fingerprint up to max_pages; whether the listing was read to its end."""
        items: list[dict] = []
        params = dict(query)
        for _ in range(self.max_pages):
            answer = self.client.get_json(path, params)
            if not isinstance(answer, dict) or answer.get("success") is False:
                raise ExplorerError(f"the TRON API refused {path}: {str(answer)[:200]}")
            items += answer.get("data") or []
            fingerprint = (answer.get("meta") or {}).get("fingerprint")
            if not fingerprint:
                return items, True
            params = {**query, "fingerprint": fingerprint}
        return items, False

    def _trx_transfers(self, address: str, txs: list[dict]) -> list[Transfer]:
        """Successful TransferContract transactions signed by the address."""
        found = []
        for tx in txs:
            self._block_times[int(tx["blockNumber"])] = int(tx.get("block_timestamp") or 0)
            contract = ((tx.get("raw_data") or {}).get("contract") or [{}])[0]
            value = (contract.get("parameter") or {}).get("value") or {}
            if contract.get("type") != "TransferContract" or not successful(tx, {}) \
                    or tron_address(value.get("owner_address")) != address:
                continue
            found.append(Transfer(tx["txID"].lower(), address, tron_address(value["to_address"]),
                                  units(int(value.get("amount") or 0), TRX_DECIMALS),
                                  self.native_asset, int(tx["blockNumber"]),
                                  _stamp(tx.get("block_timestamp"))))
        return found

    def _token_transfers(self, address: str, items: list[dict], txs: list[dict]) -> list[Transfer]:
        """TRC-20 transfers sent from the address, in token units, placed in their blocks."""
        blocks = {tx["txID"].lower(): int(tx["blockNumber"]) for tx in txs}
        found = []
        for index, item in enumerate(items):
            if item.get("type") != "Transfer" or tron_address(item.get("from")) != address:
                continue
            info = item.get("token_info") or {}
            token = tron_address(info.get("address"))
            decimals = info.get("decimals")
            decimals = decimals if isinstance(decimals, int) and 0 <= decimals <= 77 else None
            self._tokens.setdefault(token, (info.get("symbol") or None, decimals))
            raw = int(str(item.get("value") or "0"))
            txid = item["transaction_id"].lower()
            block = blocks.get(txid) or self._block_of(txid)
            found.append(Transfer(txid, address, tron_address(item.get("to")),
                                  units(raw, decimals) if decimals is not None else Decimal(raw),
                                  info.get("symbol") or token, block,
                                  _stamp(item.get("block_timestamp")), index, token))
        return found

    def _block_of(self, txid: str) -> int:
        """The block of a transfer whose transaction another account signed (one request)."""
        info = self.client.post_json("/wallet/gettransactioninfobyid", {"value": txid})
        if info.get("blockNumber") is None:
            raise ExplorerError(f"the TRON API has no block for transaction {txid}")
        return int(info["blockNumber"])

    def _time_of(self, block: int) -> int:
        """A timestamp (ms) no later than `block`'s: learned on the way, else asked for."""
        known = [number for number in self._block_times if number <= block]
        if known:
            return self._block_times[max(known)]
        answer = self.client.post_json("/wallet/getblockbynum", {"num": block})
        header = (answer.get("block_header") or {}).get("raw_data") or {}
        if "timestamp" not in header:
            raise ExplorerError(f"the TRON API has no block {block}")
        self._block_times[block] = int(header["timestamp"])
        return self._block_times[block]


def _is_transfer(log: dict) -> bool:
    """A TRC-20 Transfer event: the ERC-20 topic (without 0x) and three topics."""
    topics = log.get("topics") or []
    return len(topics) == 3 and "0x" + str(topics[0]).lower().removeprefix("0x") == TRANSFER_TOPIC
