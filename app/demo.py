"""`flask demo seed`: an embedded-exchange account and staff to try every flow on a fresh install."""
from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import utcnow
from app.extensions import runtime
from incidents import staff
from exchange_sim.backoffice import NewAccount, NewWithdrawal, add_account, add_withdrawal
from exchange_sim.models import BackofficeAccount

demo_cli = AppGroup("demo", help="A demonstration data set.")

DEMO_ACCOUNT = "U1001"
# Documented on purpose: the demo owner adds this secret to an authenticator app (160 bits, base32).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEMO_PASSWORD = "correct-horse-battery-staple"
DEMO_STAFF = (("agent-1", "agent"), ("officer-1", "risk_officer"), ("officer-2", "risk_officer"),
              ("admin-1", "admin"))
STOLEN_WITHDRAWAL = "0x" + "5e" * 32


def credentials_path() -> Path:
    """Where the demo keeps what it printed, so a second `make run` can show it again."""
    return Path(current_app.instance_path) / "demo-credentials.json"


@demo_cli.command("seed")
def seed() -> None:
    """Create the demo account and staff once; print their credentials."""
    path = credentials_path()
    if path.exists():
        click.echo(path.read_text())
        click.echo("The demo was seeded before; these are its credentials.", err=True)
        return
    with runtime().sessions() as session:
        credentials = {"account": _seed_account(session), "staff": _seed_staff(session)}
    _write_private(path, json.dumps(credentials, indent=2))
    click.echo(json.dumps(credentials, indent=2))


def _seed_account(session) -> dict:
    """The owner's account at the embedded exchange, with one withdrawal the thief made (kept if present)."""
    if session.get(BackofficeAccount, DEMO_ACCOUNT) is None:
        _open_demo_account(session)
    return {"account_id": DEMO_ACCOUNT, "totp_secret": DEMO_TOTP_SECRET, "phone": "+15550001",
            "anti_phishing_code": "BLUE-HERON"}


def _open_demo_account(session) -> None:
    """Open the demo account and record the stolen withdrawal."""
    bound = utcnow() - timedelta(days=400)
    add_account(session, account=NewAccount(
        account_id=DEMO_ACCOUNT, email="owner@example.com", phone="+15550001", totp_secret=DEMO_TOTP_SECRET,
        totp_bound_at=bound, phone_bound_at=bound, anti_phishing_code="BLUE-HERON", active_sessions=3,
        active_api_keys=1))
    add_withdrawal(session, withdrawal=NewWithdrawal(
        withdrawal_id="W-9001", account_id=DEMO_ACCOUNT, chain="ethereum", asset="ETH", amount="10",
        address="0x00000000000000000000000000000000000a0a00", tx_hash=STOLEN_WITHDRAWAL,
        created_at=utcnow() - timedelta(hours=2)))


def _seed_staff(session) -> list[dict]:
    """An agent, two risk officers (four eyes) and an admin, each with a token, TOTP and console password."""
    people = []
    for name, role in DEMO_STAFF:
        created = staff.create_staff(session, name=name, role=role, actor="demo")
        staff.set_password(session, name=name, password=DEMO_PASSWORD, actor="demo")
        people.append({"name": name, "role": role, "token": created.token, "totp_secret": created.totp_secret,
                       "password": DEMO_PASSWORD})
    return people


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
