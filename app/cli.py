"""The `flask --app app …` commands, registered beside the code they drive."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup

from app.db import DomainError
from app.extensions import runtime
from incidents import audit, staff

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database schema.")
staff_cli = AppGroup("staff", help="Staff accounts.")
audit_cli = AppGroup("audit", help="The audit chain.")


def alembic_config(url: str) -> AlembicConfig:
    """Alembic pointed at our migrations and the given database."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str, revision: str = "heads") -> None:
    """Bring a database to the newest schema."""
    alembic_command.upgrade(alembic_config(url), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply the migrations (to the newest revision by default)."""
    upgrade_database(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@staff_cli.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["agent", "risk_officer", "admin"]))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def staff_create(name: str, role: str, as_json: bool) -> None:
    """Create a staff member; prints the token once."""
    with runtime().sessions() as session:
        created = _or_exit(lambda: staff.create_staff(session, name=name, role=role, actor="cli"))
    out = {"id": str(created.staff.id), "name": name, "role": role, "token": created.token,
           "totp_secret": created.totp_secret, "otpauth_uri": created.otpauth_uri}
    if as_json:
        click.echo(json.dumps(out))
        return
    for key, value in out.items():
        click.echo(f"{key}: {value}")
    click.echo("The token and TOTP secret are shown once; store them now.", err=True)


@staff_cli.command("set-password")
@click.argument("name")
def staff_set_password(name: str) -> None:
    """Set the console password, read from standard input."""
    password = sys.stdin.readline().rstrip("\n")
    with runtime().sessions() as session:
        _or_exit(lambda: staff.set_password(session, name=name, password=password, actor="cli"))
    click.echo(f"password set for {name}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute the chain; exit 1 and name the first bad event when it is broken."""
    with runtime().sessions() as session:
        check = audit.verify_chain(session)
    if check.valid:
        click.echo(json.dumps({"valid": True, "events": check.events, "head": check.head}))
        return
    click.echo(json.dumps({"valid": False, "events": check.events, "first_bad_event": check.first_bad_event}))
    sys.exit(1)


def _or_exit(call):
    """Run a use case; print a domain refusal and exit 2."""
    try:
        return call()
    except DomainError as error:
        click.echo(f"error: {error.detail}", err=True)
        sys.exit(2)


def init_app(app: Flask) -> None:
    """Attach the command groups."""
    for group in (db_cli, staff_cli, audit_cli):
        app.cli.add_command(group)
    from app import exchange_cli

    exchange_cli.init_app(app)
