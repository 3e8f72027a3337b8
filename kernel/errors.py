"""The DomainError tree: failures a caller can act on, which the web layer maps to problem documents.

Every package (the domains, the adapters, the web layer) raises these; this module imports nothing
of the project, so none of them depends on another to share its errors.
"""
from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A failure a caller can act on; the web layer maps it to a problem document."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    """The thing asked for does not exist (or must not be shown to exist)."""

    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    """The request clashes with the current state."""

    status, slug, title = 409, "conflict", "Conflict"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status, slug, title = 403, "forbidden", "Forbidden"


class InvalidInput(DomainError):
    """Input the schema accepted but the domain refuses; names the field."""

    status, slug, title = 422, "validation", "Validation failed"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", errors={field: [message]})


class DeliveryFailed(DomainError):
    """A transport (mail, SMS) did not take a message; `is_retryable` tells whether trying later may help."""

    status, slug, title = 502, "delivery-failed", "The message could not be sent"

    def __init__(self, detail: str, *, is_retryable: bool = True):
        super().__init__(detail)
        # False when the transport refused the message itself (a bad address or number): sending it again
        # cannot help.
        self.is_retryable = is_retryable


class RateLimited(DomainError):
    """Too many attempts; try again after `retry_after` seconds."""

    status, slug, title = 429, "rate-limited", "Too many requests"


class IllegalTransition(DomainError):
    """A move a state machine's table does not list (or a step the current state no longer allows)."""

    status, slug, title = 409, "illegal-transition", "Illegal transition"
