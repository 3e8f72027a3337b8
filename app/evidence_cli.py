"""`flask --app app evidence verify FILE.zip [--public-key B64]`: check a bundle offline."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

evidence_cli = AppGroup("evidence", help="Evidence bundles.")


@evidence_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", "public_key", default=None,
              help="The signer's Ed25519 public key (base64 of 32 bytes); this instance's own by default.")
def evidence_verify(path: str, public_key: str | None) -> None:
    """Check the manifest's signature and every file's SHA-256; name the first file that does not hold."""
    from app.evidence import instance_signer
    from incidents.handoff.archive import check_archive, load_public_key

    try:
        key = load_public_key(public_key) if public_key else instance_signer().private_key.public_key()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--public-key") from error
    with open(path, "rb") as handle:
        result = check_archive(handle.read(), public_key=key)
    if result.valid:
        click.echo(f"valid: {len(result.manifest['files'])} files of {result.manifest['incident']}")
        return
    click.echo(f"invalid: {result.first_bad}: {result.reason}", err=True)
    sys.exit(1)


def init_app(app: Flask) -> None:
    """Attach the command group."""
    app.cli.add_command(evidence_cli)
