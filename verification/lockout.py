"""The owner's TOTP lock-outs throttle the guesser, not the owner (issue 17 item 3; README, security rules).

- The short lock (5 wrong codes in a row → 15 minutes) belongs to the token that entered them, across all
  the verifications it starts: another reporter's token, the owner's, is not locked by it.
- The account keeps the ceiling of 63B-3 §5.2.2: at most 100 consecutive wrong codes, from whichever tokens,
  then the authenticator is disabled until staff re-enable it.
- An unproven token cannot drive that ceiling to deny the owner: after 90 consecutive failures the
  authenticator takes codes only from a token that has entered a right SMS code on its verification (it
  holds the registered phone); the last 10 are kept for that holder, and staff are told (an audit event on
  the case). A success from any token resets the run.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from verification.authenticators import lock_otp_factor
from verification.models import SmsCode, TotpThrottle, Verification
from verification.totp import MAX_TOTAL_FAILURES, Outcome, OtpState, TotpCheck, verify_totp

UNPROVEN_CEILING = MAX_TOTAL_FAILURES - 10


@dataclass(frozen=True)
class ScopedCheck:
    """The verdict, and the account's and the guesser's states to store."""

    result: TotpCheck
    account: OtpState
    guesser: OtpState
    has_just_closed: bool = False


def verify_scoped(secret: str, code: str, *, account: OtpState, guesser: OtpState, proven: bool,
                  now: datetime) -> ScopedCheck:
    """The TOTP rules with the short lock on the guesser and the replay memory and ceiling on the account."""
    merged = OtpState(last_step=account.last_step, failed_attempts=guesser.failed_attempts,
                      total_failures=account.total_failures, locked_until=guesser.locked_until,
                      disabled=account.disabled)
    if not account.disabled and not proven and account.total_failures >= UNPROVEN_CEILING:
        return ScopedCheck(TotpCheck(Outcome.CLOSED, merged), account, guesser)
    result = verify_totp(secret, code, state=merged, now=now)
    state = result.state
    # The account row no longer carries a short lock of its own (older rows may: it is cleared).
    new_account = OtpState(last_step=state.last_step, total_failures=state.total_failures, disabled=state.disabled)
    new_guesser = OtpState(failed_attempts=state.failed_attempts, locked_until=state.locked_until)
    closed = not state.disabled and account.total_failures < UNPROVEN_CEILING <= state.total_failures
    return ScopedCheck(result, new_account, new_guesser, has_just_closed=closed)


def judge_owner_totp(session: Session, *, verification: Verification, actor: str, secret: str, code: str,
                     now: datetime) -> ScopedCheck:
    """Lock the account's and the guesser's rows, judge the code and store both states (the caller commits)."""
    factor = lock_otp_factor(session, owner_kind="account", owner_id=verification.account_id, now=now)
    throttle = _lock_throttle(session, account_id=verification.account_id, actor=actor, now=now)
    verdict = verify_scoped(secret, code, account=factor.state, guesser=throttle.state,
                            proven=proved_phone(session, verification=verification, actor=actor), now=now)
    if verdict.result.outcome is not Outcome.CLOSED:
        factor.store(verdict.account, now=now)
        throttle.failed_attempts, throttle.locked_until = verdict.guesser.failed_attempts, verdict.guesser.locked_until
        throttle.updated_at = now
    return verdict


def proved_phone(session: Session, *, verification: Verification, actor: str) -> bool:
    """Whether this token entered a right SMS code on this verification, whose SMS factor is trusted."""
    check = verification.factor("sms")
    if check is None or check.status != "passed" or not check.trusted:
        return False
    query = select(SmsCode.id).where(SmsCode.verification_id == verification.id, SmsCode.used_at.is_not(None),
                                     SmsCode.requested_by == actor).limit(1)
    return session.scalar(query) is not None


def _lock_throttle(session: Session, *, account_id: str, actor: str, now: datetime) -> TotpThrottle:
    """The guesser's row, created if missing, locked (the account's row is locked first, always)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(TotpThrottle).values(
        id=uuid.uuid4(), account_id=account_id, actor=actor, failed_attempts=0, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["account_id", "actor"]))
    query = (select(TotpThrottle).where(TotpThrottle.account_id == account_id, TotpThrottle.actor == actor)
             .with_for_update().execution_options(populate_existing=True))
    return session.scalar(query)

