"""The embedded SMS gateway: one JSON line per message, to a file or to standard error.

This is the only place a code is ever written out in clear, and only for the demo and tests.
"""
from __future__ import annotations

import json
import sys
import threading
import uuid
from datetime import datetime
from typing import TextIO

from app.db import utcnow
from verification.sms import SmsDeliveryFailed, SmsReceipt


class JsonLinesLog:
    """Appends JSON lines to `path`, or to `stream` (stderr by default); one writer at a time."""

    def __init__(self, path: str | None = None, *, stream: TextIO | None = None):
        self._path = path
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, entry: dict) -> None:
        """Append one entry as a line (OSError when the file cannot be written)."""
        text = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            if self._path:
                with open(self._path, "a", encoding="utf-8") as handle:
                    handle.write(text)
            else:
                stream = self._stream or sys.stderr
                stream.write(text)
                stream.flush()


class LogSmsGateway:
    """Writes messages as JSON lines to `path` (appending) or to `stream` (stderr by default)."""

    def __init__(self, path: str | None = None, *, stream: TextIO | None = None, clock=utcnow):
        self._log = JsonLinesLog(path, stream=stream)
        self._clock = clock

    def send(self, *, to: str, body: str) -> SmsReceipt:
        """Append one line `{"at", "gateway", "id", "to", "body"}`."""
        message_id = str(uuid.uuid4())
        try:
            self._log.write({"at": _iso(self._clock()), "gateway": "log", "id": message_id, "to": to, "body": body})
        except OSError as exc:
            raise SmsDeliveryFailed(f"the SMS log could not be written: {exc.strerror}") from exc
        return SmsReceipt(gateway="log", message_id=message_id)



def _iso(moment: datetime) -> str:
    """ISO 8601 UTC with Z."""
    return moment.isoformat().replace("+00:00", "Z")
