"""`flask exchange …` (the embedded back office) and `flask worker` (the outbox loop)."""
from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.cli_support import or_exit as _or_exit
from exchange_sim.server import serve_exchange
from app.extensions import runtime
from app.jobs import run_worker
from exchange_sim import backoffice
from incidents.exchange.wire import format_time, parse_time

exchange_cli = AppGroup("exchange", help="The embedded exchange back office.")


class IsoTime(click.ParamType):
    """An ISO 8601 time; without a zone it is UTC."""

    name = "iso-time"

    def convert(self, value, param, ctx) -> datetime | None:
        """Parse or fail with the option's name."""
        if value is None or isinstance(value, datetime):
            return value
        try:
            return parse_time(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time", param, ctx)


ISO_TIME = IsoTime()


@exchange_cli.command("add-account")
@click.option("--id", "account_id", required=True)
@click.option("--email", required=True)
@click.option("--phone", required=True)
@click.option("--totp-secret", required=True, help="Base32 secret of the owner's authenticator.")
@click.option("--totp-bound-at", type=ISO_TIME)
@click.option("--phone-bound-at", type=ISO_TIME)
@click.option("--anti-phishing-code")
@click.option("--sessions", "active_sessions", type=int, default=1, show_default=True)
@click.option("--api-keys", "active_api_keys", type=int, default=0, show_default=True)
def add_account(**options) -> None:
    """Open an account in the embedded exchange."""
    account = backoffice.NewAccount(**options)
    with runtime().sessions() as session:
        row = _or_exit(lambda: backoffice.add_account(session, account=account))
    click.echo(json.dumps({"account_id": row.id, "state": row.state,
                           "totp_bound_at": format_time(row.totp_bound_at),
                           "phone_bound_at": format_time(row.phone_bound_at)}))


@exchange_cli.command("add-withdrawal")
@click.option("--account", "account_id", required=True)
@click.option("--chain", required=True)
@click.option("--asset", required=True)
@click.option("--amount", required=True)
@click.option("--address", required=True)
@click.option("--tx-hash")
@click.option("--status", default="completed", show_default=True,
              type=click.Choice(["pending", "processing", "completed", "failed", "cancelled"]))
@click.option("--created-at", type=ISO_TIME)
@click.option("--id", "withdrawal_id", default=None, help="Defaults to a fresh id.")
def add_withdrawal(withdrawal_id: str | None, **options) -> None:
    """Record a withdrawal of an embedded-exchange account (demo and tests)."""
    withdrawal = backoffice.NewWithdrawal(withdrawal_id=withdrawal_id or f"W{uuid.uuid4().hex[:12]}", **options)
    with runtime().sessions() as session:
        row = _or_exit(lambda: backoffice.add_withdrawal(session, withdrawal=withdrawal))
    click.echo(json.dumps({"id": row.id, "account_id": row.account_id, "status": row.status}))


# What an owner does at the exchange that the unfreeze checklist waits for (a new password, a new authenticator),
# and other changes the exchange records; the risk engine's kinds are sent as anomalies instead.
SECURITY_EVENT_KINDS = ("password_reset", "password_changed", "totp_bound", "totp_changed", "totp_reset",
                        "two_factor_changed", "phone_bound", "phone_changed")


@exchange_cli.command("add-security-event")
@click.option("--account", "account_id", required=True)
@click.option("--kind", required=True, type=click.Choice(SECURITY_EVENT_KINDS))
@click.option("--at", type=ISO_TIME, help="Defaults to now.")
def add_security_event(account_id: str, kind: str, at: datetime | None) -> None:
    """Record a change the owner made at the embedded exchange (demo: the new password and authenticator the
    unfreeze checklist asks for; the case page's "I have done it" button reads them)."""
    with runtime().sessions() as session:
        event = _or_exit(lambda: backoffice.add_security_event(session, account_id=account_id, kind=kind, at=at))
        click.echo(json.dumps({"account_id": account_id, "kind": kind, "at": format_time(event.at)}))


@exchange_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8600, show_default=True)
@click.option("--threads", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="Calls answered at once (threads of its one gunicorn worker).")
def serve(host: str, port: int, threads: int) -> None:
    """Serve the back office as the signed account-control API (EXCHANGE_API_KEY / EXCHANGE_API_SECRET)."""
    config = current_app.config
    if not config.get("EXCHANGE_API_KEY") or not config.get("EXCHANGE_API_SECRET"):
        click.echo("error: set EXCHANGE_API_KEY and EXCHANGE_API_SECRET", err=True)
        sys.exit(2)
    click.echo(f"exchange back office on http://{host}:{port} ({threads} threads)", err=True)
    serve_exchange(config["DATABASE_URL"], api_key=config["EXCHANGE_API_KEY"], secret=config["EXCHANGE_API_SECRET"],
                   host=host, port=port, threads=threads)


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
def worker(once: bool) -> None:
    """Run the outbox worker loop (exchange commands) until stopped."""
    if once:
        click.echo(json.dumps({"dispatched": runtime().ports.dispatcher.drain()}))
        return
    run_worker(current_app._get_current_object())


def init_app(app: Flask) -> None:
    """Attach `exchange` and `worker`."""
    app.cli.add_command(exchange_cli)
    app.cli.add_command(worker)
