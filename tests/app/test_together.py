"""app/together.py: several tables' writes in one PostgreSQL statement, one after the other elsewhere."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

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
