"""Telling a reporter that staff asked a question in the reporter's own thread (or still wait for its answer).

A question in a reporter's thread is that reporter's to read: the account's registered contact, whose case link
opens a thread of its own, would find nothing there. So it goes to the contact the reporter gave with the report
("how the owner can be reached about this report"), with a link bound to that report, in the report's language.

Whoever typed that contact may be the thief, so the message carries nothing of the account: not the
anti-phishing code, not the "this wasn't me" link, never the question. The link opens only what the reporter's
own token already sees (its report, its thread, the containment).
"""
from __future__ import annotations

import uuid
from typing import Any

from incidents.notice_words import CATALOGUE, Rendered
from verification.service import resolve_language

AUDIENCE = "reporter"
# The owner notice each conversation event would be, and the reporter's notice it becomes in a reporter's thread.
REPORTER_NOTICES = {"question": "reporter_question", "reminder": "reporter_reminder"}
# What the registered contact (the owner's channels, as API.md has every question told) is told instead: where the
# question waits, and that its link went to the reporter's contact.
OWNER_NOTICES_ELSEWHERE = {"question": "question_elsewhere", "reminder": "reminder_elsewhere"}
CHANNELS = ("email", "sms")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "reporter_question.subject": "A question about your report ({reference})",
        "reporter_question.body": "Our team needs something from you to continue with the report you filed "
                                  "(case {reference}). Open your report's page to read the question and reply "
                                  "there; you can attach documents to your reply.",
        "reporter_reminder.subject": "We are waiting for your reply ({reference})",
        "reporter_reminder.body": "The report you filed (case {reference}) is waiting for your reply. Open your "
                                  "report's page to read our question and answer it so that we can continue.",
        "open": "Your report's page (keep this link to yourself): {link}",
        "why": "You get this message because this address was given as the contact of a report to Lockdesk.",
        "sms": "[Lockdesk] {summary} {reference}: {link} We never ask for passwords or codes.",
        "reporter_question.sms": "We have a question about your report, reply on its page.",
        "reporter_reminder.sms": "We are waiting for your reply on your report's page.",
    },
    "zh-CN": {
        "reporter_question.subject": "关于您提交的报告，我们有一个问题（{reference}）",
        "reporter_question.body": "我们需要您提供一些信息才能继续处理您提交的报告（工单 {reference}）。请打开您的报告页面查看问题并在那里回复；"
                                  "回复时可以附上文件。",
        "reporter_reminder.subject": "我们正在等待您的回复（{reference}）",
        "reporter_reminder.body": "您提交的报告（工单 {reference}）正在等待您的回复。请打开您的报告页面查看我们的问题并作答，以便我们继续处理。",
        "open": "您的报告页面（请勿将此链接告诉他人）：{link}",
        "why": "您收到此消息，是因为有人在向 Lockdesk 提交报告时填写了此联系方式。",
        "sms": "【Lockdesk】{summary}工单 {reference}：{link} 我们绝不会索要密码或验证码。",
        "reporter_question.sms": "关于您的报告我们有一个问题，请在报告页面回复，",
        "reporter_reminder.sms": "我们正在等待您在报告页面回复，",
    },
}


def reporter_columns(notice: str, *, report_id: str, event: str) -> list[dict[str, Any]]:
    """The columns of the rows telling a reporter of `notice` in its own thread, one row per channel (a channel the
    report gave no contact for is skipped at delivery)."""
    return [{"audience": AUDIENCE, "channel": channel, "notice": REPORTER_NOTICES[notice], "repudiation_id": None,
             "recipient": None, "data": {"event": event, "report_id": report_id}} for channel in CHANNELS]


def report_of(row: Any) -> uuid.UUID:
    """The report a reporter's notification is about."""
    return uuid.UUID(row.data["report_id"])


def recipient(contact: dict[str, Any] | None, channel: str) -> str | None:
    """Where the reporter asked to be reached on this channel, if anywhere."""
    return (contact or {}).get("email" if channel == "email" else "phone") or None


def render_for_reporter(*, channel: str, notice: str, language: str, reference: str, link: str) -> Rendered:
    """The reporter's email or text message: what is waiting, and the link to the report's own page."""
    language = resolve_language(language)
    words = TEXTS[language]
    if channel == "sms":
        return Rendered(subject="", language=language, text=words["sms"].format(
            summary=words[f"{notice}.sms"], reference=reference, link=link))
    lines = [words[f"{notice}.body"].format(reference=reference), "", words["open"].format(link=link), "",
             CATALOGUE[language]["never_ask"], "", words["why"]]
    return Rendered(subject=words[f"{notice}.subject"].format(reference=reference), text="\n".join(lines),
                    language=language)
