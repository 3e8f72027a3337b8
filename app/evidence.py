"""The application's side of the evidence bundle: case.pdf drawn from a template, and this instance's key."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app, render_template
from flask_babel import force_locale

from app.db import utcnow
from incidents.handoff.archive import Signer
from incidents.handoff.casefile import CaseEvidence

STYLESHEET = Path(__file__).resolve().parent / "static" / "evidence" / "case.css"
# Flask-Babel's catalogue of each language the bundle is written in.
CATALOGUES = {"en": "en", "zh-CN": "zh_CN"}


def render_case_pdf(case: CaseEvidence, language: str) -> bytes:
    """case.pdf in the chosen language: WeasyPrint lays out the page with the system's CJK fonts."""
    from weasyprint import CSS, HTML  # imported on use: loading Pango costs the other routes nothing

    with force_locale(CATALOGUES[language]):
        html = render_template("evidence/case.html", case=case, language=language, written_at=utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                               exchange_name=current_app.config.get("EXCHANGE_NAME") or "Lockdesk",
                               key_id=instance_signer().key_id)
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])


def instance_signer() -> Signer:
    """This instance's Ed25519 key (SIGNING_KEY: base64 of the 32-byte seed) and its key id."""
    seed = base64.b64decode(current_app.config["SIGNING_KEY"], validate=True)
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    return Signer(key_id=key_id_of(public_key_bytes(private_key)), private_key=private_key)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The raw 32 bytes of the public half."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: bytes) -> str:
    """A key's id: the start of the SHA-256 of its raw public bytes, so it changes with the key."""
    return "ed25519-" + hashlib.sha256(public_key).hexdigest()[:16]
