"""Queue page time at 10³, 10⁵ and 10⁶ incidents, bulk-loaded (COPY on PostgreSQL, executemany on SQLite)."""
from __future__ import annotations

import random
import statistics
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, text

from app.db import make_engine, make_sessionmaker
from bench.intake import run_load
from bench.stack import Database, ExchangeBackoffice, LockdeskServer, Settings, staff_token
from incidents.models import Incident
from incidents.queue import encode_cursor

KINDS = ("stolen_account", "unauthorized_withdrawal", "suspicious_login", "phishing", "other")
STATUSES = ("open", "in_progress", "awaiting_user", "resolved", "closed")
COLUMNS = ("id", "account_id", "kind", "source", "severity", "risk_score", "status", "containment", "queue",
           "sla_due_at", "created_at", "updated_at")
CHUNK = 50_000
DEEP_SHARE = 0.9


def incident_rows(start: int, stop: int, epoch: datetime):
    """Synthetic incidents number `start`..`stop`: unique accounts, SLA times spread over three days."""
    rng = random.Random(start)
    for n in range(start, stop):
        created = epoch + timedelta(seconds=n)
        yield (uuid.UUID(int=rng.getrandbits(128), version=4), f"Q{n:08d}", KINDS[n % 5], "report", "high",
               n % 100, STATUSES[n % 5], "frozen", "risk" if n % 2 else "support",
               created + timedelta(seconds=rng.randrange(72 * 3600)), created, created)


def bulk_load(database: Database, start: int, stop: int, epoch: datetime) -> None:
    """Append incidents `start`..`stop` (COPY on PostgreSQL, executemany on SQLite)."""
    if database.kind == "postgresql":
        import psycopg

        with psycopg.connect(database.url.replace("postgresql+psycopg", "postgresql")) as connection:
            with connection.cursor().copy(f"COPY incidents ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in incident_rows(start, stop, epoch):
                    copy.write_row(row)
            connection.execute("ANALYZE incidents")
        return
    engine = make_engine(database.url)
    statement = text(f"INSERT INTO incidents ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})")
    for chunk_start in range(start, stop, CHUNK):
        rows = [dict(zip(COLUMNS, (r[0].hex, *r[1:9], *(_sqlite_time(t) for t in r[9:])), strict=True))
                for r in incident_rows(chunk_start, min(stop, chunk_start + CHUNK), epoch)]
        with engine.begin() as connection:
            connection.execute(statement, rows)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE incidents")
    engine.dispose()


def _sqlite_time(value: datetime) -> str:
    """How UTCDateTime stores a time in SQLite (naive UTC)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def deep_cursor(database: Database, total: int) -> str:
    """The queue's own cursor for the row at 90 % of the list (sorted by SLA due time)."""
    engine = make_engine(database.url)
    with make_sessionmaker(engine)() as session:
        due, number = session.execute(select(Incident.sla_due_at, Incident.number)
                                      .order_by(Incident.sla_due_at, Incident.number)
                                      .offset(int(total * DEEP_SHARE)).limit(1)).one()
    engine.dispose()
    return encode_cursor([due.isoformat(), number])


def explain_deep_page(database: Database, cursor: str) -> list[str]:
    """EXPLAIN ANALYZE of the very statement the queue runs for the deep page (PostgreSQL)."""
    from sqlalchemy import event

    from incidents.queue import IncidentFilter, list_incidents

    engine = make_engine(database.url)
    seen: list[tuple[str, dict]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, parameters, _ctx, _many: seen.append((statement, parameters)))
    with make_sessionmaker(engine)() as session:
        list_incidents(session, filters=IncidentFilter(), limit=50, cursor=cursor)
    statement, parameters = next(item for item in seen if "FROM incidents" in item[0])
    with engine.connect() as connection:
        plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)]
    engine.dispose()
    return plan


def page_ms(server: LockdeskServer, token: str, query: str, samples: int) -> float:
    """Median milliseconds of one page, one client, keep-alive."""
    result = run_load({"url": f"{server.url}/api/v1/incidents?{query}", "kind": "get", "count": samples,
                       "clients": 1, "headers": {"Authorization": f"Bearer {token}"}})
    if result["statuses"] != {"200": samples}:
        raise RuntimeError(f"queue page answered {result['statuses']} {result['first_errors']}")
    return result["p50_ms"]


def measure_scale(settings: Settings, exchange: ExchangeBackoffice, kind: str, *, sizes: list[int],
                  samples: int) -> dict[str, Any]:
    """Grow one fresh database through the sizes; time the first and a deep page at each."""
    from urllib.parse import quote

    epoch = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with ExitStack() as stack:
        database = Database.create(kind, settings.folder)
        stack.callback(database.drop)
        server = LockdeskServer(settings, database, exchange, stack, with_worker=False)
        token = staff_token(database.url)
        loaded, levels = 0, []
        for size in sizes:
            bulk_load(database, loaded, size, epoch)
            loaded = size
            cursor = deep_cursor(database, size)
            levels.append({"incidents": size,
                           "first_page_ms": page_ms(server, token, "limit=50", samples),
                           "deep_page_ms": page_ms(server, token, f"limit=50&cursor={quote(cursor)}", samples)})
        result: dict[str, Any] = {"levels": levels}
        for key in ("first_page_ms", "deep_page_ms"):
            result[f"{key}_ratio_largest_over_smallest"] = round(levels[-1][key] / levels[0][key], 2)
        if kind == "postgresql":
            result["explain_deep_page_largest"] = explain_deep_page(database, cursor)
    return result


def median(values: list[float]) -> float:
    """The median, rounded."""
    return round(statistics.median(values), 2)
