"""Containment of an account: the freeze and what goes with it, written to the exchange outbox."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.db import utcnow
from chain import service as chain_service
from incidents import audit
from incidents.exchange.models import AccountSnapshotRecord, IncidentWithdrawal
from incidents.exchange.port import (
    AccountSnapshot,
    Cancellation,
    Revocation,
    StateChange,
    Withdrawal,
)
from incidents.exchange.wire import format_time
from incidents.models import ExchangeCommand, Incident
from incidents.states import can_transition, opened_moved, transition, transition_row

# How the outbox records an AccountNotFound refusal (dispatch.call_exchange: "<error class>: <detail>").
ACCOUNT_UNKNOWN_ERROR = "AccountNotFound"
FREEZABLE = frozenset({"none", "freeze_failed", "unfrozen"})
# Asked for together with every freeze, so the thief loses every way back in (DESIGN §2 flow 3): one
# `contain` command revokes sessions and API keys, cancels pending withdrawals, pulls the account's
# withdrawals and its description. The single actions stay available to staff and older rows.
FOLLOW_UPS = ("contain",)
CONTAINMENT_STEPS = ("revoke_sessions", "revoke_api_keys", "cancel_pending_withdrawals", "pull_withdrawals",
                     "snapshot_account")


# What a caller may do to the new freeze command before it is written (the request fast path claims it).
BeforeWrite = Callable[[ExchangeCommand], object]


def request_freeze(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                   now: datetime | None = None, before_write: BeforeWrite | None = None) -> ExchangeCommand | None:
    """Queue a freeze and its follow-ups in the caller's transaction; None if already contained."""
    if incident.containment not in FREEZABLE:
        return None
    now = now or utcnow()
    transition(session, incident, machine="containment", to="freeze_pending", actor=actor,
               reason=reason, now=now)
    return _queue_freeze(session, incident, scope=scope, reason=reason, actor=actor, now=now,
                         before_write=before_write)


# The fields of an incident opened with its freeze already asked for (see `freeze_opened`).
OPENED_FREEZING = {"containment": "freeze_pending"}


def freeze_opened(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                  now: datetime, before_write: BeforeWrite | None = None) -> ExchangeCommand:
    """Queue the freeze of an incident inserted with OPENED_FREEZING; the same rows and events as
    `request_freeze` on a new incident, without the UPDATE that moving it would cost."""
    opened_moved(session, incident, machine="containment", to="freeze_pending", actor=actor, reason=reason, now=now)
    return _queue_freeze(session, incident, scope=scope, reason=reason, actor=actor, now=now,
                         before_write=before_write)


def _queue_freeze(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                  now: datetime, before_write: BeforeWrite | None) -> ExchangeCommand:
    """The freeze command, its follow-ups and the event saying they were queued."""
    freeze = _command(incident, "freeze", {"scope": scope, "reason": reason, "reference": incident.reference}, now)
    if before_write is not None:
        before_write(freeze)
    _write(session, [freeze] + [_command(incident, action, {"reference": incident.reference}, now)
                                for action in FOLLOW_UPS])
    audit.record(session, actor=actor, action="exchange.command.queued", subject_type="exchange_command",
                 subject_id=freeze.id, incident_id=incident.id,
                 data={"action": "freeze", "scope": scope, "follow_ups": list(FOLLOW_UPS)}, now=now)
    return freeze


def _command(incident: Incident, action: str, payload: dict, now: datetime) -> ExchangeCommand:
    """One outbox row for the incident's account, not yet written."""
    return ExchangeCommand(id=uuid.uuid4(), incident_id=incident.id, account_id=incident.account_id,
                           action=action, payload=payload, status="pending", attempts=0, next_attempt_at=now,
                           created_at=now, claim_token=None, claimed_by=None, claimed_until=None,
                           last_error=None, completed_at=None)


# Every column but `result`, which a new command leaves NULL (given as None, JSON would store `null`).
_WRITTEN = tuple(column.key for column in ExchangeCommand.__table__.columns if column.key != "result")
_INSERT_COMMANDS = insert(ExchangeCommand.__table__)


def _write(session: Session, commands: list[ExchangeCommand]) -> None:
    """Insert the rows with one Core statement, then let the session hold them as persistent objects.

    Cheaper than the unit of work's flush, which spent more CPU ordering and collecting two rows than
    the database spent writing them; the objects are what `session.add` and a flush would have left.
    """
    session.execute(_INSERT_COMMANDS, [{key: getattr(command, key) for key in _WRITTEN} for command in commands])
    for command in commands:
        make_transient_to_detached(command)
        session.add(command)
        set_committed_value(command, "result", None)


@dataclass(frozen=True)
class Effect:
    """What an exchange answer did to the case: the command's stored result and the containment after it."""

    summary: dict[str, Any]
    containment: str | None = None
    frozen_after_seconds: float | None = None


def apply_exchange_answer(session: Session, command: ExchangeCommand, incident: Incident | None, answer: Any, *,
                          now: datetime) -> Effect:
    """Let a confirmed command take effect on its incident (locked by the caller), in the caller's transaction.
    A confirmed freeze is not among them: `confirm_freeze` records it with Core statements."""
    return ANSWER_EFFECTS[command.action](session, incident, command, answer, now)


def apply_exchange_refusal(session: Session, command: ExchangeCommand, incident: Incident | None, error: str, *,
                           now: datetime) -> str | None:
    """A refused freeze shows as freeze_failed (an unfreeze falls back to frozen); returns the containment."""
    if incident is None:
        return None
    target = {"freeze": "freeze_failed", "unfreeze": "frozen"}.get(command.action)
    pending = {"freeze": "freeze_pending", "unfreeze": "unfreeze_pending"}.get(command.action)
    if target and incident.containment == pending:
        transition(session, incident, machine="containment", to=target, actor="exchange",
                   reason=f"exchange refused command {command.id}: {error}", now=now)
    if command.action == "freeze" and error.startswith(ACCOUNT_UNKNOWN_ERROR) and incident.is_open:
        # The exchange's 404 is final: no retry can freeze an account it does not have (a mistyped ID).
        transition(session, incident, machine="status", to="closed", actor="exchange",
                   reason=f"the exchange has no account {incident.account_id}", now=now)
        incident.outcome = "account_unknown"
    return incident.containment


def state_summary(answer: StateChange) -> dict[str, Any]:
    """What a freeze's or unfreeze's command keeps of the exchange's answer."""
    return {"state": answer.state, "changed_at": format_time(answer.changed_at)}


def confirm_freeze(session: Session, *, incident_id: uuid.UUID, current: str, command_id: uuid.UUID,
                   requested_at: datetime, summary: dict[str, Any], now: datetime) -> Effect:
    """The exchange froze the account of an incident the caller locked (its containment read as `current`):
    containment → frozen (once), with the latency from the request. Core statements: this is the outcome
    of every report's freeze."""
    if not can_transition("containment", current, "frozen"):
        return Effect(summary, current)
    transition_row(session, incident_id=incident_id, current=current, machine="containment", to="frozen",
                   actor="exchange", reason=f"exchange confirmed command {command_id}", now=now)
    return Effect(summary, "frozen", (now - requested_at).total_seconds())


def _confirm_unfreeze(session: Session, incident: Incident | None, command: ExchangeCommand,
                      answer: StateChange, now: datetime) -> Effect:
    """The exchange lifted the freeze: containment → unfrozen."""
    summary = state_summary(answer)
    if incident is not None and can_transition("containment", incident.containment, "unfrozen"):
        transition(session, incident, machine="containment", to="unfrozen", actor="exchange",
                   reason=f"exchange confirmed command {command.id}", now=now)
        if incident.is_open:  # the owner has the account back: the case is resolved now, not at a later sweep
            transition(session, incident, machine="status", to="resolved", actor="exchange",
                       reason=f"the account was unfrozen by command {command.id}", now=now)
            incident.outcome = "unfrozen"
    return Effect(summary, incident.containment if incident else None)


def _count_revoked(_session: Session, incident: Incident | None, _command: ExchangeCommand,
                   answer: Revocation, _now: datetime) -> Effect:
    """Sessions or API keys revoked: the count is the evidence for the unfreeze checklist."""
    return Effect({"revoked": answer.revoked}, incident.containment if incident else None)


def _note_cancelled(_session: Session, incident: Incident | None, _command: ExchangeCommand,
                    answer: Cancellation, _now: datetime) -> Effect:
    """Pending withdrawals cancelled: their ids are kept on the command."""
    return Effect({"cancelled": answer.cancelled}, incident.containment if incident else None)


def _store_withdrawals(session: Session, incident: Incident | None, command: ExchangeCommand,
                       answer: list[Withdrawal], now: datetime) -> Effect:
    """Put the account's withdrawals on the incident (each once) so their hashes can be traced."""
    if incident is None:
        return Effect({"withdrawals": len(answer)})
    known = set(session.scalars(select(IncidentWithdrawal.exchange_withdrawal_id)
                                .where(IncidentWithdrawal.incident_id == incident.id))) if answer else set()
    fresh = [item for item in answer if item.id not in known]
    session.add_all(IncidentWithdrawal(
        incident_id=incident.id, exchange_withdrawal_id=item.id, chain=item.chain, asset=item.asset,
        amount=item.amount, address=item.address, tx_hash=item.tx_hash, status=item.status,
        created_at=item.created_at, pulled_at=now) for item in fresh)
    hashes = [{"chain": item.chain, "tx_hash": item.tx_hash} for item in fresh if item.tx_hash]
    chain_service.add_trace_requests(session, transactions=[(h["chain"], h["tx_hash"]) for h in hashes],
                                     depth=chain_service.AUTO_TRACE_DEPTH, incident_id=incident.id,
                                     requested_by="exchange-withdrawals", now=now)
    if hashes:
        audit.record(session, actor="exchange", action="incident.withdrawals.pulled", subject_type="incident",
                     subject_id=incident.id, incident_id=incident.id, data={"transactions": hashes}, now=now)
    return Effect({"withdrawals": len(answer), "new": len(fresh), "tx_hashes": [h["tx_hash"] for h in hashes]},
                  incident.containment)


def _store_snapshot(session: Session, incident: Incident | None, command: ExchangeCommand,
                    answer: AccountSnapshot, now: datetime) -> Effect:
    """Keep the account as the exchange described it (secrets encrypted) for the factor trust rule."""
    if incident is None:
        return Effect({"stored": False})
    record = store_account_snapshot(session, incident_id=incident.id, answer=answer, now=now)
    return Effect({"snapshot_id": str(record.id), "state": answer.state,
                   "totp_bound_at": format_time(answer.factors.totp.bound_at),
                   "sms_bound_at": format_time(answer.factors.sms.bound_at),
                   "security_events": len(answer.security_events)}, incident.containment)


def store_account_snapshot(session: Session, *, incident_id: uuid.UUID, answer: AccountSnapshot,
                           now: datetime) -> AccountSnapshotRecord:
    """Keep one description of the account by the exchange (its secrets are encrypted by the column)."""
    record = AccountSnapshotRecord(
        id=uuid.uuid4(), incident_id=incident_id, account_id=answer.account_id, state=answer.state, email=answer.email,
        phone=answer.phone, anti_phishing_code=answer.anti_phishing_code, totp_secret=answer.factors.totp.secret,
        totp_bound_at=answer.factors.totp.bound_at, sms_bound_at=answer.factors.sms.bound_at,
        security_events=[{"kind": event.kind, "at": format_time(event.at)} for event in answer.security_events],
        taken_at=now)
    session.add(record)
    return record


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


def _apply_containment(session: Session, incident: Incident | None, command: ExchangeCommand, answer: Any,
                       now: datetime) -> Effect:
    """Every step of a `contain` command takes effect, as if each had been its own command."""
    answers = {"revoke_sessions": answer.sessions, "revoke_api_keys": answer.api_keys,
               "cancel_pending_withdrawals": answer.cancellation, "pull_withdrawals": answer.withdrawals,
               "snapshot_account": answer.snapshot}
    summary = {step: ANSWER_EFFECTS[step](session, incident, command, answers[step], now).summary
               for step in CONTAINMENT_STEPS}
    return Effect(summary, incident.containment if incident else None)


ANSWER_EFFECTS: dict[str, Callable[[Session, Incident | None, ExchangeCommand, Any, datetime], Effect]] = {
    "contain": _apply_containment,
    "unfreeze": _confirm_unfreeze,
    "revoke_sessions": _count_revoked,
    "revoke_api_keys": _count_revoked,
    "cancel_pending_withdrawals": _note_cancelled,
    "pull_withdrawals": _store_withdrawals,
    "snapshot_account": _store_snapshot,
}
