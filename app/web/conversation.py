"""The conversation's page actions: the owner's reply with a file, staff replies and notes, the downloads."""
from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _

from app.api.messages import attachment_response
from app.conversation import accepts_upload, attachment_limits, upload_rate_limit
from kernel.errors import DomainError
from app.extensions import get_session, limiter, runtime
from app.web import now
from app.web import console as console_pages
from app.web import owner as owner_pages
from app.web.console_auth import STAFF_KEY, staff_page
from app.web.messages import FormInput
from app.web.refusals import refusal_text
from app.web.owner_access import owner_principal
from incidents.access import Principal
from incidents.conversation import attachments as files
from incidents.conversation.messages import MAX_BODY, REGISTERED_CONTACT, post_message


def _send(incident_id: uuid.UUID, principal: Principal, **staff_fields) -> None:
    """Store the posted file, if any, then the message with it."""
    body = request.form.get("body") or ""
    if not body.strip() or len(body) > MAX_BODY:
        raise FormInput(_("Write a message of 1 to %(count)d characters.", count=MAX_BODY))
    upload = request.files.get("file")
    attachment_ids = []
    if upload is not None and upload.filename:
        limits = attachment_limits(current_app.config)
        stored = files.upload_attachment(get_session(), store=runtime().ports.blob_store, incident_id=incident_id,
                                         principal=principal, filename=upload.filename,
                                         data=upload.stream.read(limits.max_bytes + 1), limits=limits, now=now())
        attachment_ids.append(stored.id)
    post_message(get_session(), incident_id=incident_id, principal=principal, body=body,
                 attachment_ids=attachment_ids, now=now(), **staff_fields)


def _has_file() -> bool:
    """Whether the form carries a file (only those count against the upload limit)."""
    upload = request.files.get("file")
    return upload is not None and bool(upload.filename)


def _owner_upload_key() -> str:
    """Owners' uploads are counted per session's access on the case."""
    granted = session.get("owner_access") or {}
    return "upload-page:" + ",".join(sorted(granted.values()))


def _staff_upload_key() -> str:
    """Staff uploads from the console are counted per signed-in staff member."""
    return f"upload-console:{(session.get(STAFF_KEY) or {}).get('id', request.remote_addr)}"


def _back(endpoint: str, **values) -> Any:
    """Back to the case page, at the conversation."""
    return redirect(url_for(endpoint, **values) + "#conversation", 303)


@owner_pages.bp.post("/i/<uuid:incident_id>/messages")
@accepts_upload
@limiter.limit(upload_rate_limit, key_func=_owner_upload_key, exempt_when=lambda: not _has_file())
def owner_message(incident_id: uuid.UUID):
    """The owner writes to its thread, with a file if they chose one."""
    principal = owner_principal(incident_id)
    try:
        _send(incident_id, principal)
    except DomainError as error:
        get_session().rollback()
        flash(refusal_text(error), "error")  # a message's or a file's refusal, from the one catalogue
    else:
        flash(_("Your message was sent."), "success")
    return _back("owner.case_page", incident_id=incident_id)


@owner_pages.bp.get("/i/<uuid:incident_id>/attachments/<uuid:attachment_id>")
def owner_attachment(incident_id: uuid.UUID, attachment_id: uuid.UUID):
    """A file of the owner's own thread."""
    found = files.open_attachment(get_session(), store=runtime().ports.blob_store, attachment_id=attachment_id,
                                  principal=owner_principal(incident_id))
    return attachment_response(found)


@console_pages.bp.post("/incidents/<uuid:incident_id>/messages")
@accepts_upload
@limiter.limit(upload_rate_limit, key_func=_staff_upload_key, exempt_when=lambda: not _has_file())
@staff_page(*console_pages.WORKING_ROLES)
def console_message(principal, incident_id: uuid.UUID):
    """Staff answer a thread or leave an internal note, with a file if they chose one."""
    internal = request.form.get("visibility") == "internal"
    to = request.form.get("to") or None
    try:
        _send(incident_id, principal, visibility="internal" if internal else "public",
              awaiting_reply=None if internal else request.form.get("awaiting_reply") == "1",
              to=_thread(to))
    except DomainError as error:
        get_session().rollback()
        flash(refusal_text(error), "error")  # a message's or a file's refusal, from the one catalogue
    else:
        flash(_("Internal note added.") if internal else _("Reply sent."), "success")
    return _back("console.incident", incident_id=incident_id)


@console_pages.bp.get("/attachments/<uuid:attachment_id>")
@staff_page()
def console_attachment(principal, attachment_id: uuid.UUID):
    """Any file of any case, for staff."""
    found = files.open_attachment(get_session(), store=runtime().ports.blob_store, attachment_id=attachment_id,
                                  principal=principal)
    return attachment_response(found)


def _thread(value: str | None) -> uuid.UUID | str | None:
    """A posted report id, or the registered contact's thread; a damaged one is a refusal naming `to`."""
    if value is None or value == REGISTERED_CONTACT:
        return value
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise FormInput(_("Choose whose thread you answer.")) from exc
