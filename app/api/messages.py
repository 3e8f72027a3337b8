"""The case conversation (API.md "The case conversation and evidence files"): messages, files, reply templates."""
from __future__ import annotations

import re
import uuid

from flask import Response, current_app, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.api.fields import Timestamp
from app.api.parsing import Blueprint
from app.api.schemas import PageArgs
from app.auth import current_principal, require_incident_access, require_staff
from app.conversation import accepts_upload, attachment_limits, upload_rate_limit
from kernel.errors import InvalidInput
from app.extensions import get_session, limiter, runtime
from incidents.conversation import attachments as files
from incidents.conversation.messages import MAX_BODY, REGISTERED_CONTACT, list_messages, post_message
from incidents.conversation.models import VISIBILITIES
from incidents.conversation.replies import LANGUAGES, reply_templates

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description="Case conversation and evidence files")


class AttachmentOut(Schema):
    """A stored file of a case."""

    id = fields.UUID()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = Timestamp()


class MessageOut(Schema):
    """One message of a thread."""

    id = fields.UUID()
    report_id = fields.UUID(allow_none=True)
    author = fields.String()
    author_name = fields.String(allow_none=True)
    visibility = fields.String()
    body = fields.String()
    awaiting_reply = fields.Boolean()
    attachments = fields.List(fields.Nested(AttachmentOut))
    created_at = Timestamp()


class MessagePageOut(Schema):
    """A page of the conversation, oldest first."""

    items = fields.List(fields.Nested(MessageOut))
    next_cursor = fields.String(allow_none=True)


UUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class ThreadTo(fields.String):
    """Whose thread a staff message answers: a report's id, or the literal `registered-contact` (the account's
    contact at the exchange, whose links are bound to no report)."""

    PATTERN = re.compile(f"{UUID_TEXT}|{REGISTERED_CONTACT}")

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": f"^({UUID_TEXT}|{REGISTERED_CONTACT})$", "description":
                                   f'the id of a report of this case, or "{REGISTERED_CONTACT}"'}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> uuid.UUID | str:
        """The report's UUID, or the literal; anything else is refused naming the field."""
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.PATTERN.fullmatch(text) is None:
            raise ValidationError(f'must be the id of a report of this case or "{REGISTERED_CONTACT}"')
        return text if text == REGISTERED_CONTACT else uuid.UUID(text)


class MessageIn(Schema):
    """A message; `visibility`, `awaiting_reply` and `to` (a report's thread, or `registered-contact`) are staff's
    alone."""

    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_BODY))
    attachment_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=20))
    visibility = fields.String(load_default=None, validate=validate.OneOf(VISIBILITIES))
    awaiting_reply = fields.Boolean(load_default=None)
    to = ThreadTo(load_default=None)


class TemplateArgs(Schema):
    """The language of the templates."""

    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))


class ReplyTemplateOut(Schema):
    """A canned reply."""

    key = fields.String()
    language = fields.String()
    title = fields.String()
    body = fields.String()


class ReplyTemplatesOut(Schema):
    """The canned replies."""

    items = fields.List(fields.Nested(ReplyTemplateOut))


def token_key() -> str:
    """Uploads are counted per bearer token (its hash never leaves the limiter's store)."""
    return f"upload:{current_principal().actor}"


@blp.route("/incidents/<uuid:incident_id>/messages", methods=["GET"])
@blp.arguments(PageArgs(), location="query")
@blp.response(200, MessagePageOut)
def get_messages(args, incident_id: uuid.UUID):
    """The conversation, oldest first: staff see every thread, a reporter the public messages of its own."""
    principal = require_incident_access(incident_id)
    return list_messages(get_session(), incident_id=incident_id, principal=principal, limit=args["limit"],
                         cursor=args["cursor"])


@blp.route("/incidents/<uuid:incident_id>/messages", methods=["POST"])
@blp.arguments(MessageIn())
@blp.response(201, MessageOut)
def post_message_route(data, incident_id: uuid.UUID):
    """Write to a thread; a staff question waits for the owner, the owner's answer resumes the work."""
    principal = require_incident_access(incident_id)
    return post_message(get_session(), incident_id=incident_id, principal=principal, body=data["body"],
                        attachment_ids=data["attachment_ids"], visibility=data["visibility"],
                        awaiting_reply=data["awaiting_reply"], to=data["to"])


UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}


@blp.route("/incidents/<uuid:incident_id>/attachments", methods=["POST"])
@accepts_upload
@limiter.limit(upload_rate_limit, key_func=token_key)
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(201, AttachmentOut)
def post_attachment(incident_id: uuid.UUID):
    """Upload one file (multipart field `file`): sniffed, images re-encoded, encrypted, hashed into the chain."""
    principal = require_incident_access(incident_id)
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("file", "a multipart/form-data field named file is required")
    limits = attachment_limits(current_app.config)
    return files.upload_attachment(get_session(), store=runtime().ports.blob_store, incident_id=incident_id,
                                   principal=principal, filename=upload.filename,
                                   data=upload.stream.read(limits.max_bytes + 1), limits=limits)


@blp.route("/attachments/<uuid:attachment_id>", methods=["GET"])
@blp.response(200, description="The file's bytes, as the type sniffed at upload",
              content_type="application/octet-stream")
def get_attachment(attachment_id: uuid.UUID):
    """The bytes of a file, to staff and to the reporter in whose thread it is; 404 to anyone else."""
    found = files.open_attachment(get_session(), store=runtime().ports.blob_store, attachment_id=attachment_id,
                                  principal=current_principal())
    return attachment_response(found)


def attachment_response(found: files.AttachmentFile) -> Response:
    """The bytes as a download of their sniffed type, never rendered in place."""
    response = Response(found.data, mimetype=found.attachment.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=found.attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@blp.route("/reply-templates", methods=["GET"])
@blp.arguments(TemplateArgs(), location="query", unknown=RAISE)  # an unknown parameter is a 422 naming it
@blp.response(200, ReplyTemplatesOut)
def get_reply_templates(args):
    """The canned replies staff pick from, in English and Chinese."""
    require_staff()
    return {"items": reply_templates(language=args["language"])}
