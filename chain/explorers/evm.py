"""EVM chains over JSON-RPC (web3.py): transactions, receipts, ERC-20 transfers, address history."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from web3 import Web3

from chain.explorers.evm_balances import TokenBalances
from chain.explorers.jsonrpc import JsonRpc, RpcFailure
from chain.explorers.port import (
    ExplorerError,
    History,
    TokenTransfer,
    Transaction,
    TransactionNotFound,
    Transfer,
)

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SYMBOL_CALL = "0x95d89b41"
DECIMALS_CALL = "0x313ce567"
OTS_PAGE_SIZE = 25
OTS_MAX_PAGES = 8
SCAN_BATCH = 100


def as_int(value: Any) -> int:
    """An integer from a JSON-RPC quantity (hex string) or an already formatted int."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value, 16) if str(value).startswith("0x") else int(value)


def as_hex(value: Any) -> str:
    """A lowercase 0x-hex string from bytes or a hex string."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def topic_address(topic: Any) -> str:
    """The address held in the low 20 bytes of a 32-byte log topic."""
    return "0x" + as_hex(topic)[-40:]


def units(raw: int, decimals: int) -> Decimal:
    """Exact conversion of base units to asset units (no float, no context rounding)."""
    return Decimal(raw).scaleb(-decimals)


def _padded(address: str) -> str:
    """An address as a 32-byte topic, for eth_getLogs filters."""
    return "0x" + "0" * 24 + address.lower()[2:]


HISTORY_PROBES = [("ots_getApiLevel", []), ("trace_filter", [{"fromBlock": "0x0", "toBlock": "0x0", "count": 1}])]


class EvmExplorer(TokenBalances):
    """An Explorer for any EVM chain; batches lookups so a hop costs one round trip."""

    def __init__(self, rpc: JsonRpc, *, chain: str = "ethereum", native_asset: str = "ETH",
                 native_decimals: int = 18, finality_depth: int = 12, scan_limit: int = 2000,
                 etherscan: Any = None):
        self.rpc = rpc
        self.chain = chain
        self.native_asset = native_asset
        self.native_decimals = native_decimals
        self.finality_depth = finality_depth
        self.scan_limit = scan_limit
        self.etherscan = etherscan
        self.history_method: str | None = None
        self._tokens: dict[str, tuple[str | None, int | None]] = {}

    @classmethod
    def over_http(cls, url: str, **options: Any) -> EvmExplorer:
        """An explorer talking to a node at `url` with batching on."""
        from chain.explorers.jsonrpc import http_web3
        return cls(JsonRpc(http_web3(url)), **options)

    @property
    def round_trips(self) -> int:
        """Network round trips made so far (the node and any history API)."""
        extra = self.etherscan.round_trips if self.etherscan is not None else 0
        return self.rpc.round_trips + extra

    # -- transactions -- #

    def latest_block(self) -> int:
        """Return the current head block number."""
        return as_int(self.rpc.call("eth_blockNumber", []))

    def get_transaction(self, tx_hash: str) -> Transaction:
        """Transaction, receipt and head in one batch; the block and token metadata in a second
        only when the node gives no `blockTimestamp` or the token is new to us."""
        calls = [("eth_getTransactionByHash", [tx_hash]), ("eth_getTransactionReceipt", [tx_hash]),
                 ("eth_blockNumber", [])]
        probing = self.history_method is None and self.rpc.is_batching
        # The first lookup of a fresh explorer also asks which history namespace the node offers.
        answers = self.rpc.batch(calls + (HISTORY_PROBES if probing else []))
        tx, receipt, head = answers[:3]
        if probing:
            self._settle_history_method(*answers[3:])
        for answer in (tx, receipt, head):
            if isinstance(answer, RpcFailure):
                raise ExplorerError(f"the node refused a lookup: {answer.message}")
        if not tx:
            raise TransactionNotFound(f"transaction {tx_hash} is unknown on {self.chain}")
        logs = (receipt or {}).get("logs") or []
        block_number = as_int(tx["blockNumber"]) if tx.get("blockNumber") is not None else None
        stamp = tx.get("blockTimestamp")
        if stamp is None and block_number is not None:
            stamp = self._block_and_tokens(block_number, _tokens_in(logs))
        else:
            self.load_tokens(_tokens_in(logs))
        return self._transaction(tx, receipt, as_int(head), stamp)

    def _block_and_tokens(self, block_number: int, tokens: Iterable[str]) -> Any:
        """Fetch a block's timestamp together with unknown token metadata: one round trip."""
        calls = [("eth_getBlockByNumber", [hex(block_number), False])]
        calls += self._token_calls(tokens)
        answers = self.rpc.batch(calls)
        self._remember_tokens(calls[1:], answers[1:])
        block = answers[0]
        return None if isinstance(block, RpcFailure) or not block else block.get("timestamp")

    def _transaction(self, tx: dict, receipt: dict | None, head: int, stamp: Any) -> Transaction:
        """Build our Transaction from node payloads."""
        block_number = as_int(tx["blockNumber"]) if tx.get("blockNumber") is not None else None
        if receipt is None or block_number is None:
            status, confirmations, fee = "pending", 0, None
        else:
            status = "confirmed" if as_int(receipt.get("status", 1)) == 1 else "failed"
            confirmations = max(head - block_number + 1, 0)
            price = receipt.get("effectiveGasPrice", tx.get("gasPrice"))
            fee = units(as_int(receipt.get("gasUsed")) * as_int(price), self.native_decimals)
        transfers = () if receipt is None or status == "failed" else tuple(
            self._token_transfer(log) for log in receipt.get("logs") or [] if _is_transfer(log))
        return Transaction(
            hash=as_hex(tx["hash"]), status=status, confirmations=confirmations,
            block_number=block_number,
            timestamp=datetime.fromtimestamp(as_int(stamp), UTC) if stamp is not None else None,
            from_address=as_hex(tx["from"]),
            to_address=as_hex(tx["to"]) if tx.get("to") else None,
            value=units(as_int(tx.get("value")), self.native_decimals),
            asset=self.native_asset, fee=fee, token_transfers=transfers)

    # -- tokens -- #

    def load_tokens(self, tokens: Iterable[str]) -> None:
        """Read symbol and decimals of tokens not seen before, all in one batch."""
        calls = self._token_calls(tokens)
        self._remember_tokens(calls, self.rpc.batch(calls))

    def _token_calls(self, tokens: Iterable[str]) -> list[tuple[str, list[Any]]]:
        """eth_call pairs (symbol, decimals) for tokens we do not know yet."""
        calls = []
        for token in sorted(set(tokens) - set(self._tokens)):
            calls.append(("eth_call", [{"to": token, "data": SYMBOL_CALL}, "latest"]))
            calls.append(("eth_call", [{"to": token, "data": DECIMALS_CALL}, "latest"]))
        return calls

    def _remember_tokens(self, calls: list, answers: list) -> None:
        """Store decoded symbol/decimals; a token without them keeps raw units."""
        for index in range(0, len(calls), 2):
            token = calls[index][1][0]["to"]
            self._tokens[token] = (_decode_symbol(answers[index]),
                                   _decode_decimals(answers[index + 1]))

    def _token_transfer(self, log: dict) -> TokenTransfer:
        """Decode an ERC-20 Transfer log (amount in token units when decimals are known)."""
        topics = log["topics"]
        token = as_hex(log["address"])
        data = as_hex(log.get("data") or "0x")
        raw = int(data, 16) if data != "0x" else 0
        symbol, decimals = self._tokens.get(token, (None, None))
        amount = units(raw, decimals) if decimals is not None else Decimal(raw)
        return TokenTransfer(token, symbol, topic_address(topics[1]), topic_address(topics[2]),
                             amount, raw)

    # -- address history -- #

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


class NaiveEvmExplorer(EvmExplorer):
    """The comparison client for the bench: one JSON-RPC call per lookup, nothing batched or kept."""

    def __init__(self, w3: Web3, **options: Any):
        super().__init__(JsonRpc(w3, is_batching=False), **options)

    def outgoing_transfers(self, addresses: Sequence[str], *, after_block: int,
                           through_block: int) -> History:
        """Ask address by address, forgetting token metadata between calls."""
        merged = History(through_block=through_block)
        for address in addresses:
            self._tokens.clear()
            one = super().outgoing_transfers([address], after_block=after_block,
                                             through_block=through_block)
            merged.transfers.update(one.transfers)
        return merged


def _ok(answer: Any, method: str) -> Any:
    """The result of one batch item, or an ExplorerError naming the method."""
    if isinstance(answer, RpcFailure):
        raise ExplorerError(f"{method} failed: {answer.message}", code=answer.code)
    return answer


def _is_transfer(log: dict) -> bool:
    """Tell whether a log is an ERC-20 Transfer (three topics; ERC-721 has four)."""
    topics = log.get("topics") or []
    return len(topics) == 3 and as_hex(topics[0]) == TRANSFER_TOPIC


def _tokens_in(logs: list) -> set[str]:
    """Token contracts that emitted Transfer logs."""
    return {as_hex(log["address"]) for log in logs if _is_transfer(log)}


def _unique(transfers: Iterable[Transfer]) -> list[Transfer]:
    """Drop duplicates met through two sources (same tx, same log, same edge)."""
    seen: dict[tuple, Transfer] = {}
    for transfer in transfers:
        key = (transfer.tx_hash, transfer.log_index, transfer.from_address, transfer.to_address,
               transfer.asset)
        seen.setdefault(key, transfer)
    return sorted(seen.values(), key=lambda t: (t.block_number, t.tx_hash, t.log_index))


def _decode_symbol(answer: Any) -> str | None:
    """An ABI string or bytes32 symbol, or None when the call failed or returned nothing."""
    if isinstance(answer, RpcFailure) or not answer or as_hex(answer) == "0x":
        return None
    data = bytes.fromhex(as_hex(answer)[2:])
    try:
        if len(data) >= 96:
            length = int.from_bytes(data[32:64], "big")
            return data[64:64 + length].decode("utf-8") or None
        return data.rstrip(b"\0").decode("utf-8") or None
    except (UnicodeDecodeError, ValueError):
        return None


def _decode_decimals(answer: Any) -> int | None:
    """A uint8 decimals value, or None when the token does not say."""
    if isinstance(answer, RpcFailure) or not answer or as_hex(answer) == "0x":
        return None
    value = int(as_hex(answer), 16)
    return value if value <= 77 else None
