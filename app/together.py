"""Rows of several tables written in one statement: on PostgreSQL one `WITH … INSERT …` per table, a round trip
for them all where one INSERT each cost a round trip each (the report's rows: 4 statements become 1)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, literal_column, select
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
    present = [part for part in parts if part is not None and part.rows]
    if connection.dialect.name != "postgresql" or len(present) < 2:
        for part in present:
            insert_rows(connection, part.table, part.rows, part.columns)
        return
    parameters: dict[str, Any] = {}
    for number, part in enumerate(present):
        parameters.update({f"p{number}_{name}": values for name, values in by_column(part.rows, part.columns).items()})
    connection.execute(_statement(tuple((part.table, part.columns) for part in present)), parameters)


@lru_cache(maxsize=64)
def _statement(shape: tuple[tuple[Table, tuple[str, ...]], ...]):
    """`WITH w0 AS (INSERT INTO t0 … FROM unnest(…)), w1 AS (…) SELECT 1`, built once per tables and columns."""
    writes = []
    for number, (table, columns) in enumerate(shape):
        rows = unnest_rows(table, columns, f"r{number}", prefix=f"p{number}_")
        insert = postgresql.insert(table).from_select(
            list(columns), select(*(rows.c[name] for name in columns)).order_by(rows.c.ordinality),
            include_defaults=False)  # every part names its columns; a default's bind would clash across parts
        writes.append(insert.cte(f"w{number}"))
    return select(literal_column("1")).add_cte(*writes)
