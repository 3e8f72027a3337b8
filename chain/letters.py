"""The freeze request to an exchange that received stolen funds, with the evidence, as plain text."""
from __future__ import annotations

from datetime import datetime
from typing import Any


def freeze_request_letter(*, exchange: str, chain: str, transaction: dict[str, Any],
                          graph: dict[str, Any], findings: list[dict[str, Any]],
                          now: datetime) -> str:
    """Draft the letter: what was stolen, the path to the exchange's addresses, the ask."""
    deposits = [f for f in findings if f["category"] == "exchange"
                and (f.get("entity") or f["label"]) == exchange]
    lines = [
        f"To: {exchange} compliance / law-enforcement response team",
        f"Date: {now:%Y-%m-%d %H:%M} UTC",
        f"Subject: Urgent freeze request - stolen funds deposited to {exchange} ({chain})",
        "",
        "We are the security team of a cryptocurrency exchange. One of our customers' accounts",
        "was taken over and the funds below were withdrawn without the owner's consent. Our",
        f"trace shows part of these funds reaching addresses that public labels attribute to {exchange}.",
        "We ask you to freeze the credited funds and the receiving account(s) while the case is",
        "investigated, and to preserve KYC, login and withdrawal records of the account holder.",
        "",
        "Stolen withdrawal:",
        f"  transaction  {transaction.get('hash')}",
        f"  time         {transaction.get('timestamp') or 'unknown'} (block {transaction.get('block_number')})",
        f"  from         {transaction.get('from')}",
        f"  to           {transaction.get('to')}",
        f"  amount       {transaction.get('value')} {transaction.get('asset')}",
    ]
    lines += [f"  token        {t['amount']} {t.get('symbol') or t['token']} to {t['to']}"
              for t in transaction.get("token_transfers") or []]
    lines += ["", f"Deposits at {exchange}:"]
    for deposit in deposits:
        lines.append(f"  {deposit['address']} ({deposit['label']}), hop {deposit['hop']}")
        lines += [f"    path: {path}" for path in _paths_to(graph, deposit["address"])]
    lines += ["", "Evidence, hop by hop (amounts in asset units, times UTC):"]
    for edge in graph.get("edges") or []:
        lines.append(f"  hop {edge['hop']}: {edge['from']} -> {edge['to']}  {edge['amount']} "
                     f"{edge['asset']}  tx {edge['tx_hash']}  block {edge.get('block_number')}"
                     f"  {edge.get('timestamp') or ''}".rstrip())
    lines += ["", "Every hash above can be checked on a public block explorer. Please confirm",
              "receipt and tell us the amount you were able to freeze.", ""]
    return "\n".join(lines)


def _paths_to(graph: dict[str, Any], target: str) -> list[str]:
    """Each chain of transaction hashes that leads from the root to `target`."""
    into: dict[str, list[dict[str, Any]]] = {}
    for edge in graph.get("edges") or []:
        into.setdefault(edge["to"], []).append(edge)
    paths: list[str] = []

    def walk(address: str, trail: list[dict[str, Any]], seen: frozenset[str]) -> None:
        incoming = [e for e in into.get(address, []) if e["from"] not in seen]
        if not incoming:
            steps = " -> ".join(f"{e['from'][:10]}… [{e['amount']} {e['asset']}, "
                                f"{e['tx_hash'][:12]}…]" for e in reversed(trail))
            paths.append(f"{steps} -> {target}")
            return
        for edge in incoming[:4]:  # bounded: a letter, not a dump
            walk(edge["from"], [*trail, edge], seen | {address})

    walk(target, [], frozenset())
    return paths[:6]
