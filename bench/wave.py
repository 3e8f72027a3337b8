"""The wave: thousands of accounts flagged at once through batch webhooks, the exchange answering slowly.

`python -m bench --sections wave` (or `make bench`, which runs it beside the burst): `accounts` accounts
flagged by `accounts / batch` signed `POST /api/v1/anomalies/batch` requests of `batch` events each (one
event per account, weighted to cross the freeze threshold alone), the exchange answering every call in
`delay_ms`. Measured: the time from the first webhook to the last account frozen, the exchange calls that
took (by kind), nothing lost (each account's incident with exactly one confirmed freeze), nothing frozen
twice at the exchange, and the CPU per account of each process.
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any

import requests

from bench import cpu
from bench.burst import freeze_rows, frozen_incidents, wait_all_frozen
from bench.intake import outbox_backlog, wait_drained
from bench.stack import Database, ExchangeBackoffice, LockdeskServer, Settings

BATCH_PATH = "/api/v1/anomalies/batch"
WEBHOOK_SECRET = "bench-webhook-secret"  # bench.stack.Settings gives every Lockdesk process this secret
# One event of this type crosses the freeze threshold on its own (a risk engine's "account taken over").
WAVE_EVENT, WAVE_WEIGHTS = "credential_stuffing", {"credential_stuffing": 100}


def measure_wave(settings: Settings, exchange: ExchangeBackoffice, *, accounts: int, batch: int, clients: int,
                 delay_ms: float, limit_seconds: float, worker_class: str = "gthread",
                 threads: int = 16) -> dict[str, Any]:
    """The wave on a fresh PostgreSQL database and Lockdesk server; everything it measured."""
    with ExitStack() as stack:
        database = Database.create("postgresql", settings.folder)
        stack.callback(database.drop)
        server = LockdeskServer(settings, database, exchange, stack, worker_class=worker_class, threads=threads,
                                extra_env={"ANOMALY_WEIGHTS": json.dumps(WAVE_WEIGHTS)})
        prefix = "V"
        ids = exchange.open_accounts(prefix, accounts)
        exchange.set_delay(delay_ms)
        calls_before = exchange.calls_by_kind()
        roots = server.process_roots(exchange)
        before = cpu.reading(roots)
        started_at, started = datetime.now(timezone.utc), time.monotonic()
        sent = send_batches(server.url + BATCH_PATH, ids, batch=batch, clients=clients)
        answered_s = round(time.monotonic() - started, 2)
        frozen_s = wait_all_frozen(database.url, prefix, accounts, started_at, limit=limit_seconds)
        until_frozen = cpu.reading(roots)
        frozen_by_limit = _frozen_count(database.url, prefix)
        calls_frozen = exchange.calls_by_kind()
        drained_s = wait_drained(database.url, limit=limit_seconds)
        settled = cpu.reading(roots)
        exchange.set_delay(0)
        frozen_now, backlog = _frozen_count(database.url, prefix), outbox_backlog(database.url)
        checks = wave_checks(database.url, exchange, sent["incidents"], prefix)
    return {"accounts": accounts, "batch_events": batch, "webhooks": sent["requests"], "clients": clients,
            "exchange_delay_ms": delay_ms, "statuses": sent["statuses"], "answered_events": len(sent["incidents"]),
            "actions": sent["actions"], "all_answered_s": answered_s, "last_frozen_s": frozen_s,
            "frozen_by_limit": frozen_by_limit, "frozen_at_end": frozen_now, "follow_ups_drained_after_s": drained_s,
            "follow_ups_left": backlog,
            "exchange_calls_until_frozen": _difference(calls_before, calls_frozen),
            "exchange_calls_with_follow_ups": _difference(calls_before, exchange.calls_by_kind()),
            "cpu_ms_per_account_until_frozen": cpu.per_report(before, until_frozen, accounts),
            "cpu_ms_per_account_with_follow_ups": cpu.per_report(before, settled, accounts), **checks}


def send_batches(url: str, accounts: list[str], *, batch: int, clients: int) -> dict[str, Any]:
    """Send one event per account in signed batches from `clients` threads; the answers' incidents and actions."""
    from incidents.signatures import signature_header

    chunks = [accounts[start:start + batch] for start in range(0, len(accounts), batch)]
    lock, pending = threading.Lock(), iter(range(len(chunks)))
    out: dict[str, Any] = {"requests": len(chunks), "statuses": {}, "incidents": [], "actions": {}}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    def client() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    index = next(pending, None)
                if index is None:
                    return
                events = [{"event_id": f"wave-{account}", "account_id": account, "type": WAVE_EVENT,
                           "occurred_at": now, "details": {"source": "bench"}} for account in chunks[index]]
                raw = json.dumps({"events": events}).encode()
                headers = {"Content-Type": "application/json",
                           "X-Lockdesk-Signature": signature_header(WEBHOOK_SECRET, int(time.time()), raw)}
                response = http.post(url, data=raw, headers=headers, timeout=120)
                results = response.json().get("results", []) if response.ok else []
                with lock:
                    out["statuses"][str(response.status_code)] = out["statuses"].get(str(response.status_code), 0) + 1
                    for result in results:
                        out["actions"][result["action"]] = out["actions"].get(result["action"], 0) + 1
                        if result["incident_id"]:
                            out["incidents"].append(result["incident_id"])

    workers = [threading.Thread(target=client) for _ in range(max(1, clients))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return out


def _difference(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Calls made between two readings, by kind, with their total."""
    made = {kind: count - before.get(kind, 0) for kind, count in sorted(after.items())
            if count - before.get(kind, 0)}
    return {**made, "total": sum(made.values())}


def wave_checks(database_url: str, exchange: ExchangeBackoffice, answered: list[str], prefix: str) -> dict[str, Any]:
    """Lost: an answered incident missing, or without a freeze command that is done or still on its way (a
    freeze the dispatcher has not reached yet is late, not lost: `freezes_pending`). Frozen twice: at the
    exchange."""
    rows = freeze_rows(database_url, prefix)
    by_id = {str(row.id): row for row in rows}
    lost = sum(1 for incident in answered if incident not in by_id
               or (by_id[incident].done or 0) + (by_id[incident].pending or 0) != 1)
    counts = exchange.freeze_counts()
    return {"answered": len(answered), "incidents": len(rows), "lost": lost,
            "freezes_pending": sum(row.pending or 0 for row in rows),
            "freeze_commands": sum(row.freezes for row in rows), "exchange_frozen": counts["frozen"],
            "frozen_twice": counts["frozen_twice"], "exchange_freeze_keys": counts["freeze_keys"]}


def _frozen_count(database_url: str, prefix: str) -> int:
    """The wave's incidents frozen by now."""
    from app.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        count = frozen_incidents(connection, prefix)[0]
    engine.dispose()
    return count


def wave_rows(wave: dict[str, Any], floor_cpu_ms: float | None) -> list[str]:
    """The README table's rows of the wave."""
    frozen = (f"last account frozen after {wave['last_frozen_s']} s" if wave["last_frozen_s"] is not None
              else f"{wave.get('frozen_by_limit', wave['frozen_at_end'])} of {wave['accounts']} frozen within the "
                   f"bench's limit")
    calls = wave["exchange_calls_until_frozen"]
    spent = wave["cpu_ms_per_account_until_frozen"]
    total = lockdesk_cpu(spent)
    against = f"floor {floor_cpu_ms} ms a request" if floor_cpu_ms else ""
    ratio = f"× {round(total / floor_cpu_ms, 2)}" if floor_cpu_ms else ""
    return [
        f"| wave: {wave['accounts']:,} accounts in {wave['webhooks']} batch webhooks of {wave['batch_events']:,}, "
        f"exchange answering in {wave['exchange_delay_ms']:.0f} ms | {frozen} (all answered after "
        f"{wave['all_answered_s']} s) | | | ≤ 10 s: {verdict(wave_frozen_in_time(wave))} |",
        f"| wave: exchange calls until the last freeze | {calls['total']:,} "
        f"({', '.join(f'{kind} {n:,}' for kind, n in calls.items() if kind != 'total')}) | | | — |",
        f"| wave: lost / frozen twice | {wave['lost']} / {wave['frozen_twice']} ({wave['incidents']} incidents, "
        f"{wave['freeze_commands']} freeze commands{_pending(wave)}) | | | 0 / 0: "
        f"{verdict(wave['lost'] == 0 and wave['frozen_twice'] == 0)} |",
        f"| wave: CPU ms per account until the last freeze | {', '.join(f'{p} {ms}' for p, ms in spent.items())}; "
        f"Lockdesk's own {total} | {against} | {ratio} | ≤ floor: {verdict(wave_cpu_within(wave, floor_cpu_ms))} |",
    ]


# Lockdesk's own processes (the exchange peer and the load generator are not Lockdesk; PostgreSQL also
# serves the exchange's own database, so its share is an upper bound).
LOCKDESK_PARTS = ("web", "worker", "postgresql", "redis")


def lockdesk_cpu(spent: dict[str, float]) -> float:
    """Milliseconds of CPU of Lockdesk's own processes in a per-account (or per-request) reading."""
    return round(sum(spent.get(part, 0.0) for part in LOCKDESK_PARTS), 2)


def wave_cpu_within(wave: dict[str, Any], floor_cpu_ms: float | None) -> bool:
    """Lockdesk's CPU per account until the last freeze is at most the floor's per request."""
    return bool(floor_cpu_ms) and lockdesk_cpu(wave["cpu_ms_per_account_until_frozen"]) <= floor_cpu_ms


def _pending(wave: dict[str, Any]) -> str:
    """How many freezes were still on their way when the bench stopped waiting."""
    pending = wave.get("freezes_pending", 0)
    return f", {pending} still queued when the bench stopped waiting" if pending else ""


def wave_frozen_in_time(wave: dict[str, Any]) -> bool:
    """All accounts frozen within 10 s."""
    return wave["last_frozen_s"] is not None and wave["last_frozen_s"] <= 10


def verdict(value: bool) -> str:
    """A target's verdict in the README's tables."""
    return "met" if value else "**missed**"
