"""What the case pages show of the conversation: the owner's own thread, or every thread for the console."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import request

from app.extensions import get_session
from incidents.access import Principal
from incidents.conversation import attachments as files
from incidents.conversation.messages import REGISTERED_CONTACT, list_messages
from incidents.conversation.models import Attachment
from incidents.conversation.replies import reply_templates

THREAD_PAGE = 200


@dataclass
class Thread:
    """What a case page shows of the conversation."""

    messages: list[Any]
    next_cursor: str | None
    documents: list[Attachment] = field(default_factory=list)
    templates: list[Any] = field(default_factory=list)
    draft: str = ""

    @property
    def asks_the_owner(self) -> bool:
        """Whether staff's newest message in this thread asked the owner something not yet answered."""
        for message in reversed(self.messages):
            if message.author == "owner":
                return False
            if message.author == "staff" and message.visibility == "public":
                return bool(message.awaiting_reply)
        return False

    @property
    def answer_to(self) -> str | None:
        """The thread of the owner who wrote last, as the console's choice names it (a report's id, or
        `registered-contact`): the reply goes there unless staff choose; None before any owner wrote."""
        last = next((message for message in reversed(self.messages) if message.author == "owner"), None)
        if last is None:
            return None
        return str(last.report_id) if last.report_id is not None else REGISTERED_CONTACT


def thread_for(incident_id: uuid.UUID, principal: Principal) -> Thread:
    """The caller's view of the conversation: a reporter's own thread, or every thread for staff."""
    page = list_messages(get_session(), incident_id=incident_id, principal=principal, limit=THREAD_PAGE,
                         cursor=request.args.get("messages") or None)
    documents = [row for row in files.attachments_of_thread(get_session(), incident_id=incident_id,
                                                            principal=principal) if row.author == "owner"]
    return Thread(messages=page.items, next_cursor=page.next_cursor, documents=documents)


def console_thread(incident_id: uuid.UUID, principal: Principal, owner_language: str = "en") -> Thread:
    """The console's view, with the canned replies (the owner's language first) and the one picked (works
    without JavaScript)."""
    thread = thread_for(incident_id, principal)
    thread.templates = sorted(reply_templates(), key=lambda template: template.language != owner_language)
    picked = request.args.get("reply_template", "")
    key, _sep, language = picked.partition(":")
    thread.draft = next((t.body for t in thread.templates if t.key == key and t.language == language), "")
    return thread
