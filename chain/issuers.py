"""Issuer remedies: stolen USDT/USDC still sitting at a reached address can be frozen by its issuer."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chain.explorers.port import ExplorerError, amount_text
from chain.stablecoins import Stablecoin


# Pooled services hold other people's money too: the exchange freezes its own wallets, and nobody
# asks an issuer to freeze a bridge pool or a mixer.
POOLED = frozenset({"exchange", "bridge", "mixer"})


def holdings_to_check(graph: dict[str, Any], coins: Mapping[str, Stablecoin]) -> list[tuple[str, str]]:
    """(address, token) pairs of reached addresses, pooled services aside, that got a freezable token."""
    pooled = {node["address"] for node in graph.get("nodes") or []
              if any(label.get("category") in POOLED for label in node.get("labels") or [])}
    pairs = {(edge["to"], edge["token"]) for edge in graph.get("edges") or []
             if edge.get("token") in coins and edge["to"] not in pooled}
    return sorted(pairs)


def read_balances(explorer: Any, holdings: list[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    """Balances now, from an explorer that can read them (one that cannot gives none)."""
    reader = getattr(explorer, "token_balances", None)
    if reader is None or not holdings:
        return {}
    try:
        return reader(holdings)
    except ExplorerError as error:
        raise ExplorerError(f"reading the stablecoin balances failed: {error.detail}") from error


def issuer_findings(graph: dict[str, Any], balances: Mapping[tuple[str, str], Decimal],
                    coins: Mapping[str, Stablecoin]) -> list[dict[str, Any]]:
    """One finding per address still holding a freezable stablecoin, nearest hop first."""
    hops = {node["address"]: node["hop"] for node in graph.get("nodes") or []}
    found = []
    for (address, token), balance in sorted(balances.items(), key=lambda i: (hops.get(i[0][0], 0), i[0])):
        if balance <= 0 or token not in coins or hops.get(address, 0) == 0:
            continue
        coin = coins[token]
        found.append({
            "address": address, "hop": hops[address], "category": "stablecoin",
            "label": f"holds {amount_text(balance)} {coin.symbol} (read at trace time)",
            "entity": coin.issuer_name, "issuer": coin.issuer, "asset": coin.symbol,
            "token": token, "balance": amount_text(balance),
            "advice": f"{amount_text(balance)} {coin.symbol} still held here: ask "
                      f"{coin.issuer_name} to freeze it at this address"})
    return found
