"""Writes of several tables in one statement: on PostgreSQL a data-modifying `WITH` query per write, one round trip
for them all where each cost one of its own (a new case's report: 4 INSERTs become 1; a confirmed freeze's record:
2 UPDATEs and an INSERT become 1)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, literal_column, select
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.dialects import postgresql

from app.db import by_column, insert_rows, unnest_rows


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
        merged.update({f"p{number}_{name}": values for name, values in by_column(part.rows, part.columns).items()})
    shape = tuple((part.table, part.columns) for part in present)
    connection.execute(_statement(tuple(statement for statement, _ in statements), shape), merged)


@lru_cache(maxsize=64)
def _statement(statements: tuple[UpdateBase, ...], shape: tuple[tuple[Table, tuple[str, ...]], ...]):
    """`WITH s0 AS (UPDATE …), w0 AS (INSERT INTO t0 … FROM unnest(…)), … SELECT 1`, built once per statements,
    tables and columns."""
    writes = [statement.cte(f"s{number}") for number, statement in enumerate(statements)]
    for number, (table, columns) in enumerate(shape):
        # Defaults are not rendered here (their parameters would clash across parts), so a part that left out a
        # column with one would store NULL where `insert_rows`, on SQLite, stores the default: refuse it instead.
        unnamed = sorted(column.key for column in table.columns if column.default is not None and column.key not in columns)
        if unnamed:
            raise ValueError(f"rows for {table.name} must name every column with a default; missing {unnamed}")
        rows = unnest_rows(table, columns, f"r{number}", prefix=f"p{number}_")
        insert = postgresql.insert(table).from_select(
            list(columns), select(*(rows.c[name] for name in columns)).order_by(rows.c.ordinality),
            include_defaults=False)  # every part names its columns; a default's bind would clash across parts
        writes.append(insert.cte(f"w{number}"))
    return select(literal_column("1")).add_cte(*writes)
