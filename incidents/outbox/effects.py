"""What an exchange answer does to the case: a confirmed command takes effect, a refusal shows on the case."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from chain import service as chain_service
from incidents import audit
from incidents.containment import ACCOUNT_UNKNOWN_ERROR, CONTAINMENT_STEPS, account_snapshot_values
from incidents.exchange.models import AccountSnapshotRecord, IncidentWithdrawal
from incidents.exchange.port import AccountSnapshot, Cancellation, Revocation, StateChange, Withdrawal
from incidents.exchange.wire import format_time
from incidents.models import ExchangeCommand, Incident
from incidents.states import can_transition, transition


class Case(Protocol):
    """What the containment steps read of a command's incident: an Incident, or the row a Core recorder locked."""

    id: uuid.UUID
    containment: str


@dataclass(frozen=True)
class Effect:
    """What an exchange answer did to the case: the command's stored result and the containment after it."""

    summary: dict[str, Any]
    containment: str | None = None
    frozen_after_seconds: float | None = None


def apply_exchange_answer(session: Session, command: ExchangeCommand, incident: Incident | None, answer: Any, *,
                          now: datetime) -> Effect:
    """Let a confirmed command take effect on its incident (locked by the caller), in the caller's transaction.
    A confirmed freeze is not among them: `freeze_records.record_confirmed_freezes` records it with Core
    statements."""
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


def _count_revoked(_session: Session, incident: Case | None, _command: ExchangeCommand | None,
                   answer: Revocation, _now: datetime) -> Effect:
    """Sessions or API keys revoked: the count is the evidence for the unfreeze checklist."""
    return Effect({"revoked": answer.revoked}, incident.containment if incident else None)


def _note_cancelled(_session: Session, incident: Case | None, _command: ExchangeCommand | None,
                    answer: Cancellation, _now: datetime) -> Effect:
    """Pending withdrawals cancelled: their ids are kept on the command."""
    return Effect({"cancelled": answer.cancelled}, incident.containment if incident else None)


def _store_withdrawals(session: Session, incident: Case | None, _command: ExchangeCommand | None,
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


def _store_snapshot(session: Session, incident: Case | None, _command: ExchangeCommand | None,
                    answer: AccountSnapshot, now: datetime) -> Effect:
    """Keep the account as the exchange described it (secrets encrypted) for the factor trust rule: one Core
    INSERT, no entity to flush."""
    if incident is None:
        return Effect({"stored": False})
    values = account_snapshot_values(incident_id=incident.id, answer=answer, now=now)
    session.execute(_INSERT_SNAPSHOT, values)
    return Effect({"snapshot_id": str(values["id"]), "state": answer.state,
                   "totp_bound_at": format_time(answer.factors.totp.bound_at),
                   "sms_bound_at": format_time(answer.factors.sms.bound_at),
                   "security_events": len(answer.security_events)}, incident.containment)


_INSERT_SNAPSHOT = insert(AccountSnapshotRecord.__table__)


def apply_containment(session: Session, incident: Case | None, answer: Any, *, now: datetime) -> Effect:
    """Every step of a confirmed `contain` command takes effect on its incident (locked by the caller), as if each
    had been its own command, in the caller's transaction."""
    return _apply_containment(session, incident, None, answer, now)


def _apply_containment(session: Session, incident: Case | None, command: ExchangeCommand | None, answer: Any,
                       now: datetime) -> Effect:
    """Every step of a `contain` command takes effect, as if each had been its own command."""
    answers = {"revoke_sessions": answer.sessions, "revoke_api_keys": answer.api_keys,
               "cancel_pending_withdrawals": answer.cancellation, "pull_withdrawals": answer.withdrawals,
               "snapshot_account": answer.snapshot}
    summary = {step: ANSWER_EFFECTS[step](session, incident, command, answers[step], now).summary
               for step in CONTAINMENT_STEPS}
    return Effect(summary, incident.containment if incident else None)


ANSWER_EFFECTS: dict[str, Callable[[Session, Any, ExchangeCommand | None, Any, datetime], Effect]] = {
    "contain": _apply_containment,
    "unfreeze": _confirm_unfreeze,
    "revoke_sessions": _count_revoked,
    "revoke_api_keys": _count_revoked,
    "cancel_pending_withdrawals": _note_cancelled,
    "pull_withdrawals": _store_withdrawals,
    "snapshot_account": _store_snapshot,
}
