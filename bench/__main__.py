"""`python -m bench` (= `make bench`): start the real stack, measure, write bench/results.json and the README table."""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import table
from bench.stack import (
    REPO,
    WORKER_NICENESS,
    Database,
    ExchangeBackoffice,
    LockdeskServer,
    Settings,
    install_cipher,
    rate_limit_storage,
)

RESULTS = REPO / "bench" / "results.json"
FULL = {"runs": 3, "serial": 200, "concurrent": 200, "clients": 16, "burst": 10_000, "burst_clients": 64,
        "burst_runs": 3, "wave_accounts": 10_000, "wave_batch": 1_000, "wave_clients": 2, "trace_runs": 5, "scale_sizes": [1_000, 100_000, 1_000_000], "page_samples": 30}
QUICK = {"runs": 1, "serial": 50, "concurrent": 200, "clients": 8, "burst": 500, "burst_clients": 32,
         "burst_runs": 1, "wave_accounts": 2_000, "wave_batch": 1_000, "wave_clients": 2, "trace_runs": 1, "scale_sizes": [1_000, 10_000], "page_samples": 10}
SECTIONS = ("intake", "wave", "burst", "trace", "scale")
# The whole bench stays within 15 minutes on 2 cores: the burst, measured last, starts another run only while
# this budget leaves room for one more (how long the slowest run took, its follow-ups settled first).
BUDGET_SECONDS = 13.5 * 60


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (development)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma list of " + ", ".join(SECTIONS))
    parser.add_argument("--databases", default="postgresql,sqlite", help="intake and scale on these")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--exchange-delay-ms", type=float, default=0.0, help="exchange answer delay for intake")
    parser.add_argument("--burst-delay-ms", type=float, default=50.0)
    parser.add_argument("--wave-delay-ms", type=float, default=50.0, help="exchange answer delay for the wave")
    parser.add_argument("--wave-limit-seconds", type=float, default=120.0,
                        help="how long the wave waits for its last freeze before reporting how many were frozen "
                             "(and again for its follow-ups), so that make bench stays bounded")
    parser.add_argument("--budget-seconds", type=float, default=BUDGET_SECONDS,
                        help="the time after which no further burst run starts (the first always runs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README table")
    parser.add_argument("--render", type=Path, default=None, help="only re-render the table of a results file")
    parser.add_argument("--scale-sizes", type=lambda text: [int(n) for n in text.split(",")], default=None,
                        help="comma list of incident counts, e.g. 1000,100000,1000000")
    for name, value in FULL.items():
        if isinstance(value, int):
            parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    return parser.parse_args(argv)


def sizes(args: argparse.Namespace) -> dict[str, Any]:
    """Full or quick sizes, with any flag given taking precedence."""
    chosen = dict(QUICK if args.quick else FULL)
    for name in chosen:
        given = getattr(args, name, None)  # --scale-sizes included
        if given is not None:
            chosen[name] = given
    return chosen


def environment_facts() -> dict[str, Any]:
    """The machine and the versions the numbers were measured with."""
    import psycopg

    from bench.stack import PG_HOST, PG_PORT, PG_USER

    with psycopg.connect(f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres") as connection:
        pg = connection.execute("SHOW server_version").fetchone()[0]
    return {"cores": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release(),
            "python": platform.python_version(), "postgresql": pg, "sqlite": sqlite3.sqlite_version,
            "gunicorn": version("gunicorn"), "flask": version("flask"), "sqlalchemy": version("sqlalchemy"),
            "psycopg": version("psycopg"), "load_average_at_start": os.getloadavg()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the chosen sections, each on a fresh database and server, the burst last; return everything."""
    from bench.burst import measure_bursts
    from bench.intake import measure_intake
    from bench.scale import measure_scale
    from bench.trace import measure_trace
    from bench.trace_tron import measure_tron_trace
    from bench.wave import measure_wave

    chosen, wanted = sizes(args), set(args.sections.split(","))
    databases = [name for name in args.databases.split(",") if name]
    settings = Settings()
    install_cipher(settings)
    results: dict[str, Any] = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "quick": args.quick, "sizes": chosen, "environment": environment_facts(),
                               "server": {"gunicorn_workers": 2, "worker_class": args.worker_class,
                                          "threads": args.threads if args.worker_class == "gthread" else 1,
                                          "flask_worker_processes": 1, "flask_worker_niceness": WORKER_NICENESS,
                                          "rate_limit_storage": rate_limit_storage().split(":")[0],
                                          "exchange": "flask exchange serve (HTTP)"}}
    started = time.monotonic()
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, settings.folder, True)
        exchange = ExchangeBackoffice(settings, stack)
        if "intake" in wanted:
            for kind in databases:
                with ExitStack() as per_database:
                    server, database = _serve(settings, kind, exchange, per_database, args)
                    exchange.set_delay(args.exchange_delay_ms)
                    _say(f"intake on {kind}")
                    results.setdefault("intake", {})[kind] = measure_intake(
                        server, exchange, database.url, prefix=kind[0].upper(), runs=chosen["runs"],
                        serial=chosen["serial"], concurrent=chosen["concurrent"], clients=chosen["clients"])
                    results["intake"][kind]["exchange_delay_ms"] = args.exchange_delay_ms
        if "trace" in wanted:
            _say("trace on anvil")
            results["trace"] = measure_trace(settings.folder, runs=chosen["trace_runs"])
            _say("trace on tron (TronGrid stand-in)")
            results["trace_tron"] = measure_tron_trace(settings.folder, runs=chosen["trace_runs"])
        if "scale" in wanted:
            for kind in databases:
                _say(f"scale on {kind}")
                results.setdefault("scale", {})[kind] = measure_scale(
                    settings, exchange, kind, sizes=chosen["scale_sizes"], samples=chosen["page_samples"])
        if "wave" in wanted:
            _say(f"wave of {chosen['wave_accounts']} accounts in batches of {chosen['wave_batch']} on postgresql")
            results["wave"] = {"postgresql": measure_wave(
                settings, exchange, accounts=chosen["wave_accounts"], batch=chosen["wave_batch"],
                clients=chosen["wave_clients"], delay_ms=args.wave_delay_ms, limit_seconds=args.wave_limit_seconds,
                worker_class=args.worker_class, threads=args.threads)}
        if "burst" in wanted:  # last: it runs as many times as the bench's time budget leaves room for
            with ExitStack() as per_database:
                server, database = _serve(settings, "postgresql", exchange, per_database, args)
                _say(f"burst of {chosen['burst']} on postgresql, up to {chosen['burst_runs']} runs")
                results["burst"] = {"postgresql": measure_bursts(
                    server, exchange, database.url, runs=chosen["burst_runs"], reports=chosen["burst"],
                    clients=chosen["burst_clients"], delay_ms=args.burst_delay_ms,
                    deadline=started + args.budget_seconds)}
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    results["targets"] = table.targets(results)
    return results


def _serve(settings: Settings, kind: str, exchange: ExchangeBackoffice, stack: ExitStack,
           args: argparse.Namespace) -> tuple[LockdeskServer, Database]:
    """A fresh database of `kind` and Lockdesk serving it, both gone when `stack` closes."""
    database = Database.create(kind, settings.folder)
    stack.callback(database.drop)
    return LockdeskServer(settings, database, exchange, stack, worker_class=args.worker_class,
                          threads=args.threads), database


def _say(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run, write the results file and the README table, print the table."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render is not None:
        results = json.loads(args.render.read_text())
        results["targets"] = table.targets(results)
    else:
        results = run(args)
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    rendered = table.render(results)
    if not args.no_readme:
        table.write_readme(REPO / "README.md", rendered)
    print(rendered)


if __name__ == "__main__":
    main()
