"""Writes of several tables in one statement: on PostgreSQL a data-modifying `WITH` query per write, one round trip
for them all where each cost one of its own (a new case's report: 4 INSERTs become 1; a confirmed freeze's record:
2 UPDATEs and an INSERT become 1)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Integer, String, Table, Text, bindparam, cast, column, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase

from app.db import dumps, insert_rows

# Each part's rows reach PostgreSQL as one JSON text, its columns typed by the statement (`jsonb_to_recordset`):
# json.dumps and one text parameter, where an array per column cost psycopg's Python array dumpers a quarter of
# a report's CPU in the web process. The key that keeps the rows' order:
ORDER_KEY = "_n"


@dataclass(frozen=True)
class Rows:
    """Rows for one table, each holding every one of `columns`, to be inserted in the order given."""

    table: Table
    rows: Sequence[dict[str, Any]]
    columns: tuple[str, ...]


def insert_together(connection: Connection, parts: Sequence[Rows | None]) -> None:
    """Insert every part's rows in the caller's transaction: on PostgreSQL in one statement (a data-modifying WITH
    query per table; foreign keys between them are checked at its end, so their order does not matter there),
    elsewhere one `insert_rows` per part, in the order given (parents first)."""
    write_together(connection, (), parts)


def write_together(connection: Connection, statements: Sequence[tuple[UpdateBase, dict[str, Any]]],
                   parts: Sequence[Rows | None]) -> None:
    """Run the statements (each with its parameters, every parameter's name its own: built once, so that a
    statement's identity names it) and insert the parts' rows, in the caller's transaction: on PostgreSQL as one
    statement when there are two writes or more, elsewhere one after the other, the statements first."""
    present = [part for part in parts if part is not None and part.rows]
    if connection.dialect.name != "postgresql" or len(statements) + len(present) < 2:
        for statement, parameters in statements:
            connection.execute(statement, parameters)
        for part in present:
            insert_rows(connection, part.table, part.rows, part.columns)
        return
    merged: dict[str, Any] = {}
    for _statement_, parameters in statements:
        merged.update(parameters)
    for number, part in enumerate(present):
        merged[f"p{number}"] = _json_rows(part, connection.dialect)
    shape = tuple((part.table, part.columns) for part in present)
    connection.execute(_statement(tuple(statement for statement, _ in statements), shape), merged)


def _json_rows(part: Rows, dialect: Dialect) -> str:
    """The part's rows as a JSON array of objects, each value bound as its column binds it (encrypted, in UTC, a
    JSON column's value as its JSON text, so that None stays JSON's null as elsewhere) and numbered in order."""
    processors = _processors(part.table, part.columns, dialect)
    return dumps([{ORDER_KEY: number, **{name: process(row[name]) if process else row[name]
                                         for name, process in processors}} for number, row in enumerate(part.rows)])


@lru_cache(maxsize=128)
def _processors(table: Table, columns: tuple[str, ...], dialect: Dialect
                ) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each column's bind processor on this dialect; a JSON column's gives its JSON text."""
    return tuple((name, _json_text(table.c[name].type) if isinstance(table.c[name].type, JSON)
                  else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns)


def _json_text(json_type: JSON) -> Callable[[Any], str | None]:
    """A JSON column's value as its text: None is JSON's null unless the type stores it as SQL NULL."""
    return lambda value: None if value is None and json_type.none_as_null else dumps(value)


def _recordset_column(table: Table, name: str):
    """The recordset's column for `name`: typed as the table's, but text for a JSON column (cast when selected)
    and for a string of limited length (the INSERT checks the length, where a cast would cut the value)."""
    return column(name, Text if isinstance(table.c[name].type, (JSON, String)) else table.c[name].type)


@lru_cache(maxsize=64)
def _statement(statements: tuple[UpdateBase, ...], shape: tuple[tuple[Table, tuple[str, ...]], ...]):
    """`WITH s0 AS (UPDATE …), w0 AS (INSERT INTO t0 … FROM jsonb_to_recordset(…)), … SELECT 1`, built once per
    statements, tables and columns."""
    writes = [statement.cte(f"s{number}") for number, statement in enumerate(statements)]
    for number, (table, columns) in enumerate(shape):
        # Defaults are not rendered here (their parameters would clash across parts), so a part that left out a
        # column with one would store NULL where `insert_rows`, on SQLite, stores the default: refuse it instead.
        unnamed = sorted(own.key for own in table.columns if own.default is not None and own.key not in columns)
        if unnamed:
            raise ValueError(f"rows for {table.name} must name every column with a default; missing {unnamed}")
        typed = [_recordset_column(table, name) for name in columns] + [column(ORDER_KEY, Integer)]
        rows = (func.jsonb_to_recordset(cast(bindparam(f"p{number}", type_=Text), JSONB))
                .table_valued(*typed).render_derived(f"r{number}", with_types=True))
        values = [cast(rows.c[name], JSONB) if isinstance(table.c[name].type, JSON) else rows.c[name] for name in columns]
        insert = postgresql.insert(table).from_select(
            list(columns), select(*values).order_by(rows.c[ORDER_KEY]),
            include_defaults=False)  # every part names its columns; a default's bind would clash across parts
        writes.append(insert.cte(f"w{number}"))
    return select(literal_column("1")).add_cte(*writes)
