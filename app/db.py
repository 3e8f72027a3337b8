"""The database kernel every domain builds on: declarative Base, column types, the field cipher, engines.

This module imports nothing else of the project, so the domains (which know nothing
of Flask) can import it, and Alembic sees one metadata for every table.
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, String, Table, Text, bindparam, create_engine, \
    event, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# psycopg parses a statement once and caches the result when it has at most this many parameters
# (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS).
PSYCOPG_CACHED_PARAMETERS = 50


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


# Random bytes for ids, drawn from the OS 256 ids at a time per thread and process (a forked child, whichever
# thread forked it, draws its own: it never reuses the bytes its parent has left).
_RANDOM = threading.local()


def new_id() -> uuid.UUID:
    """A fresh random UUID (version 4, of the OS's random bytes as `uuid.uuid4`) for a primary or public key. A draw
    lets go of the GIL: one per id made a wave's request queue behind the dispatcher's threads once per id."""
    state = _RANDOM.__dict__
    pool, at = state.get("pool", b""), state.get("at", 0)
    if at >= len(pool) or state.get("pid") != os.getpid():
        pool, at = os.urandom(16 * 256), 0
        state["pool"], state["pid"] = pool, os.getpid()
    state["at"] = at + 16
    return uuid.UUID(bytes=pool[at:at + 16], version=4)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Refuse naive datetimes and store everything in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Give back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


@dataclass
class Progress:
    """What a key rotation did to one kind of encrypted data: values looked at, re-encrypted, already under the
    newest key (`keys rotate` adds these up over every kind)."""

    seen: int = 0
    rotated: int = 0
    current: int = 0


class FieldCipher:
    """Symmetric encryption for secrets at rest; the first key encrypts, all keys decrypt."""

    _active: ClassVar[FieldCipher | None] = None

    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("at least one field-encryption key is needed")
        self._keys = [Fernet(key.encode() if isinstance(key, str) else key) for key in keys]
        self._fernet = MultiFernet(self._keys)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt text with the newest key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt text written under any configured key."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a secret could not be decrypted with the configured keys") from exc

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Encrypt a file's bytes with the newest key."""
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Decrypt a file's bytes written under any configured key."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise ValueError("a stored file could not be decrypted with the configured keys") from exc

    def rotate_bytes(self, token: bytes) -> bytes:
        """Re-encrypt a file's bytes under the newest key."""
        return self._fernet.rotate(token)

    def rotate(self, token: str) -> str:
        """Re-encrypt a value under the newest key."""
        return self._fernet.rotate(token.encode()).decode()

    def is_current(self, token: str) -> bool:
        """Whether a value is already encrypted under the newest key (a rotation may skip it)."""
        try:
            self._keys[0].decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    @property
    def key_count(self) -> int:
        """How many keys decrypt (the first of them encrypts)."""
        return len(self._keys)

    @classmethod
    def install(cls, keys: list[str]) -> FieldCipher:
        """Make this cipher the one the EncryptedText columns use in this process."""
        cls._active = cls(keys)
        return cls._active

    @classmethod
    def active(cls) -> FieldCipher:
        """Return the installed cipher; a configuration error if none was installed."""
        if cls._active is None:
            raise RuntimeError("FieldCipher.install() was not called (FIELD_ENCRYPTION_KEY)")
        return cls._active


class EncryptedText(TypeDecorator):
    """Text encrypted with the installed FieldCipher before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else FieldCipher.active().encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        """Decrypt on the way out."""
        return None if value is None else FieldCipher.active().decrypt(value)


class Base(DeclarativeBase):
    """Declarative base for every table of the product."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        str: String(255),
    }


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    """WAL, enforced foreign keys and a busy timeout; transactions begin IMMEDIATE."""
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_begin(connection) -> None:
    """Take the write lock up front so read-then-write transactions never deadlock."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **options: Any) -> Engine:
    """Build an engine for SQLite (WAL, immediate transactions) or PostgreSQL (psycopg 3)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, json_serializer=dumps, **options)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    engine = create_engine(url, json_serializer=dumps, **options)
    event.listen(engine, "connect", _binary_column_arrays)
    # Several rows of one table (audit events, a freeze and its follow-up) go as one multi-row INSERT, as
    # with psycopg2, rather than through psycopg's pipelined executemany, which cost more CPU for the
    # handful of rows a transaction writes.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    # ... but in statements of at most 50 parameters: psycopg caches the parsing of a statement up to that
    # size, and parses a longer one anew each time with a regular expression over its whole text, which
    # cost the sealer a tenth of its CPU when it wrote hundreds of notifications in one INSERT.
    engine.dialect.insertmanyvalues_max_parameters = PSYCOPG_CACHED_PARAMETERS
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def is_postgresql(session: Session) -> bool:
    """Tell whether the session talks to PostgreSQL (row locks, advisory locks)."""
    return session.get_bind().dialect.name == "postgresql"


class ColumnArray(list):
    """One column of many rows (`unnest_rows`), sent by psycopg as a binary array: an array's text form (each value
    quoted and escaped) cost more CPU than the database spent inserting the rows."""


class _ColumnArrayType(TypeDecorator):
    """`ARRAY(item type)` whose values reach the driver as a `ColumnArray` (each item processed as the column's)."""

    impl = ARRAY
    cache_ok = True

    def bind_processor(self, dialect):
        """The array's own processing, then the binary array."""
        process = super().bind_processor(dialect)
        return lambda value: None if value is None else ColumnArray(process(value) if process else value)


def _binary_column_arrays(dbapi_connection, _record) -> None:
    """Let psycopg send a `ColumnArray` in binary (a plain list keeps the text form)."""
    from psycopg.types.array import ListBinaryDumper
    dbapi_connection.adapters.register_dumper(ColumnArray, ListBinaryDumper)


def unnest_rows(table: Table, columns: Sequence[str], name: str = "rows", *, prefix: str = ""):
    """`unnest(:c1, :c2, …) WITH ORDINALITY AS name(c1, …, ordinality)`: any number of rows as one array per column
    (`by_column`; parameters named `prefix` + column, as an UPDATE needs) typed as `table`'s, for PostgreSQL
    statements of one parameter per column (whose parsing psycopg caches like any short statement's)."""
    # One dimension: a JSON list (a report's transactions) is one item, not a second dimension of the array.
    arrays = [bindparam(prefix + column, type_=_ColumnArrayType(table.c[column].type, dimensions=1)) for column in columns]
    return func.unnest(*arrays).table_valued(*columns, with_ordinality="ordinality").render_derived(name)


@lru_cache(maxsize=None)
def unnest_insert(table: Table, columns: tuple[str, ...]) -> postgresql.Insert:
    """`INSERT INTO table (columns) SELECT … FROM unnest_rows(…) ORDER BY ordinality`: any number of rows in one
    PostgreSQL statement, in the order given. ON CONFLICT and RETURNING are added as to any PostgreSQL INSERT.
    Built once per table and columns."""
    rows = unnest_rows(table, columns)
    return postgresql.insert(table).from_select(
        list(columns), select(*(rows.c[name] for name in columns)).order_by(rows.c.ordinality))


def by_column(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """The rows as one list per column: the parameters of `unnest_rows`."""
    return {name: [row[name] for row in rows] for name in columns}


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]],
                columns: Sequence[str]) -> None:
    """Insert the rows (each holding every one of `columns`) in order: on PostgreSQL, more than one short multi-row
    INSERT holds go as one `unnest_insert` (a wave's thousands in one round trip), else one multi-row INSERT."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) * len(columns) > PSYCOPG_CACHED_PARAMETERS:
        connection.execute(unnest_insert(table, tuple(columns)), by_column(rows, columns))
    else:
        connection.execute(insert(table), [{name: row[name] for name in columns} for row in rows])


def dumps(value: Any) -> str:
    """JSON for columns: compact, with datetimes and UUIDs as strings."""
    return json.dumps(value, separators=(",", ":"), default=str)
