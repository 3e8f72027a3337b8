"""Factories for the records tests need, made through the service functions."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp

from app.db import utcnow
from incidents.signatures import signature_header
from incidents.staff import create_staff, set_password

WEBHOOK_SECRET = "whsec-test-secret"
OWNER_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, as authenticator apps enrol
STAFF_PASSWORD = "correct horse battery staple"


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


@dataclass(frozen=True)
class StaffMember:
    """A staff member as the staff service made them: a bearer token, a console password, their own authenticator."""

    id: uuid.UUID
    name: str
    role: str
    token: str
    totp_secret: str
    otpauth_uri: str
    password: str = STAFF_PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        """The API's Authorization header for this staff member."""
        return bearer(self.token)

    def code(self, at: datetime | None = None) -> str:
        """The authenticator's code now (or at a given time)."""
        return pyotp.TOTP(self.totp_secret).at(at or utcnow())


def make_staff(app, role: str = "agent", name: str | None = None) -> StaffMember:
    """Create a staff member through the staff service, with STAFF_PASSWORD as console password."""
    name = name or f"{role}-{uuid.uuid4().hex[:8]}"
    with app.extensions["lockdesk"].sessions() as session:
        created = create_staff(session, name=name, role=role)
        set_password(session, name=name, password=STAFF_PASSWORD)
    return StaffMember(id=created.staff.id, name=name, role=role, token=created.token,
                       totp_secret=created.totp_secret, otpauth_uri=created.otpauth_uri)


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def signed_anomaly(body: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
                   timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its headers, signed like a risk engine would."""
    raw = json.dumps(body).encode()
    header = signature_header(secret, timestamp or int(time.time()), raw)
    return raw, {"X-Lockdesk-Signature": header, "Content-Type": "application/json"}


def exchange_account(app, account_id: str = "U1001", *, bound_days_ago: int = 400, now: datetime | None = None,
                     **overrides: Any) -> str:
    """Open an account in the embedded exchange back office, its factors bound `bound_days_ago` (trusted by
    default); return its id."""
    from datetime import timedelta

    from exchange_sim.backoffice import NewAccount, add_account

    bound = utcnow() - timedelta(days=bound_days_ago)
    fields = {"account_id": account_id, "email": "owner@example.com", "phone": "+15550001",
              "totp_secret": OWNER_TOTP_SECRET, "totp_bound_at": bound, "phone_bound_at": bound,
              "anti_phishing_code": "BLUE-HERON", **overrides}
    with app.extensions["lockdesk"].sessions() as session:
        add_account(session, account=NewAccount(**fields), now=now)
    return account_id


def last_sms_code(app) -> str:
    """The six-digit code in the newest text the log SMS gateway wrote (the app's SMS_LOG_PATH)."""
    import re

    with open(app.config["SMS_LOG_PATH"], encoding="utf-8") as handle:
        body = json.loads(handle.read().strip().splitlines()[-1])["body"]
    return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)


def seal_audit_events(app) -> int:
    """Run the worker's audit sealer once: it links new events and writes their notifications and webhooks."""
    return app.extensions["lockdesk"].ports.audit_sealer()
