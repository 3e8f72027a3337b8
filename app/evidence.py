"""The application's side of the evidence bundle: case.pdf drawn from a template, and this instance's key."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from app.db import utcnow
from app.extensions import runtime
from incidents.handoff.archive import Signer
from incidents.handoff.casefile import CaseEvidence

STYLESHEET = Path(__file__).resolve().parent / "static" / "evidence" / "case.css"
# Flask-Babel's catalogue of each language the bundle is written in.
CATALOGUES = {"en": "en", "zh-CN": "zh_CN"}


def render_case_pdf(case: CaseEvidence, language: str) -> bytes:
    """case.pdf in the chosen language: WeasyPrint lays out the page with the system's CJK fonts."""
    from weasyprint import CSS, HTML  # imported on use: loading Pango costs the other routes nothing

    with force_locale(CATALOGUES[language]):
        html = render_template("evidence/case.html", case=case, language=language,
                               written_at=utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                               exchange_name=current_app.config.get("EXCHANGE_NAME") or "Lockdesk",
                               key_id=instance_signer().key_id)
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])


def instance_signer() -> Signer:
    """This instance's Ed25519 key (SIGNING_KEY) and its key id, as the bundle's manifest names it."""
    key = runtime().ports.signing_key
    return Signer(key_id=key.key_id, private_key=key.private)
