"""The embedded mail transport: one JSON line per message, to a file or to standard error."""
from __future__ import annotations

import uuid
from typing import TextIO

from incidents.mail import EmailMessage, MailDeliveryFailed, MailReceipt

# The same line log the embedded SMS gateway writes; an adapter detail, not a use of the verification domain.
from verification.sms.log import JsonLinesLog


class LogMailer:
    """Writes messages as JSON lines to `path` (appending) or to `stream` (stderr by default)."""

    def __init__(self, path: str | None = None, *, stream: TextIO | None = None):
        self._log = JsonLinesLog(path, stream=stream)

    def send(self, message: EmailMessage) -> MailReceipt:
        """Append one line `{"id", "to", "subject", "text", "language"}`."""
        message_id = str(uuid.uuid4())
        try:
            self._log.write({"id": message_id, "transport": "log", "to": message.to, "subject": message.subject,
                             "text": message.text, "language": message.language})
        except OSError as exc:
            raise MailDeliveryFailed(f"the mail log could not be written: {exc.strerror}") from exc
        return MailReceipt(transport="log", message_id=message_id)
