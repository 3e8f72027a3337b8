"""The embedded mail transport: one JSON line per message, to a file or to standard error."""
from __future__ import annotations

import json
import sys
import threading
import uuid
from typing import TextIO

from incidents.mail import EmailMessage, MailDeliveryFailed, MailReceipt


class LogMailer:
    """Writes messages as JSON lines to `path` (appending) or to `stream` (stderr by default)."""

    def __init__(self, path: str | None = None, *, stream: TextIO | None = None):
        self._path = path
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> MailReceipt:
        """Append one line `{"id", "to", "subject", "text", "language"}`."""
        message_id = str(uuid.uuid4())
        line = json.dumps({"id": message_id, "transport": "log", "to": message.to, "subject": message.subject,
                           "text": message.text, "language": message.language}, ensure_ascii=False)
        try:
            self._write(line + "\n")
        except OSError as exc:
            raise MailDeliveryFailed(f"the mail log could not be written: {exc.strerror}") from exc
        return MailReceipt(transport="log", message_id=message_id)

    def _write(self, text: str) -> None:
        """One writer at a time so lines never interleave."""
        with self._lock:
            if self._path:
                with open(self._path, "a", encoding="utf-8") as handle:
                    handle.write(text)
            else:
                stream = self._stream or sys.stderr
                stream.write(text)
                stream.flush()
