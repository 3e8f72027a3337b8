"""EVM chains over JSON-RPC (web3.py): transactions, receipts and ERC-20 token metadata."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from web3 import Web3

from chain.explorers.evm_balances import TokenBalances
from chain.explorers.evm_history import HISTORY_PROBES, AddressHistory
from chain.explorers.evm_wire import (
    DECIMALS_CALL,
    SYMBOL_CALL,
    _decode_decimals,
    _decode_symbol,
    _is_transfer,
    _tokens_in,
    as_hex,
    as_int,
    topic_address,
    units,
)
from chain.explorers.jsonrpc import JsonRpc, RpcFailure
from chain.explorers.port import (
    ExplorerError,
    History,
    TokenTransfer,
    Transaction,
    TransactionNotFound,
)


# The native coin of the EVM chains that do not pay their fees in ETH.
NATIVE_ASSETS = {"polygon": "POL", "bsc": "BNB", "avalanche": "AVAX", "gnosis": "xDAI", "fantom": "FTM"}


def native_asset(chain: str) -> str:
    """The coin an EVM chain pays its fees in (ETH unless NATIVE_ASSETS says otherwise)."""
    return NATIVE_ASSETS.get(chain, "ETH")


class EvmExplorer(AddressHistory, TokenBalances):
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
