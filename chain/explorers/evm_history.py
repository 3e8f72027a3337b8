"""EVM address history: outgoing native and ERC-20 transfers via Otterscan, trace_filter, Etherscan or a scan."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chain.explorers.evm_wire import (
    TRANSFER_TOPIC,
    _is_transfer,
    _ok,
    _padded,
    _unique,
    as_hex,
    as_int,
    units,
)
from chain.explorers.jsonrpc import RpcFailure
from chain.explorers.port import History, Transfer

OTS_PAGE_SIZE = 25
OTS_MAX_PAGES = 8
SCAN_BATCH = 100
HISTORY_PROBES = [("ots_getApiLevel", []), ("trace_filter", [{"fromBlock": "0x0", "toBlock": "0x0", "count": 1}])]


class AddressHistory:
    """outgoing_transfers for EvmExplorer (needs its `rpc`, `etherscan`, token metadata and scan bounds)."""

    def outgoing_transfers(self, addresses: Sequence[str], *, after_block: int,
                           through_block: int) -> History:
        """Every address's outgoing native and ERC-20 transfers in (after_block, through_block]."""
        addresses = sorted({address.lower() for address in addresses})
        history = History(through_block=through_block,
                          transfers={address: [] for address in addresses})
        if not addresses or through_block <= after_block:
            return history
        method = self._history_method()
        if method == "ots":
            found = self._ots_history(addresses, after_block, through_block)
        elif method == "trace":
            found = self._trace_history(addresses, after_block, through_block)
        elif method == "etherscan":
            found = self.etherscan.outgoing(addresses, after_block, through_block,
                                            self.native_asset)
        else:
            found = self._scanned_history(addresses, after_block, through_block)
        for transfer in _unique(found):
            if transfer.from_address in history.transfers:
                history.transfers[transfer.from_address].append(transfer)
        return history

    def _history_method(self) -> str:
        """Probe once which history namespace the node offers, and remember it."""
        if self.history_method is None:
            self._settle_history_method(*self.rpc.batch(HISTORY_PROBES))
        return self.history_method

    def _settle_history_method(self, ots: Any, trace: Any) -> None:
        """Otterscan, else trace_filter, else Etherscan when configured, else a bounded block scan."""
        if not isinstance(ots, RpcFailure):
            self.history_method = "ots"
        elif not isinstance(trace, RpcFailure):
            self.history_method = "trace"
        elif self.etherscan is not None:
            self.history_method = "etherscan"
        else:
            self.history_method = "scan"

    def _logs_call(self, addresses: list[str], after_block: int, through_block: int) -> tuple:
        """eth_getLogs for ERC-20 transfers sent by any of the addresses (topic1)."""
        return ("eth_getLogs", [{
            "fromBlock": hex(after_block + 1), "toBlock": hex(through_block),
            "topics": [TRANSFER_TOPIC, [_padded(address) for address in addresses]],
        }])

    def _ots_history(self, addresses: list[str], after_block: int, through_block: int) -> list:
        """Otterscan search per address plus one token-log query, batched per page."""
        pending = {address: after_block for address in addresses}
        found: list[Transfer] = []
        logs: list = []
        for page in range(OTS_MAX_PAGES):
            calls = [("ots_searchTransactionsAfter", [address, start, OTS_PAGE_SIZE])
                     for address, start in pending.items()]
            if page == 0:
                calls.append(self._logs_call(addresses, after_block, through_block))
            answers = self.rpc.batch(calls)
            if page == 0:
                logs = _ok(answers.pop(), "eth_getLogs")
            pending = self._read_ots_pages(pending, answers, through_block, found)
            if not pending:
                break
        found.extend(self._log_transfers(logs, through_block))
        return found

    def _read_ots_pages(self, pending: dict[str, int], answers: list, through_block: int,
                        found: list[Transfer]) -> dict[str, int]:
        """Collect native transfers from one ots page per address; return the addresses to page on."""
        again = {}
        for address, answer in zip(list(pending), answers, strict=True):
            page = _ok(answer, "ots_searchTransactionsAfter")
            receipts = {as_hex(r["transactionHash"]): r for r in page.get("receipts") or []}
            for tx in page.get("txs") or []:
                transfer = self._native_transfer(tx, receipts.get(as_hex(tx["hash"])))
                if transfer and transfer.from_address == address \
                        and transfer.block_number <= through_block:
                    found.append(transfer)
            blocks = [as_int(tx["blockNumber"]) for tx in page.get("txs") or []]
            if len(blocks) >= OTS_PAGE_SIZE and not page.get("lastPage") \
                    and max(blocks) < through_block:
                again[address] = max(blocks)
        return again

    def _native_transfer(self, tx: dict, receipt: dict | None) -> Transfer | None:
        """A successful value-carrying transaction as a Transfer edge, else None."""
        value = as_int(tx.get("value"))
        if value == 0 or not tx.get("to") or (receipt and as_int(receipt.get("status", 1)) != 1):
            return None
        stamp = tx.get("blockTimestamp") or (receipt or {}).get("timestamp")
        return Transfer(as_hex(tx["hash"]), as_hex(tx["from"]), as_hex(tx["to"]),
                        units(value, self.native_decimals), self.native_asset,
                        as_int(tx["blockNumber"]),
                        datetime.fromtimestamp(as_int(stamp), UTC) if stamp else None)

    def _trace_history(self, addresses: list[str], after_block: int, through_block: int) -> list:
        """trace_filter (internal transfers included) and token logs in one batch."""
        traces, logs = self.rpc.batch([
            ("trace_filter", [{"fromBlock": hex(after_block + 1), "toBlock": hex(through_block),
                               "fromAddress": addresses}]),
            self._logs_call(addresses, after_block, through_block),
        ])
        found = []
        for trace in _ok(traces, "trace_filter") or []:
            action = trace.get("action") or {}
            if trace.get("error") or not action.get("to") or as_int(action.get("value")) == 0:
                continue
            found.append(Transfer(as_hex(trace["transactionHash"]), as_hex(action["from"]),
                                  as_hex(action["to"]),
                                  units(as_int(action["value"]), self.native_decimals),
                                  self.native_asset, as_int(trace["blockNumber"])))
        return found + self._log_transfers(_ok(logs, "eth_getLogs"), through_block)

    def _scanned_history(self, addresses: list[str], after_block: int, through_block: int) -> list:
        """Last resort: read whole blocks (bounded by scan_limit) in batches of SCAN_BATCH."""
        last = min(through_block, after_block + self.scan_limit)
        wanted = set(addresses)
        found: list[Transfer] = []
        numbers = list(range(after_block + 1, last + 1))
        for start in range(0, len(numbers), SCAN_BATCH):
            calls = [("eth_getBlockByNumber", [hex(n), True])
                     for n in numbers[start:start + SCAN_BATCH]]
            for block in self.rpc.batch(calls):
                for tx in (_ok(block, "eth_getBlockByNumber") or {}).get("transactions") or []:
                    transfer = self._native_transfer(
                        {**tx, "blockTimestamp": block["timestamp"],
                         "blockNumber": block["number"]}, None)
                    if transfer and transfer.from_address in wanted:
                        found.append(transfer)
        logs = _ok(self.rpc.batch([self._logs_call(addresses, after_block, last)])[0],
                   "eth_getLogs")
        return found + self._log_transfers(logs, last)

    def _log_transfers(self, logs: list, through_block: int) -> list[Transfer]:
        """ERC-20 Transfer logs as edges, in token units (token metadata fetched in one batch)."""
        logs = [log for log in logs or [] if _is_transfer(log) and not log.get("removed")
                and as_int(log["blockNumber"]) <= through_block]
        self.load_tokens(as_hex(log["address"]) for log in logs)
        edges = []
        for log in logs:
            token = self._token_transfer(log)
            stamp = log.get("blockTimestamp")
            edges.append(Transfer(as_hex(log["transactionHash"]), token.from_address,
                                  token.to_address, token.amount, token.symbol or token.token,
                                  as_int(log["blockNumber"]),
                                  datetime.fromtimestamp(as_int(stamp), UTC) if stamp else None,
                                  as_int(log.get("logIndex")), token.token))
        return edges

