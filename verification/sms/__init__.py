"""The SMS port: how the verification domain hands a text to a gateway."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kernel.errors import DeliveryFailed


@dataclass(frozen=True)
class SmsReceipt:
    """What a gateway answers for one accepted message."""

    gateway: str
    message_id: str | None = None


class SmsDeliveryFailed(DeliveryFailed):
    """The gateway did not accept the message; the code was not delivered (`is_retryable` is False for a bad
    number)."""

    status, slug, title = 502, "sms-delivery-failed", "The text message could not be sent"


class SmsGateway(Protocol):
    """Anything that can deliver one text message to a phone number."""

    def send(self, *, to: str, body: str) -> SmsReceipt:
        """Deliver `body` to `to` (E.164) or raise SmsDeliveryFailed."""
        ...


def mask_phone(phone: str) -> str:
    """Show only the country prefix and the last four digits: '+15555550001' → '+1*****0001'."""
    if len(phone) <= 6:
        return "*" * max(0, len(phone) - 2) + phone[-2:]
    # A fixed run of stars, so the mask does not tell the number's length.
    return f"{phone[:2]}*****{phone[-4:]}"
