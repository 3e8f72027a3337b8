"""Immutable chain data kept between traces: confirmed transactions and finalized history."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chain.addresses import canonical_address
from chain.explorers.port import Explorer, Transaction, Transfer

CacheReader = Callable[[list[str]], dict[str, dict[str, Any]]]


@dataclass
class CachedHistory:
    """The tracer's per-level fetch: cache first, then one explorer call for what is missing.

    A history entry holds an address's outgoing transfers in (after_block, through_block],
    blocks at least `finality_depth` behind the head, which no reorganisation can take away;
    beside them the non-final tail up to the head it was read at. The tail stands in only
    while the head has that same number, so a warm re-trace under an unmoved head asks the
    explorer nothing; once the head moves the tail is asked again from the final block on.
    """

    explorer: Explorer
    head: int
    read: CacheReader
    writes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __call__(self, addresses: Sequence[str], after_block: int) -> dict[str, list[Transfer]]:
        """Outgoing transfers of every address after `after_block`, up to the head."""
        keys = {address: history_key(address) for address in addresses}
        cached = self.read(list(keys.values()))
        result: dict[str, list[Transfer]] = {}
        stale: dict[str, int] = {}
        for address, key in keys.items():
            entry = cached.get(key)
            if entry is None or entry["after_block"] > after_block:
                stale[address] = after_block
                continue
            is_current = entry.get("head") == self.head
            kept = entry["transfers"] + ((entry.get("tail") or []) if is_current else [])
            result[address] = [Transfer.from_json(t) for t in kept
                               if t["block_number"] > after_block]
            if entry["through_block"] < self.head and not is_current:
                stale[address] = entry["through_block"]
        if stale:
            self._fetch(stale, after_block, result, cached, keys)
        return result

    def _fetch(self, stale: dict[str, int], after_block: int, result: dict, cached: dict,
               keys: dict[str, str]) -> None:
        """One explorer call for every stale address, from the oldest block any of them needs."""
        history = self.explorer.outgoing_transfers(list(stale), after_block=min(stale.values()),
                                                   through_block=self.head)
        final = self.head - self.explorer.finality_depth
        for address, since in stale.items():
            if address in history.partial:
                # a listing cut at the explorer's page bound is used once, never kept as complete
                result.setdefault(address, []).extend(
                    t for t in history.transfers.get(address, []) if t.block_number > since)
                continue
            fresh = [t for t in history.transfers.get(address, []) if t.block_number > since]
            known = result.setdefault(address, [])
            known += [t for t in fresh if t.block_number > after_block]
            old = cached.get(keys[address])
            is_extending = old is not None and old["after_block"] <= after_block
            start = old["after_block"] if is_extending else after_block
            kept = [Transfer.from_json(t) for t in old["transfers"]] if is_extending else []
            self.writes[keys[address]] = {
                "after_block": start, "through_block": max(final, start),
                "transfers": [t.to_json() for t in _unique(kept + fresh)
                              if t.block_number <= final],
                "head": self.head,
                "tail": [t.to_json() for t in _unique(fresh) if final < t.block_number <= self.head]}


def history_key(address: str) -> str:
    """Cache key of an address's outgoing history."""
    return f"out:{canonical_address(address)}"


def transaction_key(tx_hash: str) -> str:
    """Cache key of a confirmed transaction."""
    return f"tx:{tx_hash.lower()}"


def cacheable_transaction(tx: Transaction, finality_depth: int) -> dict[str, Any] | None:
    """The transaction to store, or None while it could still change (pending, shallow)."""
    if tx.status == "pending" or tx.confirmations <= finality_depth:
        return None
    return tx.to_json()


def _unique(transfers: list[Transfer]) -> list[Transfer]:
    """Drop repeats (same tx, log, edge and asset), keep chain order."""
    seen: dict[tuple, Transfer] = {}
    for t in transfers:
        seen.setdefault((t.tx_hash, t.log_index, t.from_address, t.to_address, t.asset), t)
    return sorted(seen.values(), key=lambda t: (t.block_number, t.tx_hash, t.log_index))
