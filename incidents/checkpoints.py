"""Signed checkpoints of the audit chain: its length (`seq`) and head hash at a moment, signed by the instance.

The chain proves that no sealed event was changed, but not that none was cut off the end: a chain whose
newest rows were deleted (or a table emptied) recomputes as valid. A checkpoint remembers how long the chain
was and what its head was, signed with the instance's Ed25519 key; a chain shorter than a checkpoint, or
with another event at the checkpoint's position, is then detected. Stored checkpoints can be deleted with
the events by whoever can bypass the triggers, so the copies exported off the database are what really
anchor the chain (`flask audit checkpoint --export`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Index, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, utcnow
from app.signing import ALGORITHM, signature_holds
from incidents.audit import GENESIS_HASH, canonical_json, chain_hash
from incidents.models import AuditEvent, BigIntKey


class AuditCheckpoint(Base):
    """One signed statement of the chain's length and head (append-only, like the events)."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_seq", "seq", unique=True),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigIntKey)
    head: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class Signer(Protocol):
    """The instance key as checkpoints need it."""

    key_id: str
    public_key_b64: str

    def sign(self, message: bytes) -> str:
        """A base64 signature."""


class ChainBroken(Exception):
    """The events since the last checkpoint do not link up: nothing is signed over them."""

    def __init__(self, event_id: int):
        super().__init__(f"the chain breaks at event {event_id}; no checkpoint was written")
        self.event_id = event_id


def signed_part(seq: int, head: str, created_at: datetime, key_id: str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    when = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return canonical_json({"seq": seq, "head": head, "created_at": when, "key_id": key_id}).encode()


def write_checkpoint(session: Session, *, signer: Signer, now: datetime | None = None) -> AuditCheckpoint | None:
    """Sign the sealed chain's head when it moved since the last checkpoint, after re-linking the events since
    then (never sign over a break); the new checkpoint, or None when the chain has not grown."""
    last = latest(session)
    position, prev = (last.seq, last.head) if last else (0, GENESIS_HASH)
    if last is not None:
        anchor = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == last.seq))
        if anchor != last.head:
            raise ChainBroken(event_id=0)
    query = select(AuditEvent).where(AuditEvent.seq > position).order_by(AuditEvent.seq)
    for event in session.execute(query.execution_options(yield_per=1000)).scalars():
        if event.seq != position + 1 or event.prev_hash != prev or chain_hash(prev, event) != event.hash:
            raise ChainBroken(event_id=event.id)
        position, prev = event.seq, event.hash
    if last is not None and position == last.seq:
        session.rollback()
        return None
    created = now or utcnow()
    row = {"seq": position, "head": prev, "created_at": created, "key_id": signer.key_id,
           "signature": signer.sign(signed_part(position, prev, created, signer.key_id))}
    session.execute(insert(AuditCheckpoint), [row])
    session.commit()
    return latest(session)


def latest(session: Session) -> AuditCheckpoint | None:
    """The checkpoint of the longest chain."""
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))


def export(checkpoint: AuditCheckpoint, *, public_key_b64: str) -> dict[str, Any]:
    """A checkpoint as a self-contained JSON document, to be kept off the database."""
    return {"seq": checkpoint.seq, "head": checkpoint.head,
            "created_at": checkpoint.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key_id": checkpoint.key_id, "algorithm": ALGORITHM, "public_key": public_key_b64,
            "signature": checkpoint.signature}


@dataclass(frozen=True)
class AnchorCheck:
    """What the checkpoints say of the chain: `problems` empty when every checkpoint holds."""

    checked: int
    last_seq: int | None = None
    problems: list[str] = field(default_factory=list)


def check_stored(session: Session, *, chain_length: int, public_key_b64: str, key_id: str) -> AnchorCheck:
    """Hold the chain against every stored checkpoint: signature, length and the event at its position."""
    rows = session.execute(select(AuditCheckpoint, AuditEvent.hash).outerjoin(
        AuditEvent, AuditEvent.seq == AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).all()
    problems: list[str] = []
    for checkpoint, hash_there in rows:
        signed = signed_part(checkpoint.seq, checkpoint.head, checkpoint.created_at, checkpoint.key_id)
        if checkpoint.key_id == key_id and not signature_holds(public_key_b64, signed, checkpoint.signature):
            problems.append(f"stored checkpoint {checkpoint.id} (seq {checkpoint.seq}): its signature does not hold")
            continue
        problems += _compare(f"stored checkpoint {checkpoint.id}", checkpoint.seq, checkpoint.head,
                             chain_length, hash_there)
    return AnchorCheck(checked=len(rows), last_seq=rows[-1][0].seq if rows else None, problems=problems[:20])


def check_exported(session: Session, document: dict[str, Any], *, chain_length: int) -> AnchorCheck:
    """Hold the chain against an exported checkpoint (its own public key checks its signature)."""
    try:
        seq, head, key_id = int(document["seq"]), str(document["head"]), str(document["key_id"])
        created_at = datetime.fromisoformat(str(document["created_at"]))
        signed = signed_part(seq, head, created_at, key_id)
        holds = (document.get("algorithm") == ALGORITHM
                 and signature_holds(str(document["public_key"]), signed, str(document["signature"])))
    except (KeyError, TypeError, ValueError):
        return AnchorCheck(checked=1, problems=["the checkpoint file is not an exported checkpoint"])
    if not holds:
        return AnchorCheck(checked=1, last_seq=seq, problems=["the checkpoint file's signature does not hold"])
    hash_there = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
    return AnchorCheck(checked=1, last_seq=seq,
                       problems=_compare("the checkpoint file", seq, head, chain_length, hash_there))


def _compare(name: str, seq: int, head: str, chain_length: int, hash_there: str | None) -> list[str]:
    """Why the chain does not match one checkpoint (empty when it does)."""
    if chain_length < seq:
        return [f"{name} covers {seq} events but the chain has {chain_length}: events were removed"]
    if hash_there != head:
        return [f"{name}: the event at seq {seq} is not the one signed (head {head[:12]}…)"]
    return []


def read_exported(text: str) -> dict[str, Any]:
    """Parse an exported checkpoint file ({} when it is not JSON, which then fails the check by name)."""
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
