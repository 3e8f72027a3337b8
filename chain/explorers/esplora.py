"""Bitcoin through the Esplora REST API (blockstream.info, mempool.space or a self-hosted one)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chain.explorers.http import HttpClient
from chain.explorers.port import History, Transaction, Transfer

PAGE = 25  # confirmed transactions per /address/:addr/txs page
MAX_PAGES = 40


def sats(value: int) -> Decimal:
    """Satoshis to bitcoin, exactly."""
    return Decimal(value).scaleb(-8)


class EsploraExplorer:
    """An Explorer for Bitcoin: transactions, their spends, and address histories."""

    chain = "bitcoin"
    native_asset = "BTC"

    def __init__(self, http: HttpClient, *, finality_depth: int = 6):
        self.http = http
        self.finality_depth = finality_depth

    @property
    def round_trips(self) -> int:
        """HTTP requests made so far."""
        return self.http.round_trips

    def latest_block(self) -> int:
        """The tip height."""
        return int(self.http.get("/blocks/tip/height").text.strip())

    def get_transaction(self, tx_hash: str) -> Transaction:
        """The transaction (status inline) and the tip for confirmations."""
        tx = self.http.get_json(f"/tx/{tx_hash}")
        status = tx.get("status") or {}
        if not status.get("confirmed"):
            return self._transaction(tx, "pending", 0)
        return self._transaction(tx, "confirmed", self.latest_block() - status["block_height"] + 1)

    def _transaction(self, tx: dict[str, Any], status: str, confirmations: int) -> Transaction:
        """Our Transaction: sender = first input address, outputs to others are what moved."""
        senders = _input_addresses(tx)
        sender = senders[0] if senders else None
        outputs = tuple((out["scriptpubkey_address"], sats(out["value"]))
                        for out in tx.get("vout") or []
                        if out.get("scriptpubkey_address") and out["scriptpubkey_address"]
                        not in senders)
        block = (tx.get("status") or {})
        return Transaction(
            hash=tx["txid"], status=status, confirmations=confirmations,
            block_number=block.get("block_height"),
            timestamp=datetime.fromtimestamp(block["block_time"], UTC)
            if block.get("block_time") else None,
            from_address=sender, to_address=outputs[0][0] if outputs else None,
            value=sum((amount for _, amount in outputs), Decimal(0)), asset="BTC",
            fee=sats(tx.get("fee", 0)), outputs=outputs)

    def outgoing_transfers(self, addresses: Sequence[str], *, after_block: int,
                           through_block: int) -> History:
        """Spends by each address in (after_block, through_block], newest pages first."""
        history = History(through_block=through_block)
        for address in addresses:
            history.transfers[address] = [
                transfer for tx in self._address_txs(address, after_block)
                for transfer in _spends(tx, address)
                if after_block < transfer.block_number <= through_block]
        return history

    def _address_txs(self, address: str, after_block: int) -> list[dict[str, Any]]:
        """Confirmed transactions of an address down to `after_block`, 25 per page."""
        found: list[dict[str, Any]] = []
        page = self.http.get_json(f"/address/{address}/txs")
        for _ in range(MAX_PAGES):
            confirmed = [tx for tx in page if (tx.get("status") or {}).get("confirmed")]
            found += confirmed
            if len(confirmed) < PAGE or confirmed[-1]["status"]["block_height"] <= after_block:
                break
            page = self.http.get_json(f"/address/{address}/txs/chain/{confirmed[-1]['txid']}")
        return found


def _input_addresses(tx: dict[str, Any]) -> list[str]:
    """Addresses that funded the transaction, in input order, without repeats."""
    seen: dict[str, None] = {}
    for vin in tx.get("vin") or []:
        address = (vin.get("prevout") or {}).get("scriptpubkey_address")
        if address:
            seen.setdefault(address)
    return list(seen)


def _spends(tx: dict[str, Any], address: str) -> list[Transfer]:
    """What `address` paid to others in this tx: its share of inputs applied to each output."""
    inputs = [(vin.get("prevout") or {}) for vin in tx.get("vin") or []]
    total = sum(prevout.get("value", 0) for prevout in inputs)
    mine = sum(p.get("value", 0) for p in inputs if p.get("scriptpubkey_address") == address)
    if not mine or not total:
        return []
    status = tx["status"]
    stamp = datetime.fromtimestamp(status["block_time"], UTC) if status.get("block_time") else None
    return [Transfer(tx["txid"], address, out["scriptpubkey_address"],
                     sats(out["value"]) * mine / total, "BTC", status["block_height"], stamp,
                     index)
            for index, out in enumerate(tx.get("vout") or [])
            if out.get("scriptpubkey_address") not in (None, address)]
