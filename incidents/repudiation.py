"""Signed one-time "this wasn't me" links: using one freezes the account again and files a report.

The link carries the repudiation's id and an HMAC of it under SECRET_KEY; the row holds the expiry
and the single use (an UPDATE … WHERE used_at IS NULL, so two clicks at once act once). Reading a
link changes nothing: mail scanners open links, only the owner's confirmation acts.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import DomainError, NotFound
from incidents import audit
from incidents.outbox.lease import Lease
from incidents.intake import (
    IntakeResult,
    ReportInput,
    find_open_incident,
    submit_report,
)
from incidents.owner_language import owner_language
from incidents.models import Incident, Repudiation, UnfreezeRequest
from incidents.review_execution import cancel_open_requests
from incidents.reasons import DISOWNED

PURPOSE = b"lockdesk-repudiation:"


class LinkUsed(DomainError):
    """The link did its work already."""

    status, slug, title = 410, "link-used", "This link has already been used"


class LinkExpired(DomainError):
    """The link is past its expiry."""

    status, slug, title = 410, "link-expired", "This link has expired"


def repudiation_row(*, incident_id: uuid.UUID, notice: str, now: datetime, ttl: timedelta) -> dict[str, Any]:
    """A new link's row, not written yet (`write_repudiations` writes a batch of them)."""
    return {"id": uuid.uuid4(), "incident_id": incident_id, "notice": notice, "created_at": now,
            "expires_at": now + ttl}


def write_repudiations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store new links in the caller's transaction, with one statement."""
    if rows:
        session.execute(_INSERT_REPUDIATIONS, rows)


_INSERT_REPUDIATIONS = insert(Repudiation.__table__)


def link_token(repudiation_id: uuid.UUID, *, key: str) -> str:
    """`<id hex>.<signature>`: the part of the link that proves we wrote it."""
    return f"{repudiation_id.hex}.{_signature(repudiation_id.hex, key)}"


def read_token(token: str, *, key: str) -> uuid.UUID:
    """The repudiation id of a genuine token; anything else is as unknown as a missing one."""
    value, _, signature = token.partition(".")
    try:
        repudiation_id = uuid.UUID(hex=value)
    except ValueError as exc:
        raise NotFound("this link is not valid") from exc
    if not hmac.compare_digest(signature.encode(), _signature(value, key).encode()):
        raise NotFound("this link is not valid")
    return repudiation_id


def _signature(value: str, key: str) -> str:
    """HMAC-SHA256 of the id under the secret key, base64url without padding."""
    digest = hmac.new(key.encode(), PURPOSE + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class LinkState:
    """What a link would do if confirmed."""

    repudiation: Repudiation
    reference: str
    state: str


def inspect_link(session: Session, *, token: str, key: str, now: datetime | None = None) -> LinkState:
    """Look at a link without using it (`valid`, `used` or `expired`)."""
    now = now or utcnow()
    row = _load(session, read_token(token, key=key))
    incident = session.scalar(select(Incident).where(Incident.id == row.incident_id))
    state = "used" if row.used_at else "expired" if now >= row.expires_at else "valid"
    return LinkState(repudiation=row, reference=incident.reference if incident else "", state=state)


@dataclass(frozen=True)
class RepudiationResult:
    """The report filed for the owner, the freeze to dispatch, and the unfreeze requests it cancelled."""

    intake: IntakeResult
    repudiation: Repudiation
    cancelled: list[UnfreezeRequest] = field(default_factory=list)


def repudiate(session: Session, *, token: str, key: str, client_address: str | None, sla_hours: int = 24,
              now: datetime | None = None,
              claim_freeze: Lease | None = None) -> RepudiationResult:
    """Use a link once: mark it used, cancel any open unfreeze, file a report that freezes again; one commit.
    `claim_freeze` is `submit_report`'s: the caller's fast path takes the new freeze in this transaction."""
    now = now or utcnow()
    repudiation_id = read_token(token, key=key)
    claimed = session.execute(update(Repudiation).where(
        Repudiation.id == repudiation_id, Repudiation.used_at.is_(None), Repudiation.expires_at > now,
    ).values(used_at=now, used_from=(client_address or "")[:64]))
    if claimed.rowcount != 1:
        _refuse(session, repudiation_id)
    row = _load(session, repudiation_id)
    incident = session.scalar(select(Incident).where(Incident.id == row.incident_id))
    actor = f"owner-link:{row.id}"
    cancelled = _cancel_unfreeze(session, incident.account_id, actor, now)
    audit.record(session, actor=actor, action="notice.repudiated", subject_type="repudiation", subject_id=row.id,
                 incident_id=incident.id, data={"notice": row.notice}, now=now)
    report = ReportInput(account_id=incident.account_id, kind="stolen_account", client_address=client_address,
                         description=f"The owner disowned the '{row.notice}' notice of {incident.reference} "
                                     "through its one-time link.", language=owner_language(session, incident_id=incident.id))
    intake = submit_report(session, report=report, sla_hours=sla_hours, now=now, claim_freeze=claim_freeze)
    return RepudiationResult(intake=intake, repudiation=row, cancelled=cancelled)


def _load(session: Session, repudiation_id: uuid.UUID) -> Repudiation:
    """The row, read fresh."""
    row = session.get(Repudiation, repudiation_id, populate_existing=True)
    if row is None:
        raise NotFound("this link is not valid")
    return row


def _refuse(session: Session, repudiation_id: uuid.UUID) -> None:
    """Say why a link did nothing: unknown, used already, or expired."""
    row = _load(session, repudiation_id)
    session.rollback()
    if row.used_at is not None:
        raise LinkUsed("this link has already been used; the account was frozen again then")
    raise LinkExpired("this link has expired; report the problem from the report page")


def _cancel_unfreeze(session: Session, account_id: str, actor: str, now: datetime) -> list[UnfreezeRequest]:
    """An unfreeze underway for the account is cancelled: the owner says something is wrong."""
    incident = find_open_incident(session, account_id=account_id)
    if incident is None:
        return []
    return cancel_open_requests(session, incident_id=incident.id, actor=actor,
                                reason=DISOWNED, now=now)
