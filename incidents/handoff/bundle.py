"""Writing a case's evidence bundle: read the case, fetch its files, render the PDF, sign, audit."""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.db import FieldCipher, utcnow
from incidents import audit, checkpoints
from incidents.conversation.attachments import TamperedFile
from incidents.conversation.store import BlobStore
from incidents.handoff.archive import Signer, manifest_bytes, write_archive
from incidents.handoff.casefile import CaseEvidence, dumps, read_case, safe_name

LANGUAGES = ("en", "zh-CN")
# Renders case.pdf from the case's evidence in a language; the application supplies it (templates, fonts).
PdfRenderer = Callable[[CaseEvidence, str], bytes]


@dataclass(frozen=True)
class Bundle:
    """A written bundle: the zip's bytes, its SHA-256 and the name to download it under."""

    data: bytes
    sha256: str
    filename: str
    reference: str


def write_bundle(session: Session, *, incident_id: uuid.UUID, language: str, signer: Signer, store: BlobStore,
                 render_pdf: PdfRenderer, actor: str, now: datetime | None = None, commit: bool = True) -> Bundle:
    """Build and sign the bundle of a case; writing it is an audit event (committed unless a caller's use
    case commits it with its own change)."""
    now = now or utcnow()
    audit.seal_all(session)  # the timeline's events carry their links
    case = read_case(session, incident_id=incident_id)
    session.rollback()  # no transaction stays open while the store is asked and the PDF drawn
    files = {"case.pdf": render_pdf(case, language), "timeline.json": dumps(case.timeline)}
    for item in case.traces:
        trace_id = item["trace"]["id"]
        files[f"traces/{trace_id}.json"] = dumps(item["trace"])
        files[f"traces/{trace_id}.svg"] = item["svg"].encode()
        for letter in item["letters"]:  # English as <trace>-<exchange>.txt, Chinese beside it as ….zh-CN.txt
            language = letter.get("language", "en")
            suffix = "" if language == "en" else f".{language}"
            files[f"letters/{trace_id}-{safe_name(letter['exchange'])}{suffix}.txt"] = letter["text"].encode()
    if case.checkpoint is not None:  # the chain's newest signed length and head, checkable without the database
        files["audit/checkpoint.json"] = dumps(checkpoints.export(case.checkpoint,
                                                                  public_key_b64=signer.public_key_b64))
    for item in case.attachments:
        files[f"attachments/{item['id']}-{safe_name(item['filename'])}"] = _original(store, item)
    reference = case.incident["reference"]
    manifest = manifest_bytes(incident=reference, created_at=now, key_id=signer.key_id,
                              audit_head=case.audit_head, files=files, extra={"language": language})
    data = write_archive(files, manifest=manifest, signer=signer)
    digest = hashlib.sha256(data).hexdigest()
    for item in case.attachments:  # the chain of custody names everyone who took a file, bundles included
        audit.record(session, actor=actor, action="attachment.read", subject_type="attachment", subject_id=item["id"],
                     incident_id=incident_id, now=now, data={"sha256": item["sha256"], "into": "evidence bundle"})
    audit.record(session, actor=actor, action="evidence.bundle_written", subject_type="incident",
                 subject_id=incident_id, incident_id=incident_id, now=now,
                 data={"sha256": digest, "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
                       "language": language, "files": len(files), "key_id": signer.key_id})
    if commit:
        session.commit()
    return Bundle(data=data, sha256=digest, filename=f"{reference}-evidence.zip", reference=reference)


def _original(store: BlobStore, item: dict) -> bytes:
    """An attachment decrypted, refused if it no longer matches the SHA-256 the audit chain holds."""
    data = FieldCipher.active().decrypt_bytes(store.get(item["storage_key"]))
    if hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise TamperedFile(f"attachment {item['id']} does not match its recorded SHA-256")
    return data
