"""`flask --app app keys rotate`: re-encrypt everything encrypted under the newest FIELD_ENCRYPTION_KEY.

What is encrypted comes in kinds, each a Rotator: the EncryptedText columns of every table here, and
whatever else registers one (stored files, say) with `register`. Each kind works in small committed
batches and skips values already under the newest key, so a run that stops half-way is simply run
again; when it reports nothing left, the old key can leave FIELD_ENCRYPTION_KEY.
"""
from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Table, Text, literal, select, type_coerce, update
from sqlalchemy.orm import Session, sessionmaker

from app.db import Base, EncryptedText, FieldCipher, Progress

MODEL_MODULES = ("incidents.models", "incidents.exchange.models", "exchange_sim.models", "verification.models",
                 "chain.models")
ROTATED = "keys.rotated"


class Rotator(Protocol):
    """One kind of encrypted data: re-encrypts its values under the cipher's newest key, batch by batch."""

    name: str

    def rotate(self, sessions: sessionmaker[Session], cipher: FieldCipher, *, batch_size: int) -> Progress:
        """Rotate everything of this kind, committing each batch; the counts."""
        ...


@dataclass
class EncryptedColumn:
    """One EncryptedText column, read and written as the stored ciphertext (never decrypted here)."""

    table: Table
    column: str

    @property
    def name(self) -> str:
        """table.column."""
        return f"{self.table.name}.{self.column}"

    def rotate(self, sessions: sessionmaker[Session], cipher: FieldCipher, *, batch_size: int) -> Progress:
        """Walk the table by primary key in batches; each changed value is written only if nobody changed it since."""
        (key,) = self.table.primary_key.columns
        raw = type_coerce(self.table.c[self.column], Text)
        progress, after = Progress(), None
        while True:
            query = select(key, raw).where(raw.is_not(None)).order_by(key).limit(batch_size)
            if after is not None:
                query = query.where(key > after)
            with sessions() as session:
                rows = session.execute(query).all()
                for row_key, token in rows:
                    progress.seen += 1
                    if cipher.is_current(token):
                        progress.current += 1
                        continue
                    session.execute(update(self.table).where(key == row_key, raw == token)
                                    .values({self.column: literal(cipher.rotate(token), Text())}))
                    progress.rotated += 1
                session.commit()
            if len(rows) < batch_size:
                return progress
            after = rows[-1][0]


@dataclass
class Registry:
    """The kinds of encrypted data a rotation covers."""

    extra: list[Callable[[], list[Rotator]]] = field(default_factory=list)

    def rotators(self) -> list[Rotator]:
        """Every encrypted column of every table, then the registered kinds."""
        for module in MODEL_MODULES:
            importlib.import_module(module)
        columns: list[Rotator] = [EncryptedColumn(table, column.name)
                                  for table in Base.metadata.sorted_tables for column in table.columns
                                  if isinstance(column.type, EncryptedText)]
        return columns + [rotator for source in self.extra for rotator in source()]


REGISTRY = Registry()


def register(source: Callable[[], list[Rotator]]) -> None:
    """Add a kind of encrypted data (e.g. stored files) to every rotation: `source` gives its rotators."""
    REGISTRY.extra.append(source)


def key_fingerprint(key: str) -> str:
    """A short digest naming a key in the audit trail without revealing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def rotate_all(sessions: sessionmaker[Session], cipher: FieldCipher, *, newest_key: str, actor: str,
               batch_size: int = 500) -> dict[str, Progress]:
    """Rotate every kind of encrypted data, then record one audit event with the counts."""
    from incidents import audit

    results = {rotator.name: rotator.rotate(sessions, cipher, batch_size=batch_size)
               for rotator in REGISTRY.rotators()}
    with sessions() as session:
        audit.record(session, actor=actor, action=ROTATED, subject_type="field_encryption_key",
                     subject_id=key_fingerprint(newest_key),
                     data={"keys_configured": cipher.key_count,
                           "rotated": sum(p.rotated for p in results.values()),
                           "already_current": sum(p.current for p in results.values()),
                           "by_kind": {name: p.rotated for name, p in results.items() if p.rotated}})
        session.commit()
    return results
