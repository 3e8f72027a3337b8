"""The instance's signing key and the audit chain's signed checkpoints, wired into the worker and the checks."""
from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from app.signing import SigningKey
from incidents import audit, checkpoints

log = logging.getLogger("lockdesk.audit")


class AuditCheckpointer:
    """The worker's periodic job: sign the sealed chain's head every AUDIT_CHECKPOINT_SECONDS when it grew."""

    def __init__(self, sessions: sessionmaker[Session], key: SigningKey, *, every_seconds: float):
        self.sessions, self.key, self.every_seconds = sessions, key, every_seconds
        self._last = float("-inf")

    def __call__(self) -> int:
        """Write a checkpoint when due; 1 when one was written."""
        if time.monotonic() - self._last < self.every_seconds:
            return 0
        self._last = time.monotonic()
        try:
            with self.sessions() as session:
                return 1 if checkpoints.write_checkpoint(session, signer=self.key) is not None else 0
        except checkpoints.ChainBroken as broken:
            log.error("audit checkpoint refused: %s", broken)
        except Exception:
            log.exception("writing the audit checkpoint failed")
        return 0


def verify(session: Session, key: SigningKey, *, exported: dict[str, Any] | None = None) -> dict[str, Any]:
    """Recompute the chain, then hold it against the stored checkpoints and an exported one when given."""
    chain = audit.verify_chain(session)
    stored = checkpoints.check_stored(session, chain_length=chain.events, public_key_b64=key.public_key_b64,
                                      key_id=key.key_id)
    problems = list(stored.problems)
    if exported is not None:
        problems += checkpoints.check_exported(session, exported, chain_length=chain.events).problems
    if not chain.valid:
        problems.insert(0, f"the chain breaks at event {chain.first_bad_event}")
    return {"valid": chain.valid and not problems, "events": chain.events, "head": chain.head,
            "first_bad_event": chain.first_bad_event, "pending": chain.pending,
            "checkpoints": stored.checked + (1 if exported is not None else 0),
            "checkpoint_seq": stored.last_seq, "problems": problems}


def checkpoint_now(session: Session, key: SigningKey) -> dict[str, Any] | None:
    """Seal what is committed, sign the head when it grew, and export the newest checkpoint (None: no events)."""
    audit.seal_all(session)
    checkpoints.write_checkpoint(session, signer=key)
    newest = checkpoints.latest(session)
    return checkpoints.export(newest, public_key_b64=key.public_key_b64) if newest is not None else None


def init_app(app: Flask) -> None:
    """Read SIGNING_KEY and give the worker its checkpoint job."""
    runtime = app.extensions["lockdesk"]
    key = SigningKey.from_setting(app.config["SIGNING_KEY"])
    runtime.ports.signing_key = key
    runtime.ports.audit_checkpointer = AuditCheckpointer(
        runtime.sessions, key, every_seconds=float(app.config.get("AUDIT_CHECKPOINT_SECONDS", 300.0)))
