"""The exchange outbox: claim due commands, call the exchange outside any transaction, record the outcome.

A command is claimed by an UPDATE that sets a lease (`claimed_until`) and a fresh claim token in one
short transaction (rows locked `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's immediate
transactions serialise). The exchange is called with no transaction open. The outcome is written in
one transaction, and only if the claim token still matches: a worker that lost its lease (it was slow
or died) cannot record over the one that took the command over. The exchange deduplicates by the
command id, so a retried or re-claimed command never acts twice.
"""
from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, bindparam, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from incidents import audit, containment
from incidents.exchange.port import ExchangeError, ExchangePort
from incidents.exchange.wire import parse_time
from incidents.models import ExchangeCommand, Incident

log = logging.getLogger("lockdesk.dispatch")

Verdict = Literal["done", "retry", "failed"]
DISPATCHER = "exchange-dispatcher"  # the actor of the outbox's audit events


@dataclass(frozen=True)
class DispatchPolicy:
    """How long a claim lasts, how retries back off, how much one claim takes."""

    lease_seconds: float = 60.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 300.0
    batch_size: int = 50
    withdrawal_lookback_days: int = 30


@dataclass(frozen=True)
class Claim:
    """A command this worker holds until `claimed_until`; only the holder of `token` may record its outcome."""

    command_id: uuid.UUID
    token: str
    action: str
    account_id: str
    incident_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    claimed_until: datetime

    @property
    def idempotency_key(self) -> str:
        """The key the exchange deduplicates on: the command id, the same on every attempt."""
        return str(self.command_id)


@dataclass(frozen=True)
class CallResult:
    """What the exchange said: done with an answer, retry later, or refused for good."""

    verdict: Verdict
    answer: Any = None
    error: str | None = None
    retry_after: float | None = None


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


def backoff_delay(attempts: int, *, policy: DispatchPolicy, retry_after: float | None = None,
                  rand: Callable[[], float] = random.random) -> float:
    """Capped exponential backoff with jitter (half fixed, half random); never sooner than Retry-After."""
    ceiling = min(policy.backoff_cap_seconds, policy.backoff_base_seconds * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + rand() * ceiling / 2
    return max(delay, min(retry_after or 0.0, policy.backoff_cap_seconds))


def _due(now: datetime):
    """Pending and due, or claimed by someone whose lease ran out."""
    return or_(and_(ExchangeCommand.status == "pending", ExchangeCommand.next_attempt_at <= now),
               and_(ExchangeCommand.status == "in_flight", ExchangeCommand.claimed_until < now))


def claim_due(session: Session, *, worker: str, policy: DispatchPolicy, limit: int | None = None,
              now: datetime | None = None) -> list[Claim]:
    """Claim up to `limit` due commands, oldest due first; one commit."""
    now = now or utcnow()
    query = (select(ExchangeCommand).where(_due(now))
             .order_by(ExchangeCommand.next_attempt_at, ExchangeCommand.created_at)
             .limit(limit or policy.batch_size).with_for_update(skip_locked=True))
    claims = [_take(command, worker, policy, now) for command in session.scalars(query)]
    session.commit()
    return claims


def claim_command(session: Session, *, command_id: uuid.UUID, worker: str, policy: DispatchPolicy,
                  now: datetime | None = None) -> Claim | None:
    """Claim one pending command now, due or not (the request fast path); None if someone holds it.

    One conditional UPDATE … RETURNING: the row lock it takes settles a race with a worker, and the
    hot path saves the separate read.
    """
    now = now or utcnow()
    token, lease = uuid.uuid4().hex, now + timedelta(seconds=policy.lease_seconds)
    taken = session.execute(
        update(ExchangeCommand)
        .where(ExchangeCommand.id == command_id, ExchangeCommand.status == "pending")
        .values(status="in_flight", attempts=ExchangeCommand.attempts + 1, claim_token=token,
                claimed_by=worker[:100], claimed_until=lease)
        .returning(ExchangeCommand.action, ExchangeCommand.account_id, ExchangeCommand.incident_id,
                   ExchangeCommand.payload, ExchangeCommand.attempts, ExchangeCommand.created_at)
        .execution_options(synchronize_session=False)).first()
    session.commit()
    if taken is None:
        return None
    return Claim(command_id=command_id, token=token, action=taken.action, account_id=taken.account_id,
                 incident_id=taken.incident_id, payload=dict(taken.payload), attempts=taken.attempts,
                 created_at=taken.created_at, claimed_until=lease)


def claim_new(command: ExchangeCommand, *, worker: str, policy: DispatchPolicy,
              now: datetime | None = None) -> Claim:
    """Claim a command in the transaction that creates it (the request fast path).

    Nobody else sees the row before that transaction commits, so no lock is needed and no
    transaction of its own: the claim becomes visible with the command. Should this process die
    before recording an outcome, the lease runs out and a worker takes the command over.
    """
    return _take(command, worker, policy, now or utcnow())


def _take(command: ExchangeCommand, worker: str, policy: DispatchPolicy, now: datetime) -> Claim:
    """Mark a locked row in flight under a fresh token and lease."""
    command.status = "in_flight"
    command.attempts += 1
    command.claim_token = uuid.uuid4().hex
    command.claimed_by = worker[:100]
    command.claimed_until = now + timedelta(seconds=policy.lease_seconds)
    return Claim(command_id=command.id, token=command.claim_token, action=command.action,
                 account_id=command.account_id, incident_id=command.incident_id, payload=dict(command.payload),
                 attempts=command.attempts, created_at=command.created_at, claimed_until=command.claimed_until)


def call_exchange(exchange: ExchangePort, claim: Claim, *, policy: DispatchPolicy) -> CallResult:
    """Ask the exchange to carry out the claimed command; never raises."""
    call = CALLS.get(claim.action)
    if call is None:
        return CallResult("failed", error=f"unknown action {claim.action}")
    try:
        return CallResult("done", answer=call(exchange, claim, policy))
    except ExchangeError as error:
        verdict: Verdict = "retry" if error.is_retryable else "failed"
        return CallResult(verdict, error=f"{type(error).__name__}: {error.detail}",
                          retry_after=getattr(error, "retry_after", None))
    except Exception as error:  # an unforeseen answer must not lose the command: retry it later
        log.exception("exchange call for command %s failed unexpectedly", claim.command_id)
        return CallResult("retry", error=f"{type(error).__name__}: {error}")


def record_outcome(session: Session, *, claim: Claim, result: CallResult, policy: DispatchPolicy,
                   now: datetime | None = None, rand: Callable[[], float] = random.random) -> Outcome:
    """Write the command's outcome, its effect on the case and its audit event; one commit."""
    now = now or utcnow()
    if claim.action == "freeze" and result.verdict == "done":
        return _record_freeze_confirmed(session, claim, result, now)
    command, incident = _lock_command_and_incident(session, claim)
    if command is None or command.status != "in_flight" or command.claim_token != claim.token:
        session.rollback()
        return Outcome(command_id=claim.command_id, action=claim.action, outcome="stale")
    outcome = RECORDERS[result.verdict](session, claim, command, incident, result, policy, now, rand)
    command.claim_token, command.claimed_until = None, None
    session.commit()
    return outcome


def _lock_command_and_incident(session: Session, claim: Claim) -> tuple[ExchangeCommand | None, Incident | None]:
    """The claimed command and its incident, both locked for the outcome's transaction, in one statement."""
    if claim.incident_id is None:
        return session.get(ExchangeCommand, claim.command_id, with_for_update=True), None
    row = session.execute(_COMMAND_WITH_INCIDENT, {"command_id": claim.command_id}).first()
    return (row.ExchangeCommand, row.Incident) if row is not None else (None, None)


_COMMAND_WITH_INCIDENT = (select(ExchangeCommand, Incident).join(Incident, Incident.id == ExchangeCommand.incident_id)
                          .where(ExchangeCommand.id == bindparam("command_id")).with_for_update())


def _record_freeze_confirmed(session: Session, claim: Claim, result: CallResult, now: datetime) -> Outcome:
    """The outcome of a confirmed freeze, which follows every report, in Core statements: one locking read of
    the columns it needs, an UPDATE of the command and of its incident, one INSERT of both audit events.
    Loading both entities and flushing them was about a quarter of the web worker's CPU per report."""
    row = session.execute(_LOCK_FREEZE[claim.incident_id is not None], {"command_id": claim.command_id}).first()
    if row is None or row.status != "in_flight" or row.claim_token != claim.token:
        session.rollback()
        return Outcome(command_id=claim.command_id, action=claim.action, outcome="stale")
    summary = containment.state_summary(result.answer)
    # Both UPDATEs before the first event is recorded: the events then go out as one INSERT at the commit.
    session.execute(_FINISH_DONE, {"command_id": claim.command_id, "done_at": now, "answer": summary})
    effect = containment.Effect(summary)
    if claim.incident_id is not None:
        effect = containment.confirm_freeze(session, incident_id=claim.incident_id, current=row.containment,
                                            command_id=claim.command_id, requested_at=claim.created_at,
                                            summary=summary, now=now)
    _audit(session, claim, "exchange.command.done", {"result": summary}, now)
    session.commit()
    for entity, key in ((ExchangeCommand, claim.command_id), (Incident, claim.incident_id)):
        held = session.identity_map.get(session.identity_key(entity, key)) if key is not None else None
        if held is not None:  # a caller's session that holds either row reads the committed one next time
            session.expire(held)
    return Outcome(command_id=claim.command_id, action=claim.action, outcome="done", containment=effect.containment,
                   frozen_after_seconds=effect.frozen_after_seconds)


_COMMANDS, _INCIDENTS = ExchangeCommand.__table__, Incident.__table__
# The command and its incident, both locked (the incident's containment is read, then moved); a command with
# no incident (none is written so today, the column allows it) locks only itself.
_LOCK_FREEZE = {
    True: (select(_COMMANDS.c.status, _COMMANDS.c.claim_token, _INCIDENTS.c.containment)
           .join_from(_COMMANDS, _INCIDENTS, _INCIDENTS.c.id == _COMMANDS.c.incident_id)
           .where(_COMMANDS.c.id == bindparam("command_id")).with_for_update()),
    False: (select(_COMMANDS.c.status, _COMMANDS.c.claim_token, null().label("containment"))
            .where(_COMMANDS.c.id == bindparam("command_id")).with_for_update()),
}
_FINISH_DONE = (update(_COMMANDS).where(_COMMANDS.c.id == bindparam("command_id"))
                .values(status="done", completed_at=bindparam("done_at"), result=bindparam("answer"),
                        last_error=None, claim_token=None, claimed_until=None))


def execute(sessions: sessionmaker[Session], exchange: ExchangePort, claim: Claim, *, policy: DispatchPolicy,
            clock: Callable[[], datetime] = utcnow) -> Outcome:
    """Call the exchange for a claim (no transaction open), then record the outcome in a new one."""
    result = call_exchange(exchange, claim, policy=policy)
    with sessions() as session:
        return record_outcome(session, claim=claim, result=result, policy=policy, now=clock())


def _record_done(session: Session, claim: Claim, command: ExchangeCommand, incident: Incident | None,
                 result: CallResult, policy: DispatchPolicy, now: datetime, _rand) -> Outcome:
    """Success: the command is done and its answer takes effect on the case."""
    effect = containment.apply_exchange_answer(session, command, incident, result.answer, now=now)
    command.status, command.completed_at, command.last_error = "done", now, None
    command.result = effect.summary
    _audit(session, claim, "exchange.command.done", {"result": effect.summary}, now)
    return Outcome(command_id=command.id, action=command.action, outcome="done", containment=effect.containment,
                   frozen_after_seconds=effect.frozen_after_seconds)


def _record_retry(session: Session, claim: Claim, command: ExchangeCommand, _incident: Incident | None,
                  result: CallResult, policy: DispatchPolicy, now: datetime, rand) -> Outcome:
    """A passing failure: try again after a backoff, with the same idempotency key."""
    delay = backoff_delay(command.attempts, policy=policy, retry_after=result.retry_after, rand=rand)
    command.status, command.last_error = "pending", result.error
    command.next_attempt_at = now + timedelta(seconds=delay)
    _audit(session, claim, "exchange.command.retry_scheduled",
           {"error": result.error, "retry_in_seconds": round(delay, 3)}, now)
    return Outcome(command_id=command.id, action=command.action, outcome="retry",
                   next_attempt_at=command.next_attempt_at)


def _record_failed(session: Session, claim: Claim, command: ExchangeCommand, incident: Incident | None,
                   result: CallResult, policy: DispatchPolicy, now: datetime, _rand) -> Outcome:
    """A refusal: the command failed for good and staff see it on the case."""
    state = containment.apply_exchange_refusal(session, command, incident, result.error or "refused", now=now)
    command.status, command.completed_at, command.last_error = "failed", now, result.error
    _audit(session, claim, "exchange.command.failed", {"error": result.error}, now)
    return Outcome(command_id=command.id, action=command.action, outcome="failed", containment=state)


def _audit(session: Session, claim: Claim, action: str, data: dict[str, Any], now: datetime) -> None:
    """One audit event per outcome of a claimed command (its attempt is the claim's: only a claim counts one)."""
    audit.record(session, actor=DISPATCHER, action=action, subject_type="exchange_command",
                 subject_id=claim.command_id, incident_id=claim.incident_id,
                 data={"action": claim.action, "attempt": claim.attempts, **data}, now=now)


def _pull_since(claim: Claim, policy: DispatchPolicy) -> datetime:
    """Where the withdrawal pull starts: the payload's `since`, else a look-back before the command."""
    given = parse_time(claim.payload.get("since"))
    return given or claim.created_at - timedelta(days=policy.withdrawal_lookback_days)


@dataclass(frozen=True)
class ContainmentAnswer:
    """The exchange's answers to the steps that follow a freeze, asked for as one command."""

    sessions: Any
    api_keys: Any
    cancellation: Any
    withdrawals: Any
    snapshot: Any


def _contain(exchange: ExchangePort, claim: Claim, policy: DispatchPolicy) -> ContainmentAnswer:
    """Revoke sessions and API keys, cancel pending withdrawals, pull withdrawals, describe the account.

    One outbox row instead of five: each write carries its own key derived from the command id, so a
    retry after a partial failure replays the steps that already happened instead of repeating them.
    """
    key = claim.idempotency_key
    return ContainmentAnswer(
        sessions=exchange.revoke_sessions(claim.account_id, idempotency_key=f"{key}:sessions"),
        api_keys=exchange.revoke_api_keys(claim.account_id, idempotency_key=f"{key}:api-keys"),
        cancellation=exchange.cancel_pending_withdrawals(claim.account_id, idempotency_key=f"{key}:withdrawals"),
        withdrawals=exchange.list_withdrawals(claim.account_id, since=_pull_since(claim, policy)),
        snapshot=exchange.get_account(claim.account_id))


CALLS: dict[str, Callable[[ExchangePort, Claim, DispatchPolicy], Any]] = {
    "contain": _contain,
    "freeze": lambda ex, c, _p: ex.freeze(
        c.account_id, scope=c.payload.get("scope", "full"), reason=c.payload.get("reason", ""),
        reference=c.payload.get("reference", ""), idempotency_key=c.idempotency_key),
    "unfreeze": lambda ex, c, _p: ex.unfreeze(
        c.account_id, reason=c.payload.get("reason", ""), reference=c.payload.get("reference", ""),
        withdrawal_cooldown_hours=int(c.payload.get("withdrawal_cooldown_hours", 24)),
        idempotency_key=c.idempotency_key),
    "revoke_sessions": lambda ex, c, _p: ex.revoke_sessions(c.account_id, idempotency_key=c.idempotency_key),
    "revoke_api_keys": lambda ex, c, _p: ex.revoke_api_keys(c.account_id, idempotency_key=c.idempotency_key),
    "cancel_pending_withdrawals": lambda ex, c, _p: ex.cancel_pending_withdrawals(
        c.account_id, idempotency_key=c.idempotency_key),
    "pull_withdrawals": lambda ex, c, p: ex.list_withdrawals(c.account_id, since=_pull_since(c, p)),
    "snapshot_account": lambda ex, c, _p: ex.get_account(c.account_id),
}

RECORDERS = {"done": _record_done, "retry": _record_retry, "failed": _record_failed}
