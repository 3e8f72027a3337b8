"""The database kernel's choices that other code relies on, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

from sqlalchemy import event, func, select

from app.db import PSYCOPG_CACHED_PARAMETERS, utcnow
from incidents.models import Notification


def test_many_rows_go_out_in_statements_whose_parsing_psycopg_caches(session, is_postgresql):
    """Hundreds of notifications sealed at once went as one INSERT that psycopg parsed anew every time."""
    executions: list[int] = []

    def keep(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            # A multi-row batch is one mapping; a driver-level executemany a list of one per row.
            executions.append(len(parameters) if isinstance(parameters, dict) else len(parameters[0]))

    engine = session.get_bind()
    now = utcnow()
    rows = [Notification(id=uuid.uuid4(), audience="owner", channel="email", notice="frozen", data={"n": n},
                         status="pending", attempts=0, next_attempt_at=now, created_at=now) for n in range(40)]
    event.listen(engine, "before_cursor_execute", keep)
    try:
        session.add_all(rows)
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert session.scalar(select(func.count()).select_from(Notification)) == 40
    assert executions and max(executions) <= PSYCOPG_CACHED_PARAMETERS
    if is_postgresql:  # still several rows a statement (not one round trip per row)
        columns = len(Notification.__table__.columns)
        assert len(executions) == -(-40 // (PSYCOPG_CACHED_PARAMETERS // columns))
