"""How the back office reads: on PostgreSQL without a transaction of its own when it needs none."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.db import is_postgresql


@contextmanager
def without_transaction(session: Session) -> Iterator[None]:
    """On PostgreSQL, read in autocommit mode when the session has no transaction yet, then end it.

    PostgreSQL (read committed) reads each statement from a snapshot of its own either way; without a
    transaction no BEGIN and no ROLLBACK go to the server. SQLite reads as before, in its own transaction.
    """
    if session.in_transaction() or not is_postgresql(session):
        yield
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        yield
    finally:
        session.rollback()
