"""Time-based one-time passwords (RFC 6238) with replay memory and lockout, as pure functions.

pyotp computes the codes; everything that decides whether a code is accepted lives here,
because pyotp's own `verify()` keeps no replay memory and accepts non-ASCII digits.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pyotp

MAX_FAILED_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)
MAX_TOTAL_FAILURES = 100

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class OtpParameters:
    """How codes are computed: RFC 6238 defaults, wider hashes and 8 digits for the RFC vectors."""

    algorithm: str = "sha1"
    digits: int = 6
    interval: int = 30
    drift_steps: int = 1


DEFAULT_PARAMETERS = OtpParameters()


@dataclass(frozen=True)
class OtpState:
    """What an authenticator remembers between attempts (a row of OtpFactor)."""

    last_step: int | None = None
    failed_attempts: int = 0
    total_failures: int = 0
    locked_until: datetime | None = None
    disabled: bool = False


class Outcome(enum.StrEnum):
    """How one attempt ended."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    REUSED = "reused"
    LOCKED = "locked"
    DISABLED = "disabled"
    # Too many wrong codes on the account: only a token that proved the phone may still try.
    CLOSED = "closed"


@dataclass(frozen=True)
class TotpCheck:
    """The verdict on one attempt and the state to store afterwards."""

    outcome: Outcome
    state: OtpState
    step: int | None = None
    has_just_locked: bool = False
    has_just_disabled: bool = False

    @property
    def is_accepted(self) -> bool:
        """Whether the code proved possession of the authenticator."""
        return self.outcome is Outcome.ACCEPTED

    @property
    def is_reuse(self) -> bool:
        """A valid code from a step already used: log it and tell the holder (ASVS 4.0.3 2.8.5)."""
        return self.outcome is Outcome.REUSED

    @property
    def remaining_attempts(self) -> int:
        """Wrong codes left before the factor locks."""
        return max(0, MAX_FAILED_ATTEMPTS - self.state.failed_attempts)

    def retry_after(self, now: datetime) -> int | None:
        """Whole seconds until a locked factor takes codes again; None when only staff can help."""
        if self.state.disabled or self.state.locked_until is None:
            return None
        return max(1, math.ceil((self.state.locked_until - now).total_seconds()))


def is_well_formed(code: str, digits: int = 6) -> bool:
    """Exactly `digits` ASCII digits: full-width or other Unicode digits never reach pyotp."""
    return isinstance(code, str) and code.isascii() and re.fullmatch(rf"[0-9]{{{digits}}}", code) is not None


def is_usable_secret(secret: str | None) -> bool:
    """Base32 that pyotp accepts, of at least 112 bits (shorter or garbled secrets prove nothing)."""
    if not secret:
        return False
    try:
        pyotp.HOTP(secret).byte_secret()
    except ValueError:  # binascii.Error is a ValueError
        return False
    return True


def time_step(now: datetime, interval: int = 30) -> int:
    """The RFC 6238 counter for a server time (T0 = 0); naive datetimes are refused."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("TOTP needs an aware (UTC) server time, not a naive datetime")
    return int(now.timestamp()) // interval


def code_at(secret: str, counter: int, params: OtpParameters = DEFAULT_PARAMETERS) -> str:
    """The code an authenticator shows for one counter value (HOTP, RFC 4226)."""
    return pyotp.HOTP(secret, digits=params.digits, digest=_DIGESTS[params.algorithm]).at(counter)


def match_counter(secret: str, code: str, counters: range,
                  params: OtpParameters = DEFAULT_PARAMETERS) -> int | None:
    """The counter whose code equals `code`, comparing every candidate in constant time."""
    if not is_well_formed(code, params.digits):
        return None
    matched = None
    for counter in counters:
        if counter < 0:
            continue
        # No early exit: every candidate is computed and compared, whatever matched.
        if hmac.compare_digest(code_at(secret, counter, params).encode(), code.encode()):
            matched = counter
    return matched


def verify_totp(secret: str, code: str, *, state: OtpState, now: datetime,
                params: OtpParameters = DEFAULT_PARAMETERS) -> TotpCheck:
    """Judge one code at server time `now`: lockout first, then window, then replay."""
    if state.disabled:
        return TotpCheck(Outcome.DISABLED, state)
    if state.locked_until is not None:
        if now < state.locked_until:
            # The code is not even computed: a right code gets the same answer as a wrong one.
            return TotpCheck(Outcome.LOCKED, state)
        state = replace(state, failed_attempts=0, locked_until=None)
    current = time_step(now, params.interval)
    window = range(current - params.drift_steps, current + params.drift_steps + 1)
    step = match_counter(secret, code, window, params)
    if step is None:
        return _record_failure(state, now)
    if state.last_step is not None and step <= state.last_step:
        return TotpCheck(Outcome.REUSED, state, step=step)
    accepted = replace(state, last_step=step, failed_attempts=0, total_failures=0)
    return TotpCheck(Outcome.ACCEPTED, accepted, step=step)


def reenable(state: OtpState) -> OtpState:
    """Staff lift a lock or a disablement; the replay memory stays."""
    return OtpState(last_step=state.last_step)


def count_failure(state: OtpState, now: datetime) -> TotpCheck:
    """Count a failure that is not a code (a staff member's wrong password) under the same lock rules."""
    if state.locked_until is not None and now >= state.locked_until:
        state = replace(state, failed_attempts=0, locked_until=None)
    return _record_failure(state, now)


def _record_failure(state: OtpState, now: datetime) -> TotpCheck:
    """Count a wrong code; lock at 5 in a row, disable at 100 without a success between."""
    failed = state.failed_attempts + 1
    total = state.total_failures + 1
    disabled = total >= MAX_TOTAL_FAILURES
    locked_until = now + LOCK_DURATION if failed >= MAX_FAILED_ATTEMPTS else None
    new_state = replace(state, failed_attempts=failed, total_failures=total,
                        locked_until=locked_until, disabled=disabled)
    return TotpCheck(Outcome.WRONG, new_state, has_just_locked=locked_until is not None,
                     has_just_disabled=disabled)

