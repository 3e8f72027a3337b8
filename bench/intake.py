"""Intake against the floor, and the 10,000-report burst, through the real stack."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text

from app.db import make_engine
from bench import cpu
from bench.stack import REPO, ExchangeBackoffice, LockdeskServer

REPORTS_PATH = "/api/v1/reports"
FLOOR_PATH = "/api/v1/_bench/floor"
# The least a report that freezes can do on this stack (app/api/floor.py): the ceiling for any intake.
BARE_PATH = "/api/v1/_bench/bare-report"
DRAIN_LIMIT_SECONDS = 30
# The burst stops sending after this long, so `make bench` stays bounded; the result says how many were sent.
BURST_DEADLINE_SECONDS = 180
# A burst's follow-ups (10,000 containments, their sealing and messages) take a minute or two to settle;
# the next burst starts after them, not on top of them.
BURST_DRAIN_LIMIT_SECONDS = 300
# Requests sent before measuring, from several clients so that every gunicorn worker and its connection
# pool has served both paths: a process's first requests compile SQL and open connections, which is
# start-up, not the steady state the bench measures.
WARM_UP_REQUESTS, WARM_UP_CLIENTS = 100, 8


def run_load(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in a separate load-generator process and return its measurements."""
    done = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(job).encode(), cwd=REPO,
                          capture_output=True, check=True, timeout=1800)
    return json.loads(done.stdout)


def outbox_backlog(database_url: str) -> int:
    """Work the worker has not finished: exchange commands, audit events to seal, messages to send."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        left = connection.execute(text(
            "SELECT (SELECT count(*) FROM exchange_commands WHERE status IN ('pending', 'in_flight'))"
            " + (SELECT count(*) FROM audit_events WHERE seq IS NULL)"
            " + (SELECT count(*) FROM notifications WHERE status IN ('pending', 'in_flight'))")).scalar_one()
    engine.dispose()
    return left


def wait_drained(database_url: str, limit: float = DRAIN_LIMIT_SECONDS) -> float:
    """Wait until the worker settled the follow-ups (commands, sealing, messages): they must not load the next
    measurement."""
    started = time.monotonic()
    while outbox_backlog(database_url) and time.monotonic() - started < limit:
        time.sleep(0.5)
    return round(time.monotonic() - started, 1)


class LockSampler:
    """Samples, on PostgreSQL, how many backends wait for a lock (and for the audit chain's advisory lock)."""

    def __init__(self, database_url: str, period: float = 0.05):
        self.url, self.period = database_url, period
        self.samples: list[tuple[int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        if self.url.startswith("postgresql"):
            self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        """Poll pg_locks and pg_stat_activity until stopped."""
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
            while not self._stop.wait(self.period):
                self.samples.append(connection.execute(
                    "SELECT count(*) FILTER (WHERE NOT granted), "
                    "count(*) FILTER (WHERE NOT granted AND locktype = 'advisory'), "
                    "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active') FROM pg_locks").fetchone())

    def summary(self) -> dict[str, Any] | None:
        """Mean waiters per sample."""
        if not self.samples:
            return None
        count = len(self.samples)
        return {"samples": count, "mean_lock_waiters": round(sum(s[0] for s in self.samples) / count, 2),
                "mean_audit_lock_waiters": round(sum(s[1] for s in self.samples) / count, 2),
                "mean_active_backends": round(sum(s[2] for s in self.samples) / count, 2)}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    """The median of one measurement over the runs."""
    return round(statistics.median(run[key] for run in runs), 2)


def measure_intake(server: LockdeskServer, exchange: ExchangeBackoffice, database_url: str, *, prefix: str,
                   runs: int, serial: int, concurrent: int, clients: int) -> dict[str, Any]:
    """Floor, intake and the bare report, serially (latency) and with `clients` clients (throughput); medians
    over the runs."""
    per_run = serial + concurrent
    # Fresh accounts for each kind of request, under prefixes of their own (a report freezes its account).
    reports, bare_accounts, stopped_accounts, warm_up_accounts = (
        exchange.open_accounts(f"{prefix}{kind}", count) for kind, count in (
            ("R", runs * per_run), ("B", runs * per_run), ("S", runs * serial), ("W", 2 * WARM_UP_REQUESTS)))
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "floor_serial", "floor_load", "intake_serial", "intake_load", "bare_serial", "bare_load")}
    if server.worker is not None:
        samples["intake_serial_worker_stopped"] = []
    floor = {"url": server.url + FLOOR_PATH, "kind": "floor"}
    intake = {"url": server.url + REPORTS_PATH, "kind": "report"}
    bare = {"url": server.url + BARE_PATH, "kind": "report"}
    warm_up = {"count": WARM_UP_REQUESTS, "clients": WARM_UP_CLIENTS}
    run_load({**floor, **warm_up})
    run_load({**intake, **warm_up, "accounts": warm_up_accounts[:WARM_UP_REQUESTS]})
    run_load({**bare, **warm_up, "accounts": warm_up_accounts[WARM_UP_REQUESTS:]})
    wait_drained(database_url)  # the warm-up's follow-ups
    drains: list[float] = []
    cpu_runs: list[dict[str, dict[str, float]]] = []
    for run in range(runs):
        roots = server.process_roots(exchange)  # the worker of this run (the last one restarted it)
        mine, ceiling = (share[run * per_run:(run + 1) * per_run] for share in (reports, bare_accounts))
        samples["floor_serial"].append(run_load({**floor, "count": serial, "clients": 1}))
        before = cpu.reading(roots)
        samples["floor_load"].append(run_load({**floor, "count": concurrent, "clients": clients}))
        floor_cpu = cpu.per_report(before, cpu.reading(roots), concurrent)
        samples["intake_serial"].append(run_load({**intake, "count": serial, "clients": 1,
                                                  "accounts": mine[:serial]}))
        before = cpu.reading(roots)
        with LockSampler(database_url) as sampler:
            samples["intake_load"].append(run_load({**intake, "count": concurrent, "clients": clients,
                                                    "accounts": mine[serial:]}))
        during = cpu.reading(roots)
        samples["intake_load"][-1]["locks"] = sampler.summary()
        drains.append(wait_drained(database_url))
        with_follow_ups = cpu.reading(roots)
        samples["bare_serial"].append(run_load({**bare, "count": serial, "clients": 1,
                                                "accounts": ceiling[:serial]}))
        bare_before = cpu.reading(roots)
        samples["bare_load"].append(run_load({**bare, "count": concurrent, "clients": clients,
                                              "accounts": ceiling[serial:]}))
        cpu_runs.append({"floor": floor_cpu, "during_load": cpu.per_report(before, during, concurrent),
                         "with_follow_ups": cpu.per_report(before, with_follow_ups, concurrent),
                         "bare": cpu.per_report(bare_before, cpu.reading(roots), concurrent)})
        if server.worker is not None:  # one client again, with no follow-ups of earlier reports on the cores
            with server.worker_stopped():
                samples["intake_serial_worker_stopped"].append(run_load({
                    **intake, "count": serial, "clients": 1,
                    "accounts": stopped_accounts[run * serial:(run + 1) * serial]}))
            wait_drained(database_url)  # their follow-ups, before the next run's floor
    result = summarise_intake(samples, drains, clients)
    result["cpu_ms_per_report"] = {phase: {part: round(statistics.median(run[phase][part] for run in cpu_runs), 2)
                                           for part in cpu_runs[0][phase]} for phase in cpu_runs[0]}
    result["cpu_ms_per_report"]["each_run"] = cpu_runs
    result["intake_load"]["locks_each_run"] = [run.get("locks") for run in samples["intake_load"]]
    return result


def summarise_intake(samples: dict[str, list[dict[str, Any]]], drains: list[float], clients: int) -> dict[str, Any]:
    """Medians, ratios and the checks of the answers."""
    result: dict[str, Any] = {"clients": clients, "runs": len(samples["floor_load"]),
                              "warm_up_requests": WARM_UP_REQUESTS, "follow_up_drain_s": drains}
    for name, runs in samples.items():
        result[name] = {"per_second": _median(runs, "per_second"), "p50_ms": _median(runs, "p50_ms"),
                        "p99_ms": _median(runs, "p99_ms"), "requests": sum(run["answered"] for run in runs),
                        "statuses": _merge(run["statuses"] for run in runs),
                        "errors": sum(run["errors"] for run in runs)}
        if name.startswith(("intake", "bare")):
            result[name]["answered_frozen"] = sum(run["frozen_in_answer"] for run in runs)
        result[name]["each_run"] = [{k: run[k] for k in ("per_second", "p50_ms", "p99_ms")} for run in runs]
    result["ratios"] = {
        "throughput_intake_over_floor": round(result["intake_load"]["per_second"]
                                              / result["floor_load"]["per_second"], 3),
        "p99_intake_over_floor_serial": round(result["intake_serial"]["p99_ms"]
                                              / result["floor_serial"]["p99_ms"], 2),
        "p99_intake_over_floor_load": round(result["intake_load"]["p99_ms"] / result["floor_load"]["p99_ms"], 2),
        "throughput_bare_over_floor": round(result["bare_load"]["per_second"] / result["floor_load"]["per_second"], 3),
        "p99_bare_over_floor_serial": round(result["bare_serial"]["p99_ms"] / result["floor_serial"]["p99_ms"], 2),
        "throughput_intake_over_bare": round(result["intake_load"]["per_second"]
                                             / result["bare_load"]["per_second"], 3),
    }
    if "intake_serial_worker_stopped" in result:
        result["ratios"]["p99_intake_worker_stopped_over_floor_serial"] = round(
            result["intake_serial_worker_stopped"]["p99_ms"] / result["floor_serial"]["p99_ms"], 2)
    return result


def _merge(counters) -> dict[str, int]:
    """Sum status counts."""
    total: dict[str, int] = {}
    for counter in counters:
        for status, count in counter.items():
            total[status] = total.get(status, 0) + count
    return total


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


def burst_checks(database_url: str, exchange: ExchangeBackoffice, answered: list[str], prefix: str) -> dict[str, Any]:
    """Nothing lost (every answered report has its incident and one confirmed freeze), nothing frozen twice."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT i.id, i.containment, count(c.id) AS freezes, "
            "sum(CASE WHEN c.status = 'done' THEN 1 ELSE 0 END) AS done "
            "FROM incidents i LEFT JOIN exchange_commands c ON c.incident_id = i.id AND c.action = 'freeze' "
            "WHERE i.account_id LIKE :p GROUP BY i.id, i.containment"), {"p": f"{prefix}%"}).all()
    engine.dispose()
    by_id = {str(row.id): row for row in rows}
    lost = sum(1 for incident in answered if incident not in by_id or by_id[incident].done != 1)
    counts = exchange.freeze_counts()
    return {"answered": len(answered), "incidents": len(rows), "lost": lost,
            "freeze_commands": sum(row.freezes for row in rows),
            "exchange_frozen": counts["frozen"], "frozen_twice": counts["frozen_twice"],
            "exchange_freeze_keys": counts["freeze_keys"]}
