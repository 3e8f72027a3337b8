"""Request signatures of the account-control API: base64 HMAC-SHA256 over timestamp + METHOD + path + body."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from incidents.exchange.wire import parse_time

TOLERANCE_SECONDS = 300


def sign(secret: str, *, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The X-Signature of a request (`path` includes the query string as sent)."""
    message = timestamp.encode() + method.upper().encode() + path.encode() + body
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def is_valid(secret: str, *, signature: str, timestamp: str, method: str, path: str, body: bytes,
             now: datetime, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether a signature matches and its timestamp is within the tolerance either way."""
    try:
        sent_at = parse_time(timestamp)
    except ValueError:
        return False
    if sent_at is None or abs((now - sent_at).total_seconds()) > tolerance:
        return False
    expected = sign(secret, timestamp=timestamp, method=method, path=path, body=body)
    return hmac.compare_digest(expected, signature)
