"""app/together.py: several tables' writes in one PostgreSQL statement, one after the other elsewhere."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DataError

from app.db import insert_rows
from app.idempotency_record import IdempotencyRecord
from app.together import Rows, insert_together
from incidents.models import Staff

COLUMNS = ("id", "name", "role", "token_hash", "is_active", "created_at")


def staff_row(name: str) -> dict:
    """A staff member's row naming every column with a default."""
    return {"id": uuid.uuid4(), "name": name, "role": "agent", "token_hash": uuid.uuid4().hex * 2, "is_active": True,
            "created_at": datetime.now(UTC)}


def test_two_parts_are_one_statement_on_postgresql_and_one_each_elsewhere(session):
    statements: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0])

    event.listen(session.get_bind(), "before_cursor_execute", keep)
    try:
        insert_together(session.connection(), [Rows(Staff.__table__, [staff_row("t-1"), staff_row("t-2")], COLUMNS),
                                               None, Rows(Staff.__table__, [staff_row("t-3")], COLUMNS)])
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", keep)
    session.commit()
    expected = ["WITH"] if session.get_bind().dialect.name == "postgresql" else ["INSERT", "INSERT"]
    assert [statement for statement in statements if statement != "BEGIN"] == expected
    assert session.scalars(select(Staff.name).where(Staff.name.like("t-%")).order_by(Staff.name)).all() == [
        "t-1", "t-2", "t-3"]


def test_a_part_that_leaves_out_a_column_with_a_default_is_refused_on_postgresql_and_writes_nothing(session):
    """On PostgreSQL the statement renders no defaults: rather than NULL where SQLite stores the default, the
    write is refused before anything is sent."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite writes each part with its defaults, one INSERT each")
    partial = {key: value for key, value in staff_row("t-4").items() if key != "is_active"}
    with pytest.raises(ValueError, match=r"staff must name every column with a default; missing \['is_active'\]"):
        insert_together(session.connection(), [Rows(Staff.__table__, [staff_row("t-5")], COLUMNS),
                                               Rows(Staff.__table__, [partial], tuple(partial))])
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Staff).where(Staff.name.like("t-%"))) == 0


RECORD_COLUMNS = ("scope", "key", "request_hash", "status", "response_status", "response_body", "response_headers",
                  "created_at", "expires_at")


def record_row(key: str, headers, *, scope: str = "together") -> dict:
    """An idempotency record's row: strings of limited length, a number, text, a nullable JSON column, times."""
    at = datetime(2026, 12, 4, 22, 40, 46, 35001, tzinfo=UTC)
    return {"scope": scope, "key": key, "request_hash": "ab" * 32, "status": "pending", "response_status": 201,
            "response_body": 'line 1\n"quoted" \\ 工单', "response_headers": headers, "created_at": at,
            "expires_at": at}


def stored(session, scope: str) -> list[tuple]:
    """The records of one scope as the database holds them, each value as its text (JSON's null apart from NULL)."""
    columns = ", ".join(f"CAST({name} AS TEXT)" for name in RECORD_COLUMNS[1:])
    return [tuple(row) for row in session.execute(text(
        f"SELECT {columns} FROM idempotency_records WHERE scope = :scope ORDER BY key"), {"scope": scope})]


def test_rows_written_together_are_stored_as_the_same_rows_written_alone(session):
    """Together's rows travel as one JSON document per table on PostgreSQL: every value must land as the ordinary
    INSERT stores it: JSON's null stays null (not SQL NULL), text keeps its quotes and newlines, times their
    microseconds."""
    rows = [record_row("k1", None), record_row("k2", {"Location": "/x", "list": [1, "二"]}), record_row("k3", "text")]
    insert_together(session.connection(), [Rows(IdempotencyRecord.__table__, rows, RECORD_COLUMNS),
                                            Rows(Staff.__table__, [staff_row("t-6")], COLUMNS)])
    insert_rows(session.connection(), IdempotencyRecord.__table__,
                [{**row, "scope": "alone"} for row in rows], RECORD_COLUMNS)
    session.commit()
    together = stored(session, "together")
    assert together == stored(session, "alone")
    assert [row[0] for row in together] == ["k1", "k2", "k3"]
    if session.get_bind().dialect.name == "postgresql":
        assert session.execute(text("SELECT jsonb_typeof(response_headers) FROM idempotency_records "
                                    "WHERE scope = 'together' ORDER BY key")).scalars().all() == [
            "null", "object", "string"]


def test_rows_keep_their_order_and_a_value_too_long_is_refused_not_cut(session):
    """Rows are inserted in the order given (ids drawn from a sequence follow it), and a string longer than its
    column is an error, as in any INSERT, never cut to the column's length."""
    insert_together(session.connection(), [Rows(Staff.__table__, [staff_row(f"t-o{n}") for n in range(12)], COLUMNS),
                                            Rows(Staff.__table__, [staff_row("t-o12")], COLUMNS)])
    session.commit()
    names = session.scalars(select(Staff.name).where(Staff.name.like("t-o%"))).all()
    assert sorted(names, key=lambda name: int(name[3:])) == [f"t-o{n}" for n in range(13)]
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite does not check a VARCHAR's length
    with pytest.raises(DataError, match="too long"):
        insert_together(session.connection(), [
            Rows(IdempotencyRecord.__table__, [record_row("k" * 256, None)], RECORD_COLUMNS),
            Rows(Staff.__table__, [staff_row("t-7")], COLUMNS)])
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Staff).where(Staff.name == "t-7")) == 0
