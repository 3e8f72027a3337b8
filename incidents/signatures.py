"""Webhook signatures: HMAC-SHA256 over "<t>.<body>", header `t=<unix>,v1=<hex>[,v1=<hex>…]`."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from kernel.errors import DomainError

DEFAULT_TOLERANCE_SECONDS = 300


class BadSignature(DomainError):
    """The signature header is missing, malformed, stale, from the future, or wrong."""

    status, slug, title = 401, "unauthorized", "Bad webhook signature"


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256 of a message."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>"."""
    return hmac_sha256_hex(secret, str(timestamp).encode() + b"." + body)


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """A complete X-Lockdesk-Signature header value."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """Split a header into its timestamp and candidate signatures."""
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise BadSignature("the signature header needs t=<unix seconds> and at least one v1=<hex>")
    return timestamp, candidates


def verify(header: str | None, body: bytes, *, secrets: list[str], now: datetime,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> int:
    """Check the header against every active secret; return the signed timestamp."""
    if not header:
        raise BadSignature("the X-Lockdesk-Signature header is missing")
    timestamp, candidates = parse_header(header)
    if abs(now.timestamp() - timestamp) > tolerance:
        raise BadSignature(f"the signature timestamp is more than {tolerance} s from now")
    expected = [sign(secret, timestamp, body) for secret in secrets if secret]
    matched = False
    for candidate in candidates:
        for value in expected:
            matched |= hmac.compare_digest(candidate, value)
    if not matched:
        raise BadSignature("no signature matched")
    return timestamp
