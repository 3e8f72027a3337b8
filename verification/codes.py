"""SMS one-time codes: drawn from `secrets`, kept only as a keyed hash bound to one verification.

Pure rules over a small state; the service loads and stores the SmsCode row around them.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from verification.totp import is_well_formed

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
SENDS_PER_HOUR = 5  # per account (DESIGN §6): the phone's ceiling, which never refuses a token's first code
TOKEN_SENDS_PER_HOUR = 3  # per token: one token alone cannot use up the account's codes
SEND_WINDOW = timedelta(hours=1)

_KEY_PURPOSE = b"lockdesk/verification/sms-code/v1"


def derive_code_key(secret_key: str | bytes) -> bytes:
    """A key used only for SMS code hashes, derived from the application's SECRET_KEY."""
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(raw, _KEY_PURPOSE, hashlib.sha256).digest()


def generate_code() -> str:
    """Six uniformly random decimal digits from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(key: bytes, *, verification_id: object, code: str) -> str:
    """HMAC-SHA256 of the code bound to its verification, so it proves nothing elsewhere."""
    message = f"{verification_id}\x00{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class CodeOutcome(enum.StrEnum):
    """How one code check ended."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    USED = "used"
    EXPIRED = "expired"
    BURNED = "burned"


@dataclass(frozen=True)
class CodeState:
    """One issued code as the rules see it; `failures` counts the verification's wrong tries."""

    code_hash: str
    expires_at: datetime
    failures: int = 0
    used_at: datetime | None = None
    burned_at: datetime | None = None


@dataclass(frozen=True)
class CodeCheck:
    """Verdict and the fields to store."""

    outcome: CodeOutcome
    failures: int
    used_at: datetime | None = None
    burned_at: datetime | None = None

    @property
    def remaining_attempts(self) -> int:
        """Wrong tries left before the code burns."""
        return max(0, MAX_WRONG_TRIES - self.failures)


def check_code(key: bytes, *, verification_id: object, code: str, state: CodeState,
               now: datetime) -> CodeCheck:
    """Judge a submitted code: used, burned and expired codes are refused before comparing."""
    if state.used_at is not None:
        return CodeCheck(CodeOutcome.USED, state.failures, used_at=state.used_at)
    if state.burned_at is not None or state.failures >= MAX_WRONG_TRIES:
        return CodeCheck(CodeOutcome.BURNED, state.failures, burned_at=state.burned_at or now)
    if now >= state.expires_at:
        return CodeCheck(CodeOutcome.EXPIRED, state.failures)
    candidate = hash_code(key, verification_id=verification_id, code=code) if is_well_formed(code) else ""
    if hmac.compare_digest(candidate.encode(), state.code_hash.encode()):
        return CodeCheck(CodeOutcome.ACCEPTED, state.failures, used_at=now)
    failures = state.failures + 1
    burned_at = now if failures >= MAX_WRONG_TRIES else None
    return CodeCheck(CodeOutcome.WRONG, failures, burned_at=burned_at)


@dataclass(frozen=True)
class SendDecision:
    """Whether a new code may be sent now, and if not, after how many seconds."""

    is_allowed: bool
    retry_after: int = 0


def may_send(*, last_sent_at: datetime | None, token_sends: list[datetime], account_sends: list[datetime],
             now: datetime) -> SendDecision:
    """Resend no sooner than 60 s after the verification's last code; at most 3 codes an hour per token and
    5 per account, except that a token's first code of the hour is never refused for the account's sake
    (so strangers' tokens cannot starve the owner's)."""
    waits = []
    if last_sent_at is not None and now < last_sent_at + RESEND_AFTER:
        waits.append(last_sent_at + RESEND_AFTER - now)
    own = sorted(at for at in token_sends if at > now - SEND_WINDOW)
    if len(own) >= TOKEN_SENDS_PER_HOUR:
        waits.append(own[-TOKEN_SENDS_PER_HOUR] + SEND_WINDOW - now)
    everyone = sorted(at for at in account_sends if at > now - SEND_WINDOW)
    if own and len(everyone) >= SENDS_PER_HOUR:
        waits.append(everyone[-SENDS_PER_HOUR] + SEND_WINDOW - now)
    if not waits:
        return SendDecision(True)
    return SendDecision(False, retry_after=max(1, math.ceil(max(waits).total_seconds())))
