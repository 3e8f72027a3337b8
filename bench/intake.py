"""Intake against the floor through the real stack (the burst is in bench/burst.py)."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
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
