"""The `flask --app app …` commands, registered beside the code they drive."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app import audit_anchor
from app.cli_support import or_exit as _or_exit
from app.extensions import runtime
from chain import service as chain_service
from incidents import audit, checkpoints, staff

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database schema.")
staff_cli = AppGroup("staff", help="Staff accounts.")
audit_cli = AppGroup("audit", help="The audit chain.")
labels_cli = AppGroup("labels", help="Address labels used to screen traced funds.")
keys_cli = AppGroup("keys", help="The field-encryption keys.")


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
@click.option("--checkpoint", "checkpoint_file", type=click.File("r", encoding="utf-8"), default=None,
              help="An exported checkpoint (audit checkpoint --export) the chain must still contain.")
def audit_verify(checkpoint_file) -> None:
    """Seal what is committed, recompute the chain, hold it against the signed checkpoints; exit 1 naming the
    first bad event or the checkpoint that does not hold."""
    exported = checkpoints.read_exported(checkpoint_file.read()) if checkpoint_file is not None else None
    with runtime().sessions() as session:
        audit.seal_all(session)
        result = audit_anchor.verify(session, runtime().ports.signing_key, exported=exported)
    click.echo(json.dumps(result))
    if not result["valid"]:
        sys.exit(1)


@audit_cli.command("checkpoint")
@click.option("--export", "export_file", type=click.File("w", encoding="utf-8"), default=None,
              help="Also write the newest checkpoint, signed, to this file (keep it off this database).")
def audit_checkpoint(export_file) -> None:
    """Seal what is committed and sign the chain's length and head; print the newest checkpoint as JSON."""
    with runtime().sessions() as session:
        document = _checkpoint_or_refuse(session)
    if document is None:
        click.echo(json.dumps({"checkpoint": None, "reason": "the chain has no events yet"}))
        return
    text = json.dumps(document, indent=2)
    if export_file is not None:
        export_file.write(text + "\n")
    click.echo(text)


def _checkpoint_or_refuse(session):
    """A checkpoint, or exit 1 when the chain since the last one does not link up."""
    try:
        return audit_anchor.checkpoint_now(session, runtime().ports.signing_key)
    except checkpoints.ChainBroken as broken:
        click.echo(json.dumps({"checkpoint": None, "reason": str(broken)}))
        sys.exit(1)


@labels_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--chain", "chain_name", default="ethereum", show_default=True)
@click.option("--source", default=None, help="Where the labels come from (kept with each row).")
def labels_import(path: str, chain_name: str, source: str | None) -> None:
    """Import labels from a CSV (address,label,category), JSON or GraphSense TagPack YAML file."""
    with runtime().sessions() as session:
        result = _or_exit(lambda: chain_service.import_labels(session, path, chain=chain_name, source=source))
    click.echo(json.dumps({"added": result.added, "skipped": result.skipped}))


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
def keys_rotate(batch_size: int) -> None:
    """Re-encrypt every encrypted value under the newest FIELD_ENCRYPTION_KEY; safe to run again if stopped."""
    from app.db import FieldCipher
    from app.key_rotation import rotate_all
    from app.secrets import split_keys

    newest = split_keys(current_app.config["FIELD_ENCRYPTION_KEY"])[0]
    results = rotate_all(runtime().sessions, FieldCipher.active(), newest_key=newest, actor="cli",
                         batch_size=batch_size)
    click.echo(json.dumps({"rotated": sum(p.rotated for p in results.values()),
                           "already_current": sum(p.current for p in results.values()),
                           "kinds": {name: vars(p) for name, p in results.items()}}))


@click.command("trace")
@with_appcontext
@click.argument("chain_name", metavar="CHAIN")
@click.argument("tx_hash", metavar="HASH")
@click.option("--depth", default=3, show_default=True, type=click.IntRange(0, 5))
def trace_command(chain_name: str, tx_hash: str, depth: int) -> None:
    """Trace a transaction now and print where the money went as a table."""
    explorers = runtime().ports.explorers
    with runtime().sessions() as session:
        queued = _or_exit(lambda: chain_service.request_trace(session, chain=chain_name, tx_hash=tx_hash,
                                                              depth=depth, requested_by="cli",
                                                              configured_chains=set(explorers)))
        tracer = runtime().ports.tracer
        trace = chain_service.run_trace(session, trace_id=queued.id, explorers=explorers,
                                        min_amount=tracer.min_amount, coins=tracer.coins)
    click.echo(render_trace_table(trace))
    if trace.status != "done":
        sys.exit(1)


def render_trace_table(trace) -> str:
    """A plain-text report of a finished (or failed) trace."""
    if trace.status != "done":
        return f"trace {trace.id} {trace.status}: {trace.error}"
    tx = trace.transaction or {}
    lines = [f"{trace.chain} {trace.tx_hash}: {tx.get('status')}, {tx.get('confirmations')} confirmations, "
             f"{tx.get('value')} {tx.get('asset')} from {tx.get('from')} to {tx.get('to')}", "",
             f"{'hop':>3}  {'from':<42}  {'to':<42}  amount"]
    for edge in (trace.graph or {}).get("edges", []):
        lines.append(f"{edge['hop']:>3}  {edge['from']:<42}  {edge['to']:<42}  {edge['amount']} {edge['asset']}")
    lines += ["", "findings:"] + [f"  hop {f['hop']} {f['address']} [{f['category']}] {f['label']}: {f['advice']}"
                                  for f in trace.findings or []] or ["  none"]
    lines.append(f"\n{trace.round_trips} round trips")
    return "\n".join(lines)


def init_app(app: Flask) -> None:
    """Attach the command groups."""
    from app import evidence_cli, exchange_cli
    from app.demo import demo_cli

    for group in (db_cli, staff_cli, audit_cli, labels_cli, keys_cli, demo_cli):
        app.cli.add_command(group)
    app.cli.add_command(trace_command)
    exchange_cli.init_app(app)
    evidence_cli.init_app(app)
