"""Factories for the records tests need, made through the service functions."""
from __future__ import annotations

import json
import time
from typing import Any

from incidents.signatures import signature_header
from incidents.staff import create_staff
from tests.conftest import WEBHOOK_SECRET


def report_body(account_id: str = "U1001", **overrides: Any) -> dict[str, Any]:
    """A valid report body."""
    body = {
        "account_id": account_id,
        "kind": "stolen_account",
        "description": "I did not make the withdrawal at 03:12",
        "contact": {"email": "owner@example.com", "phone": "+15550001"},
        "last_legitimate_activity_at": "2026-11-20T22:00:00Z",
        "transactions": [{"chain": "ethereum", "hash": "0x" + "ab" * 32}],
        "language": "zh-CN",
    }
    body.update(overrides)
    return body


def staff_token(app, role: str = "agent", name: str | None = None) -> str:
    """Create a staff member and return the bearer token."""
    with app.extensions["lockdesk"].sessions() as session:
        created = create_staff(session, name=name or f"{role}-{time.monotonic_ns()}", role=role)
    return created.token


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def signed_anomaly(body: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
                   timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its headers, signed like a risk engine would."""
    raw = json.dumps(body).encode()
    header = signature_header(secret, timestamp or int(time.time()), raw)
    return raw, {"X-Lockdesk-Signature": header, "Content-Type": "application/json"}
