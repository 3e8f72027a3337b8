"""The mail port: how the case hands an email to a transport (SMTP in production, a log in the demo)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kernel.errors import DeliveryFailed


@dataclass(frozen=True)
class EmailMessage:
    """One plain-text email."""

    to: str
    subject: str
    text: str
    language: str = "en"


@dataclass(frozen=True)
class MailReceipt:
    """What a transport answers for one accepted message."""

    transport: str
    message_id: str | None = None


class MailDeliveryFailed(DeliveryFailed):
    """The transport did not take the message; `is_retryable` tells whether trying later may help."""

    status, slug, title = 502, "mail-delivery-failed", "The email could not be sent"


class Mailer(Protocol):
    """Anything that can deliver one email."""

    def send(self, message: EmailMessage) -> MailReceipt:
        """Deliver the message or raise MailDeliveryFailed."""
        ...
