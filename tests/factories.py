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


OWNER_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, as authenticator apps enrol


def exchange_account(app, account_id: str = "U1001", *, bound_days_ago: int = 400, **overrides: Any) -> str:
    """Open an account in the embedded exchange back office; return its id."""
    from datetime import timedelta

    from app.db import utcnow
    from exchange_sim.backoffice import NewAccount, add_account

    bound = utcnow() - timedelta(days=bound_days_ago)
    fields = {"account_id": account_id, "email": "owner@example.com", "phone": "+15550001",
              "totp_secret": OWNER_TOTP_SECRET, "totp_bound_at": bound, "phone_bound_at": bound,
              "anti_phishing_code": "BLUE-HERON", **overrides}
    with app.extensions["lockdesk"].sessions() as session:
        add_account(session, account=NewAccount(**fields))
    return account_id


def last_sms_code(app) -> str:
    """The six-digit code in the newest text the log SMS gateway wrote (the app's SMS_LOG_PATH)."""
    import re

    with open(app.config["SMS_LOG_PATH"], encoding="utf-8") as handle:
        body = json.loads(handle.read().strip().splitlines()[-1])["body"]
    return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)


def seal_audit_events(app) -> int:
    """Run the worker's audit sealer once: it links new events and writes their notifications and webhooks."""
    return app.extensions["lockdesk"].ports["audit_sealer"]()
