"""The exchange call table: which port call carries out each action, and the send step that never raises."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from incidents.exchange.port import ExchangeError, ExchangePort
from incidents.exchange.wire import parse_time
from incidents.outbox.lease import DispatchPolicy

log = logging.getLogger("lockdesk.dispatch")

Verdict = Literal["done", "retry", "failed"]


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

    @classmethod
    def of(cls, command: Any) -> Claim:
        """The claim held on a command row this process has just taken."""
        return cls(command_id=command.id, token=command.claim_token, action=command.action,
                   account_id=command.account_id, incident_id=command.incident_id, payload=dict(command.payload),
                   attempts=command.attempts, created_at=command.created_at, claimed_until=command.claimed_until)

    @classmethod
    def of_values(cls, row: dict[str, Any]) -> Claim:
        """The claim held on a command this process is writing already taken, given as its columns."""
        return cls(command_id=row["id"], token=row["claim_token"], action=row["action"], account_id=row["account_id"],
                   incident_id=row["incident_id"], payload=dict(row["payload"]), attempts=row["attempts"],
                   created_at=row["created_at"], claimed_until=row["claimed_until"])


@dataclass(frozen=True)
class CallResult:
    """What the exchange said: done with an answer, retry later, or refused for good."""

    verdict: Verdict
    answer: Any = None
    error: str | None = None
    retry_after: float | None = None


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


def send(exchange: ExchangePort, claims: list[Claim], *, policy: DispatchPolicy) -> list[CallResult]:
    """The send step of one batch (claims of one action): a result per claim, in order; never raises.

    An action listed in BATCH_CALLS goes to the exchange as one call for the whole batch; every other
    action is one call per claim.
    """
    batch_call = BATCH_CALLS.get(claims[0].action) if claims else None
    if batch_call is None or len(claims) == 1:
        return [call_exchange(exchange, claim, policy=policy) for claim in claims]
    return batch_call(exchange, claims, policy)


def batches(claims: list[Claim]) -> list[list[Claim]]:
    """Group claimed commands into send batches, freezes first: one per action that has a batch call, one per
    claim otherwise (the batch call splits what the exchange takes in one request)."""
    grouped: dict[str, list[Claim]] = {}
    single: list[list[Claim]] = []
    for claim in claims:
        if claim.action in BATCH_CALLS:
            grouped.setdefault(claim.action, []).append(claim)
        else:
            single.append([claim])
    return sorted([*grouped.values(), *single], key=lambda group: group[0].action != "freeze")  # stable


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

# Actions the exchange takes for several accounts in one call: action → (exchange, claims, policy) → a
# result per claim, in order. The dispatcher groups the claims of these actions into one send batch; the
# freeze goes as `POST /v1/accounts/freeze-batch`, 500 a call (API.md has no batch call for the others).
from incidents.outbox import freeze_batch  # noqa: E402 - it builds on the call table above

BATCH_CALLS: dict[str, Callable[[ExchangePort, list[Claim], DispatchPolicy], list[CallResult]]] = {
    "freeze": lambda exchange, claims, policy: freeze_batch.freeze_claims(exchange, claims, policy=policy),
}
