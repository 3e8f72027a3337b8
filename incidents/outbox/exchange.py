"""Exchange commands through the outbox: claim due commands, send them, record each outcome.

Claiming and recording use the shared lease engine; the exchange is called with no transaction
open, and deduplicates by the command id, so a retried or re-claimed command never acts twice.
The three steps are separate so a batch of claims can be sent as one call (see `calls.BATCH_CALLS`).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from app.together import write_together
from incidents import audit
from incidents.exchange.port import ExchangePort
from incidents.models import ExchangeCommand, Incident
from incidents.outbox import effects, lease
from incidents.outbox.calls import CallResult, Claim, send
from incidents.outbox.freeze_records import FINISH_DONE, audit_outcome, expire_held, record_confirmed_freezes
from incidents.outbox.lease import DispatchPolicy, Lease


@dataclass(frozen=True)
class Outcome:
    """What was recorded for a command (`stale` when the claim had been lost meanwhile)."""

    command_id: uuid.UUID
    action: str
    outcome: Literal["done", "retry", "failed", "stale"]
    containment: str | None = None
    next_attempt_at: datetime | None = None
    frozen_after_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def claim_due(session: Session, *, worker: str, policy: DispatchPolicy, limit: int | None = None,
              now: datetime | None = None) -> list[Claim]:
    """Claim due commands, freezes first; one commit.

    Up to `policy.freeze_batch_size` due freezes (oldest due first) are taken before anything else; the
    other commands (containment steps, pulls, unfreezes), up to `limit`, only when the freezes in flight (these
    and those other processes are sending, a batch webhook's included) fit in one freeze batch, so a wave's
    follow-ups never hold back its freezes."""
    now, held = now or utcnow(), Lease(worker, policy)
    freezes = lease.claim_due(session, ExchangeCommand, lease=held, now=now, limit=policy.freeze_batch_size,
                              only=ExchangeCommand.action == "freeze")
    busy = len(freezes) >= policy.freeze_batch_size or _freezes_in_flight(
        session, now, policy.freeze_batch_size) >= policy.freeze_batch_size
    others = [] if busy else lease.claim_due(
        session, ExchangeCommand, lease=held, now=now, limit=limit or policy.batch_size,
        only=ExchangeCommand.action != "freeze")
    claims = [Claim.of(row) for row in freezes + others]
    session.commit()
    return claims


def _freezes_in_flight(session: Session, now: datetime, cap: int) -> int:
    """How many freezes are in flight under a live lease (these just taken included), counted up to `cap`."""
    held = (select(ExchangeCommand.id).where(ExchangeCommand.action == "freeze", ExchangeCommand.status == "in_flight",
                                             ExchangeCommand.claimed_until >= now).limit(cap).subquery())
    return session.scalar(select(func.count()).select_from(held))


# The columns `Claim.of` reads, returned by the claiming UPDATE.
_RETURNED = (ExchangeCommand.id, ExchangeCommand.claim_token, ExchangeCommand.action, ExchangeCommand.account_id,
             ExchangeCommand.incident_id, ExchangeCommand.payload, ExchangeCommand.attempts,
             ExchangeCommand.created_at, ExchangeCommand.claimed_until)


def claim_command(session: Session, *, command_id: uuid.UUID, worker: str, policy: DispatchPolicy,
                  now: datetime | None = None) -> Claim | None:
    """Claim one pending command now, due or not (the request fast path); None if someone holds it."""
    row = lease.claim_pending(session, ExchangeCommand, command_id, lease=Lease(worker, policy),
                              now=now or utcnow(), returning=_RETURNED)
    session.commit()
    return None if row is None else Claim.of(row)


def record_outcome(session: Session, *, claim: Claim, result: CallResult, policy: DispatchPolicy,
                   now: datetime | None = None, rand: Callable[[], float] = random.random) -> Outcome:
    """The record step: write the command's outcome, its effect on the case and its audit event, only while the
    claim still holds; one commit."""
    now = now or utcnow()
    recorder = RECORDERS.get((claim.action, result.verdict)) or RECORDERS[("*", result.verdict)]
    return recorder(session, claim, result, policy, now, rand)


def execute(sessions: sessionmaker[Session], exchange: ExchangePort, claims: list[Claim], *,
            policy: DispatchPolicy, clock: Callable[[], datetime] = utcnow) -> list[Outcome]:
    """Send a batch of claims (no transaction open), then record the outcomes: the freezes a batch confirmed
    together in one transaction (`freeze_records`), every other outcome in a transaction of its own."""
    pairs = list(zip(claims, send(exchange, claims, policy=policy), strict=True))
    confirmed = [(claim, result) for claim, result in pairs
                 if claim.action == "freeze" and result.verdict == "done"]
    outcomes: dict[uuid.UUID, Outcome] = {}
    if len(confirmed) > 1:
        with sessions() as session:
            recorded = record_confirmed_freezes(session, confirmed, now=clock())
        outcomes = {command_id: Outcome(command_id=command_id, action="freeze", outcome=outcome,  # type: ignore[arg-type]
                                        containment=containment, frozen_after_seconds=seconds)
                    for command_id, (outcome, containment, seconds) in recorded.items()}
    for claim, result in pairs:
        if claim.command_id not in outcomes:
            with sessions() as session:
                outcomes[claim.command_id] = record_outcome(session, claim=claim, result=result, policy=policy,
                                                            now=clock())
    return [outcomes[claim.command_id] for claim in claims]


def _stale(session: Session, claim: Claim) -> Outcome:
    """The claim was lost meanwhile (a lease ran out and someone else took the command): nothing is written."""
    session.rollback()
    return Outcome(command_id=claim.command_id, action=claim.action, outcome="stale")


def _lock_command_and_incident(session: Session, claim: Claim) -> tuple[ExchangeCommand | None, Incident | None]:
    """The claimed command and its incident, both locked for the outcome's transaction, in one statement."""
    if claim.incident_id is None:
        return session.get(ExchangeCommand, claim.command_id, with_for_update=True), None
    row = session.execute(_COMMAND_WITH_INCIDENT, {"command_id": claim.command_id}).first()
    return (row.ExchangeCommand, row.Incident) if row is not None else (None, None)


_COMMAND_WITH_INCIDENT = (select(ExchangeCommand, Incident).join(Incident, Incident.id == ExchangeCommand.incident_id)
                          .where(ExchangeCommand.id == bindparam("command_id")).with_for_update())


def _record_held(write: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Lock the command and its incident, write the outcome if the claim still holds, commit."""
    def record(session: Session, claim: Claim, result: CallResult, policy: DispatchPolicy, now: datetime,
               rand: Callable[[], float]) -> Outcome:
        command, incident = _lock_command_and_incident(session, claim)
        if command is None or not lease.holds(command.status, command.claim_token, claim.token):
            return _stale(session, claim)
        outcome = write(session, claim, command, incident, result, policy, now, rand)
        session.commit()
        return outcome
    record.__doc__ = write.__doc__
    return record


@_record_held
def _record_done(session: Session, claim: Claim, command: ExchangeCommand, incident: Incident | None,
                 result: CallResult, _policy: DispatchPolicy, now: datetime, _rand) -> Outcome:
    """Success: the command is done and its answer takes effect on the case."""
    effect = effects.apply_exchange_answer(session, command, incident, result.answer, now=now)
    lease.finish(command, "done", completed_at=now, last_error=None, result=effect.summary)
    audit_outcome(session, claim, "exchange.command.done", {"result": effect.summary}, now)
    _settle_unfreeze(session, command, incident, now)
    return Outcome(command_id=command.id, action=command.action, outcome="done", containment=effect.containment,
                   frozen_after_seconds=effect.frozen_after_seconds)


@_record_held
def _record_retry(session: Session, claim: Claim, command: ExchangeCommand, _incident: Incident | None,
                  result: CallResult, policy: DispatchPolicy, now: datetime, rand) -> Outcome:
    """A passing failure: try again after a backoff, with the same idempotency key."""
    delay = lease.backoff_delay(command.attempts, policy=policy, retry_after=result.retry_after, rand=rand)
    lease.finish(command, "pending", last_error=result.error, next_attempt_at=now + timedelta(seconds=delay))
    audit_outcome(session, claim, "exchange.command.retry_scheduled",
                  {"error": result.error, "retry_in_seconds": round(delay, 3)}, now)
    return Outcome(command_id=command.id, action=command.action, outcome="retry",
                   next_attempt_at=command.next_attempt_at)


@_record_held
def _record_failed(session: Session, claim: Claim, command: ExchangeCommand, incident: Incident | None,
                   result: CallResult, _policy: DispatchPolicy, now: datetime, _rand) -> Outcome:
    """A refusal: the command failed for good and staff see it on the case."""
    state = effects.apply_exchange_refusal(session, command, incident, result.error or "refused", now=now)
    lease.finish(command, "failed", completed_at=now, last_error=result.error)
    audit_outcome(session, claim, "exchange.command.failed", {"error": result.error}, now)
    _settle_unfreeze(session, command, incident, now)
    return Outcome(command_id=command.id, action=command.action, outcome="failed", containment=state)


def _settle_unfreeze(session: Session, command: ExchangeCommand, incident: Incident | None, now: datetime) -> None:
    """An unfreeze's request is settled with its command's outcome, in the same transaction."""
    if command.action == "unfreeze":
        from incidents.review_execution import settle_command  # the review builds on the outbox, not back

        settle_command(session, command, incident, now)


def _record_freeze_confirmed(session: Session, claim: Claim, result: CallResult, _policy: DispatchPolicy,
                             now: datetime, _rand) -> Outcome:
    """A confirmed freeze, the outcome of every report: `record_confirmed_freezes` for this one claim."""
    outcome, containment, seconds = record_confirmed_freezes(session, [(claim, result)], now=now)[claim.command_id]
    return Outcome(command_id=claim.command_id, action=claim.action, outcome=outcome,  # type: ignore[arg-type]
                   containment=containment, frozen_after_seconds=seconds)


def _record_contained(session: Session, claim: Claim, result: CallResult, _policy: DispatchPolicy, now: datetime,
                      _rand) -> Outcome:
    """A confirmed `contain`, the follow-up of every freeze, in Core statements: the command and its incident's
    containment locked in one read, the steps' rows, the command done and its event; no entity is loaded (a
    command without an incident, which nothing writes today, goes through the entities)."""
    if claim.incident_id is None:
        return _record_done(session, claim, result, _policy, now, _rand)
    row = session.execute(_LOCK_CONTAINED, {"command_id": claim.command_id}).first()
    if row is None or not lease.holds(row.status, row.claim_token, claim.token):
        return _stale(session, claim)
    case = LockedCase(claim.incident_id, row.containment)
    effect = effects.apply_containment(session, case, result.answer, now=now)
    audit_outcome(session, claim, "exchange.command.done", {"result": effect.summary}, now)
    # The command's done move with the events (the steps' and its own): one statement on PostgreSQL.
    write_together(session.connection(), [(FINISH_DONE, {"command_id": claim.command_id, "done_at": now,
                                                         "answer": effect.summary})], [audit.take_pending(session)])
    session.commit()
    expire_held(session, [claim])
    return Outcome(command_id=claim.command_id, action=claim.action, outcome="done", containment=effect.containment)


_COMMANDS, _INCIDENTS = ExchangeCommand.__table__, Incident.__table__
_LOCK_CONTAINED = (select(_COMMANDS.c.status, _COMMANDS.c.claim_token, _INCIDENTS.c.containment)
                   .join_from(_COMMANDS, _INCIDENTS, _INCIDENTS.c.id == _COMMANDS.c.incident_id)
                   .where(_COMMANDS.c.id == bindparam("command_id")).with_for_update())


@dataclass(frozen=True)
class LockedCase:
    """The incident of a command a Core recorder locked, as the containment steps read it."""

    id: uuid.UUID
    containment: str


# (action, verdict) → how the outcome is recorded; "*" for any action. A confirmed freeze, the outcome of every
# report, is written by the one recorder of confirmed freezes, and its confirmed `contain` follow-up by
# `_record_contained` (Core statements); every other outcome through the locked entities.
RECORDERS: dict[tuple[str, str], Callable[..., Outcome]] = {
    ("freeze", "done"): _record_freeze_confirmed,
    ("contain", "done"): _record_contained,
    ("*", "done"): _record_done,
    ("*", "retry"): _record_retry,
    ("*", "failed"): _record_failed,
}
