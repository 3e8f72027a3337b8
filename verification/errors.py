"""Why a code was refused, as problem slugs the API documents (API.md, Verification)."""
from __future__ import annotations

from typing import ClassVar

from kernel.errors import DomainError, Forbidden


class WrongCode(DomainError):
    """The code does not match; `remaining_attempts` says how many tries are left."""

    status, slug, title = 422, "wrong-code", "Wrong code"

    def __init__(self, detail: str = "The code is not correct.", *, remaining_attempts: int):
        super().__init__(detail, remaining_attempts=remaining_attempts)


class CodeAlreadyUsed(DomainError):
    """The code (or its time step) was accepted before; the holder should be told."""

    status, slug, title = 422, "code-already-used", "Code already used"
    # A replayed one-time code may mean someone else has it (ASVS 4.0.3 2.8.5).
    notify_holder: ClassVar[bool] = True


class CodeExpired(DomainError):
    """The code, or the verification it belongs to, is past its validity."""

    status, slug, title = 410, "code-expired", "Code expired"


class TooManyAttempts(DomainError):
    """The factor is locked or disabled, or the code burned; a right code is refused too."""

    status, slug, title = 429, "too-many-attempts", "Too many attempts"

    def __init__(self, detail: str = "Too many attempts.", *, retry_after: int | None):
        super().__init__(detail, retry_after=retry_after)


class TotpKeptForPhoneHolder(TooManyAttempts):
    """Too many wrong codes on the account: it takes codes only from a token that entered a right SMS code."""

    def __init__(self, detail: str = "Too many wrong authenticator codes were entered for this account. Enter "
                                     "the text message code first, or ask for a manual identity review."):
        super().__init__(detail, retry_after=None)


class TotpNotEnrolled(Forbidden):
    """A staff member has no authenticator enrolled, so step-up cannot succeed."""
