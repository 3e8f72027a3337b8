"""Containment of an account: the freeze and what goes with it, written to the exchange outbox; the account's
snapshots and withdrawals as the exchange described them."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.exchange.models import AccountSnapshotRecord, IncidentWithdrawal
from incidents.exchange.port import AccountNotFound, AccountSnapshot
from incidents.exchange.wire import format_time
from incidents.models import ExchangeCommand, Incident
from incidents.outbox.commands import command_row, write_commands
from incidents.outbox.lease import Lease, take_values
from incidents.states import opened_moved, opened_moved_row, transition

# How the outbox records an AccountNotFound refusal (outbox/calls.call_exchange and the freeze batch's item
# refusals: "<error class>: <detail>").
ACCOUNT_UNKNOWN_ERROR = AccountNotFound.__name__
FREEZABLE = frozenset({"none", "freeze_failed", "unfrozen"})
# Asked for together with every freeze, so the thief loses every way back in (DESIGN §2 flow 3): one
# `contain` command revokes sessions and API keys, cancels pending withdrawals, pulls the account's
# withdrawals and its description. The single actions stay available to staff and older rows.
FOLLOW_UPS = ("contain",)
CONTAINMENT_STEPS = ("revoke_sessions", "revoke_api_keys", "cancel_pending_withdrawals", "pull_withdrawals",
                     "snapshot_account")


def request_freeze(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                   now: datetime | None = None, lease: Lease | None = None) -> ExchangeCommand | None:
    """Queue a freeze and its follow-ups in the caller's transaction; None if already contained.

    With `lease`, the freeze is written already claimed under it (the request's fast path runs it after the
    commit; should that process die first, the lease runs out and a worker takes it over)."""
    rows = request_freeze_rows(session, incident, scope=scope, reason=reason, actor=actor, now=now or utcnow(),
                               lease=lease)
    return None if rows is None else _write(session, rows)


def request_freeze_rows(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                        now: datetime, lease: Lease | None = None) -> list[dict[str, Any]] | None:
    """`request_freeze` with the commands' rows returned (`freeze_rows`), not written: the caller writes many at
    once (`write_command_rows`); None if already contained."""
    if incident.containment not in FREEZABLE:
        return None
    transition(session, incident, machine="containment", to="freeze_pending", actor=actor,
               reason=reason, now=now)
    return freeze_rows(session, incident_id=incident.id, account_id=incident.account_id, reference=incident.reference,
                       scope=scope, reason=reason, actor=actor, now=now, lease=lease)


# The fields of an incident opened with its freeze already asked for (see `freeze_opened`).
OPENED_FREEZING = {"containment": "freeze_pending"}


def freeze_opened(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                  now: datetime, lease: Lease | None = None) -> ExchangeCommand:
    """Queue the freeze of an incident inserted with OPENED_FREEZING; the same rows and events as
    `request_freeze` on a new incident, without the UPDATE that moving it would cost."""
    commands = freeze_opened_commands(session, incident, scope=scope, reason=reason, actor=actor, now=now,
                                      lease=lease)
    write_commands(session, commands)
    return commands[0]


def freeze_opened_commands(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                           now: datetime, lease: Lease | None = None) -> list[ExchangeCommand]:
    """`freeze_opened` with its commands (the freeze first) returned as entities not yet written: the caller
    writes them (`write_commands`, or with other rows through `app.together`, then `adopt_commands`)."""
    opened_moved(session, incident, machine="containment", to="freeze_pending", actor=actor, reason=reason, now=now)
    return [ExchangeCommand(**row) for row in freeze_rows(
        session, incident_id=incident.id, account_id=incident.account_id, reference=incident.reference, scope=scope,
        reason=reason, actor=actor, now=now, lease=lease)]


def _write(session: Session, rows: list[dict[str, Any]]) -> ExchangeCommand:
    """Write a freeze's commands (`freeze_rows`), held by the session as entities; the freeze."""
    commands = [ExchangeCommand(**row) for row in rows]
    write_commands(session, commands)
    return commands[0]


def freeze_rows(session: Session, *, incident_id: uuid.UUID, account_id: str, reference: str, scope: str,
                reason: str, actor: str, now: datetime, lease: Lease | None = None) -> list[dict[str, Any]]:
    """The rows of a freeze (first; already claimed under `lease` if given) and its follow-ups, not written, and
    the event saying they were queued: every freeze's commands, built here (a wave's are written as rows by
    `write_command_rows`, without an entity each)."""
    freeze = command_row(incident_id=incident_id, account_id=account_id, action="freeze",
                         payload={"scope": scope, "reason": reason, "reference": reference}, now=now)
    if lease is not None:
        freeze = take_values(freeze, model=ExchangeCommand, lease=lease, now=now)
    rows = [freeze] + [command_row(incident_id=incident_id, account_id=account_id, action=action,
                                   payload={"reference": reference}, now=now) for action in FOLLOW_UPS]
    audit.record(session, actor=actor, action="exchange.command.queued", subject_type="exchange_command",
                 subject_id=freeze["id"], incident_id=incident_id,
                 data={"action": "freeze", "scope": scope, "follow_ups": list(FOLLOW_UPS)}, now=now)
    return rows


def freeze_opened_rows(session: Session, *, incident_id: uuid.UUID, account_id: str, reference: str, scope: str,
                       reason: str, actor: str, now: datetime, lease: Lease | None = None) -> list[dict[str, Any]]:
    """`freeze_opened` for an incident inserted with OPENED_FREEZING by a Core statement (no entity loaded): the
    same events, the commands as `freeze_rows` gives them."""
    opened_moved_row(session, incident_id, machine="containment", to="freeze_pending", actor=actor, reason=reason,
                     now=now)
    return freeze_rows(session, incident_id=incident_id, account_id=account_id, reference=reference, scope=scope,
                       reason=reason, actor=actor, now=now, lease=lease)


def store_account_snapshot(session: Session, *, incident_id: uuid.UUID, answer: AccountSnapshot,
                           now: datetime) -> AccountSnapshotRecord:
    """Keep one description of the account by the exchange (its secrets are encrypted by the column)."""
    record = AccountSnapshotRecord(**account_snapshot_values(incident_id=incident_id, answer=answer, now=now))
    session.add(record)
    return record


def account_snapshot_values(*, incident_id: uuid.UUID, answer: AccountSnapshot, now: datetime) -> dict[str, Any]:
    """The columns of one stored description of the account (a Core INSERT of them encrypts the secrets too)."""
    return {"id": uuid.uuid4(), "incident_id": incident_id, "account_id": answer.account_id, "state": answer.state,
            "email": answer.email, "phone": answer.phone, "anti_phishing_code": answer.anti_phishing_code,
            "totp_secret": answer.factors.totp.secret, "totp_bound_at": answer.factors.totp.bound_at,
            "sms_bound_at": answer.factors.sms.bound_at, "taken_at": now,
            "security_events": [{"kind": event.kind, "at": format_time(event.at)} for event in answer.security_events]}


def latest_account_snapshot(session: Session, *, incident_id) -> AccountSnapshotRecord | None:
    """The newest account snapshot taken for an incident (factor bind times, security events)."""
    query = (select(AccountSnapshotRecord).where(AccountSnapshotRecord.incident_id == incident_id)
             .order_by(AccountSnapshotRecord.taken_at.desc()).limit(1))
    return session.scalar(query)


def latest_account_snapshots(session: Session, *,
                             incident_ids: set[uuid.UUID]) -> dict[uuid.UUID, AccountSnapshotRecord]:
    """The newest account snapshot of each of these incidents that has one, in one query (a batch of
    messages; it reads, and decrypts, every snapshot of those incidents, which are few)."""
    query = (select(AccountSnapshotRecord).where(AccountSnapshotRecord.incident_id.in_(incident_ids))
             .order_by(AccountSnapshotRecord.taken_at.desc()))
    newest: dict[uuid.UUID, AccountSnapshotRecord] = {}
    for record in session.scalars(query):
        newest.setdefault(record.incident_id, record)
    return newest


def pulled_withdrawals(session: Session, *, incident_id) -> list[IncidentWithdrawal]:
    """The withdrawals pulled from the exchange onto an incident, oldest first."""
    query = (select(IncidentWithdrawal).where(IncidentWithdrawal.incident_id == incident_id)
             .order_by(IncidentWithdrawal.created_at))
    return list(session.scalars(query))


