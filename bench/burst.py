"""The one-by-one burst: 10,000 single reports through the real stack, and the time to the last freeze."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text

from app.db import make_engine
from bench import cpu
from bench.intake import REPORTS_PATH, LockSampler, outbox_backlog, run_load, wait_drained
from bench.stack import ExchangeBackoffice, LockdeskServer

# The burst stops sending after this long, so `make bench` stays bounded; the result says how many were sent.
BURST_DEADLINE_SECONDS = 180
# A burst's follow-ups (10,000 containments, their sealing and messages) take a minute or two to settle;
# the next burst starts after them, not on top of them.
BURST_DRAIN_LIMIT_SECONDS = 300


def measure_bursts(server: LockdeskServer, exchange: ExchangeBackoffice, database_url: str, *, runs: int,
                   reports: int, clients: int, delay_ms: float, deadline: float | None = None) -> dict[str, Any]:
    """The burst up to `runs` times on fresh accounts, each after the previous one's follow-ups were done: the
    run with the median time to the last freeze (of two, the slower), every run's times, and what was lost or
    frozen twice in any. After the first, a run starts only if the previous one's follow-ups settle and the
    slowest run so far still fits before `deadline` (time.monotonic())."""
    done: list[dict[str, Any]] = []
    slowest, stopped = 0.0, None
    for run in range(runs):
        if run:
            stopped = _no_room_for_another(database_url, deadline, slowest)
            if stopped:
                break
        started = time.monotonic()
        done.append(measure_burst(server, exchange, database_url, reports=reports, clients=clients,
                                  delay_ms=delay_ms, prefix=f"B{run}"))
        slowest = max(slowest, time.monotonic() - started)
    return {**median_run(done), "sent": min(burst["sent"] for burst in done),
            "lost": sum(burst["lost"] for burst in done), "frozen_twice": sum(burst["frozen_twice"] for burst in done),
            "runs_planned": runs, "stopped_early": stopped,
            "runs": [{key: burst[key] for key in ("last_frozen_s", "all_answered_s", "sent", "lost", "frozen_twice")}
                     for burst in done]}


def median_run(done: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time to the last freeze; of two, the slower; a run that did not freeze every
    account is slower than any that did."""
    by_time = sorted(done, key=lambda burst: (burst["last_frozen_s"] is None, burst["last_frozen_s"] or 0.0))
    return by_time[len(by_time) // 2]


def _no_room_for_another(database_url: str, deadline: float | None, slowest: float) -> str | None:
    """Why no further burst run starts (None: it may): the budget cannot fit the previous run's follow-ups and
    one more run as slow as the slowest."""
    left = BURST_DRAIN_LIMIT_SECONDS if deadline is None else deadline - time.monotonic() - slowest
    if left <= 0:
        return "time budget"
    wait_drained(database_url, limit=min(BURST_DRAIN_LIMIT_SECONDS, left))
    if outbox_backlog(database_url):
        return "follow-ups not settled within the time budget"
    if deadline is not None and deadline - time.monotonic() < slowest:
        return "time budget"
    return None


def measure_burst(server: LockdeskServer, exchange: ExchangeBackoffice, database_url: str, *, reports: int,
                  clients: int, delay_ms: float, prefix: str = "B") -> dict[str, Any]:
    """`reports` reports for as many accounts, the exchange answering in `delay_ms`: time to the last freeze."""
    accounts = exchange.open_accounts(prefix, reports)
    exchange.set_delay(delay_ms)
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    roots = server.process_roots(exchange)
    before = cpu.reading(roots)
    with LockSampler(database_url) as sampler:
        load = run_load({"url": server.url + REPORTS_PATH, "kind": "report", "count": reports, "clients": clients,
                         "accounts": accounts, "keep_incidents": True,
                         "deadline_s": BURST_DEADLINE_SECONDS})
    load["locks"] = sampler.summary()
    answered_s = time.monotonic() - started
    frozen_s = wait_all_frozen(database_url, prefix, load["answered"], started_at, limit=120)
    cpu_until_frozen = cpu.per_report(before, cpu.reading(roots), load["answered"])
    exchange.set_delay(0)
    checks = burst_checks(database_url, exchange, load.pop("incidents"), prefix)
    return {"reports": reports, "sent": load["answered"] + load["errors"], "clients": clients,
            "exchange_delay_ms": delay_ms,
            "all_answered_s": round(answered_s, 2), "last_frozen_s": frozen_s,
            "cpu_ms_per_report_until_frozen": cpu_until_frozen, "load": load, **checks}


def frozen_incidents(connection, prefix: str) -> tuple[int, Any]:
    """How many incidents of the accounts named `prefix…` are frozen by now, and the last one's freeze time."""
    return tuple(connection.execute(text("SELECT count(*), max(frozen_at) FROM incidents WHERE account_id LIKE :p "
                                         "AND containment = 'frozen'"), {"p": f"{prefix}%"}).one())


def wait_all_frozen(database_url: str, prefix: str, expected: int, started_at: datetime,
                    limit: float = 600) -> float | None:
    """Poll the database until every burst incident is frozen; seconds from the first report to the last freeze."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                count, last = frozen_incidents(connection, prefix)
            if count >= expected:
                last = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
                last = last if last.tzinfo else last.replace(tzinfo=timezone.utc)
                return round((last - started_at).total_seconds(), 2)
            time.sleep(0.5)
        return None
    finally:
        engine.dispose()


def freeze_rows(database_url: str, prefix: str) -> list[Any]:
    """Each incident of the accounts named `prefix…`: its freeze commands, how many are done, how many on their way."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT i.id, count(c.id) AS freezes, "
            "sum(CASE WHEN c.status = 'done' THEN 1 ELSE 0 END) AS done, "
            "sum(CASE WHEN c.status IN ('pending', 'in_flight') THEN 1 ELSE 0 END) AS pending "
            "FROM incidents i LEFT JOIN exchange_commands c ON c.incident_id = i.id AND c.action = 'freeze' "
            "WHERE i.account_id LIKE :p GROUP BY i.id"), {"p": f"{prefix}%"}).all()
    engine.dispose()
    return rows


def burst_checks(database_url: str, exchange: ExchangeBackoffice, answered: list[str], prefix: str) -> dict[str, Any]:
    """Nothing lost (every answered report has its incident and one confirmed freeze), nothing frozen twice."""
    rows = freeze_rows(database_url, prefix)
    by_id = {str(row.id): row for row in rows}
    lost = sum(1 for incident in answered if incident not in by_id or by_id[incident].done != 1)
    counts = exchange.freeze_counts()
    return {"answered": len(answered), "incidents": len(rows), "lost": lost,
            "freeze_commands": sum(row.freezes for row in rows),
            "exchange_frozen": counts["frozen"], "frozen_twice": counts["frozen_twice"],
            "exchange_freeze_keys": counts["freeze_keys"]}
