"""The bench's key at the exchange back office, and the headers of a call to it signed with that key."""
from __future__ import annotations

EXCHANGE_KEY, EXCHANGE_SECRET = "bench-exchange-key", "bench-exchange-secret"


def signed_headers(method: str, path: str, body: bytes = b"") -> dict[str, str]:
    """The key, time stamp and signature headers of one call to the back office (its `_faults` and `_calls`
    routes included)."""
    from app.db import utcnow
    from incidents.exchange.signing import sign
    from incidents.exchange.wire import format_time

    stamp = format_time(utcnow())
    return {"X-Api-Key": EXCHANGE_KEY, "X-Timestamp": stamp,
            "X-Signature": sign(EXCHANGE_SECRET, timestamp=stamp, method=method, path=path, body=body)}
