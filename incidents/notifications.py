"""Telling the owner (and the risk queue): what, when, on which channel, in which words.

Every state change writes an audit event in its own transaction; when the sealer links that event
into the chain, the composition root's hook calls `enqueue_for_event` in the sealing transaction, so
each event's notifications are written exactly once, in batches, off the request's path. Owners are
reached only on the channels the exchange has on record for the account (the account snapshot),
never on a contact typed into a report, which an attacker may have written.
Every owner message carries the account's anti-phishing code, says we never ask for passwords,
keys or codes, and links a one-time "this wasn't me" page.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from incidents import audit
from incidents.containment import latest_account_snapshots
from incidents.conversation.notices import add_conversation_texts, render_owner_replied
from incidents.exchange.models import AccountSnapshotRecord
from incidents.intake import owner_languages
from incidents.mail import EmailMessage, MailDeliveryFailed, Mailer
from incidents.models import AuditEvent, Incident, Notification
from incidents.outbound import Attempt, claim_due_rows, finish_row, postpone_row, record_attempts
from incidents.repudiation import issue_repudiation
from verification.service import resolve_language
from verification.sms import SmsDeliveryFailed, SmsGateway

OWNER_NOTICES = {
    "report.received": "received",
    "incident.containment.frozen": "frozen",
    "verification.passed": "verification_passed",
    "unfreeze.approved": "unfreeze_approved",
    "unfreeze.rejected": "unfreeze_rejected",
    "incident.containment.unfrozen": "unfrozen",
    # ASVS 4.0.3 2.8.5: a one-time code used again while valid is logged and its holder told.
    "verification.code_reused": "code_reused",
    # The conversation: staff asked the owner something, and the reminders while the case waits.
    "message.staff_asked": "question",
    "incident.owner_reminded": "reminder",
}
# The queue's mail: a breached SLA, and an owner's reply (the assignee has no address on record).
RISK_QUEUE_NOTICES = {"incident.sla_breached": "sla_breached", "message.owner_posted": "owner_replied"}
NOTIFICATION_FAILED = "notification.failed"
OWNER_CHANNELS = ("email", "sms")
# The account snapshot arrives with the freeze's follow-ups; a message waits for it at most this long.
SNAPSHOT_PATIENCE = timedelta(hours=24)

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "received.subject": "We received your report ({reference})",
        "received.body": "We received a report about your account and opened case {reference}.",
        "frozen.subject": "Your account has been frozen ({reference})",
        "frozen.body": "To protect your assets, your account has been frozen. Logins and withdrawals stay "
                       "blocked until the case is reviewed.",
        "verification_passed.subject": "Identity verification completed ({reference})",
        "verification_passed.body": "The identity verification for case {reference} was completed.",
        "unfreeze_approved.subject": "Your unfreeze request was approved ({reference})",
        "unfreeze_approved.body": "Risk officers approved the unfreeze of your account. It is lifted at the "
                                  "earliest allowed time, and withdrawals stay on hold for a cooling-off period.",
        "unfreeze_rejected.subject": "Your unfreeze request was declined ({reference})",
        "unfreeze_rejected.body": "After review, your unfreeze request was declined and your account stays "
                                  "frozen. Follow case {reference} on its status page for the next steps.",
        "unfrozen.subject": "Your account has been unfrozen ({reference})",
        "unfrozen.body": "Your account has been unfrozen. Withdrawals stay on hold for a cooling-off period.",
        "code_reused.subject": "A verification code was used twice ({reference})",
        "code_reused.body": "Someone entered a one-time code for case {reference} that had already been used. If "
                            "that was not you, someone else may have seen your codes: freeze your account again "
                            "with the link below.",
        "case": "Case: {reference}",
        "anti_phishing": "Your anti-phishing code: {code}. Our genuine messages always show it.",
        "never_ask": "Lockdesk never asks for your password, private keys or any verification code. "
                     "Do not share them with anyone, including our staff.",
        "not_me": "Wasn't you? Freeze your account again: {link}",
        "sms": "[Lockdesk] {summary} {case}. {anti_phishing}We never ask for passwords or codes. "
               "Not you? {link}",
        "sms_anti_phishing": "Anti-phishing code: {code}. ",
    },
    "zh-CN": {
        "received.subject": "我们已收到您的报告（{reference}）",
        "received.body": "我们已收到关于您账户的报告，并已受理案件 {reference}。",
        "frozen.subject": "您的账户已被冻结（{reference}）",
        "frozen.body": "为保护您的资产，您的账户已被冻结。在案件审核完成前，登录和提现将保持禁用。",
        "verification_passed.subject": "身份验证已完成（{reference}）",
        "verification_passed.body": "案件 {reference} 的身份验证已完成。",
        "unfreeze_approved.subject": "您的解冻申请已获批准（{reference}）",
        "unfreeze_approved.body": "风控人员已批准解冻您的账户。账户将在允许的最早时间解冻，之后提现仍会暂缓一段冷静期。",
        "unfreeze_rejected.subject": "您的解冻申请未获批准（{reference}）",
        "unfreeze_rejected.body": "经审核，您的解冻申请未获批准，账户仍保持冻结。请在案件 {reference} 的状态页面查看后续步骤。",
        "unfrozen.subject": "您的账户已解冻（{reference}）",
        "unfrozen.body": "您的账户已解冻。提现仍会暂缓一段冷静期。",
        "code_reused.subject": "验证码被重复使用（{reference}）",
        "code_reused.body": "有人在案件 {reference} 中输入了一个已经使用过的一次性验证码。如果不是您本人，您的验证码可能已被他人看到：请使用下方链接再次冻结账户。",
        "case": "案件编号：{reference}",
        "anti_phishing": "您的防钓鱼码：{code}。我们发送的真实消息都会显示此码。",
        "never_ask": "Lockdesk 绝不会索要您的密码、私钥或任何验证码。请勿将其告诉任何人，包括我们的工作人员。",
        "not_me": "如果这不是您本人的操作，请点击链接再次冻结账户：{link}",
        "sms": "【Lockdesk】{summary}{case}。{anti_phishing}我们绝不会索要密码或验证码。非本人操作？{link}",
        "sms_anti_phishing": "防钓鱼码：{code}。",
    },
}
SMS_SUMMARY = {
    "en": {"received": "Report received.", "frozen": "Your account was frozen.",
           "verification_passed": "Identity verification completed.",
           "unfreeze_approved": "Unfreeze approved.", "unfreeze_rejected": "Unfreeze declined.",
           "unfrozen": "Your account was unfrozen.", "code_reused": "A used code was entered again."},
    "zh-CN": {"received": "已收到您的报告，", "frozen": "您的账户已冻结，", "verification_passed": "身份验证已完成，",
              "unfreeze_approved": "解冻申请已批准，", "unfreeze_rejected": "解冻申请未获批准，",
              "unfrozen": "您的账户已解冻，", "code_reused": "有人重复输入了已使用的验证码，"},
}
RISK_QUEUE_TEXT = {
    "subject": "SLA breached: {reference} escalated to the risk queue",
    "body": "Case {reference} (account {account_id}) passed its SLA deadline {due} and was escalated to the risk "
            "queue. Open it in the staff console.",
}

add_conversation_texts(CATALOGUE, SMS_SUMMARY)


@dataclass(frozen=True)
class NoticePolicy:
    """Who gets the risk queue's mail, and how long a repudiation link lives."""

    risk_queue_email: str | None = None
    repudiation_ttl: timedelta = timedelta(days=7)


def enqueue_for_event(session: Session, event: AuditEvent, *, policy: NoticePolicy) -> list[Notification]:
    """The notifications an audit event calls for, added to the caller's transaction."""
    owner_notice = OWNER_NOTICES.get(event.action)
    if owner_notice and event.incident_id is not None:
        return _enqueue_owner(session, event, owner_notice, policy)
    risk_notice = RISK_QUEUE_NOTICES.get(event.action)
    if risk_notice and policy.risk_queue_email:
        row = Notification(id=uuid.uuid4(), incident_id=event.incident_id, audience="risk_queue", channel="email",
                           notice=risk_notice, recipient=policy.risk_queue_email, data=dict(event.data),
                           status="pending", attempts=0, next_attempt_at=event.occurred_at,
                           created_at=event.occurred_at)
        session.add(row)
        return [row]
    return []


def _enqueue_owner(session: Session, event: AuditEvent, notice: str, policy: NoticePolicy) -> list[Notification]:
    """One message per registered channel, sharing one repudiation link."""
    repudiation = issue_repudiation(session, incident_id=event.incident_id, notice=notice, now=event.occurred_at,
                                    ttl=policy.repudiation_ttl)
    rows = [Notification(id=uuid.uuid4(), incident_id=event.incident_id, audience="owner", channel=channel,
                         notice=notice, repudiation_id=repudiation.id, data={"event": event.action},
                         status="pending", attempts=0, next_attempt_at=event.occurred_at,
                         created_at=event.occurred_at) for channel in OWNER_CHANNELS]
    session.add_all(rows)
    return rows


# --- rendering --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A message ready for its channel."""

    subject: str
    text: str
    language: str


def render_owner_email(*, notice: str, language: str, reference: str, anti_phishing_code: str | None,
                       link: str) -> Rendered:
    """The owner's email: what happened, the case, the anti-phishing code, the warning and the link."""
    words = CATALOGUE[resolve_language(language)]
    lines = [words[f"{notice}.body"].format(reference=reference), "", words["case"].format(reference=reference)]
    if anti_phishing_code:
        lines.append(words["anti_phishing"].format(code=anti_phishing_code))
    lines += ["", words["never_ask"], "", words["not_me"].format(link=link)]
    return Rendered(subject=words[f"{notice}.subject"].format(reference=reference), text="\n".join(lines),
                    language=resolve_language(language))


def render_owner_sms(*, notice: str, language: str, reference: str, anti_phishing_code: str | None,
                     link: str) -> Rendered:
    """The owner's text message, short but with the same four parts."""
    language = resolve_language(language)
    words = CATALOGUE[language]
    anti_phishing = words["sms_anti_phishing"].format(code=anti_phishing_code) if anti_phishing_code else ""
    text = words["sms"].format(summary=SMS_SUMMARY[language][notice], case=words["case"].format(reference=reference),
                               anti_phishing=anti_phishing, link=link)
    return Rendered(subject="", text=text, language=language)


def render_risk_queue_email(*, reference: str, account_id: str, due: str) -> Rendered:
    """The escalation mail to the risk queue (staff read English)."""
    return Rendered(subject=RISK_QUEUE_TEXT["subject"].format(reference=reference),
                    text=RISK_QUEUE_TEXT["body"].format(reference=reference, account_id=account_id, due=due),
                    language="en")


# --- delivery ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    """Where messages go, and how a repudiation link is written."""

    mailer: Mailer
    sms: SmsGateway
    link_for: Callable[[uuid.UUID], str]


@dataclass(frozen=True)
class PreparedMessage:
    """A claimed notification rendered for its recipient."""

    id: uuid.UUID
    token: str
    channel: str
    to: str
    rendered: Rendered


def deliver_notifications(sessions: sessionmaker[Session], *, ports: Ports, clock: Callable[[], datetime] = utcnow,
                          limit: int = 50) -> int:
    """Claim due notifications, send them with no transaction open, record the outcomes; the number sent or tried."""
    with sessions() as session:
        now = clock()
        rows = claim_due_rows(session, Notification, now=now, limit=limit)
        facts = CaseFacts.load(session, {row.incident_id for row in rows if row.incident_id is not None})
        prepared = [message for row in rows if (message := _prepare(row, facts, ports, now)) is not None]
        session.commit()
    attempts = [(message.id, message.token, _send(ports, message)) for message in prepared]
    record_attempts(sessions, Notification, attempts, now=clock(), on_failed=tell_staff_of_failure)
    return len(prepared)


def tell_staff_of_failure(session: Session, row: Notification) -> None:
    """A message to the owner failed for good: say so on the case's timeline, in the same transaction."""
    if row.audience != "owner" or row.incident_id is None:
        return
    audit.record(session, actor="system", action=NOTIFICATION_FAILED, subject_type="notification",
                 subject_id=row.id, incident_id=row.incident_id,
                 data={"channel": row.channel, "notice": row.notice, "attempts": row.attempts,
                       "reason": f"{row.channel} not delivered: {row.last_error}"})


@dataclass(frozen=True)
class CaseFacts:
    """What a batch of messages needs of its cases, read in three queries rather than three per message."""

    incidents: dict[uuid.UUID, Incident]
    snapshots: dict[uuid.UUID, AccountSnapshotRecord]
    languages: dict[uuid.UUID, str]

    @classmethod
    def load(cls, session: Session, incident_ids: set[uuid.UUID]) -> CaseFacts:
        """The incidents, their newest account snapshots and their owners' languages."""
        if not incident_ids:
            return cls({}, {}, {})
        incidents = {row.id: row for row in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))}
        return cls(incidents, latest_account_snapshots(session, incident_ids=incident_ids),
                   owner_languages(session, incident_ids=incident_ids))


def _prepare(row: Notification, facts: CaseFacts, ports: Ports, now: datetime) -> PreparedMessage | None:
    """Find the recipient and render; rows that cannot go yet are postponed or closed here."""
    incident = facts.incidents.get(row.incident_id) if row.incident_id else None
    if incident is None:
        finish_row(row, error="the incident is gone", is_retryable=False, now=now)
        return None
    if row.audience == "risk_queue" and row.notice == "owner_replied":
        rendered = render_owner_replied(reference=incident.reference, account_id=incident.account_id)
        return PreparedMessage(id=row.id, token=row.claim_token, channel="email", to=row.recipient, rendered=rendered)
    if row.audience == "risk_queue":
        rendered = render_risk_queue_email(reference=incident.reference, account_id=incident.account_id,
                                           due=str(row.data.get("sla_due_at", incident.sla_due_at.isoformat())))
        return PreparedMessage(id=row.id, token=row.claim_token, channel="email", to=row.recipient, rendered=rendered)
    snapshot = facts.snapshots.get(incident.id)
    if snapshot is None:
        postpone_row(row, reason="waiting for the exchange's account details", now=now,
                     give_up_after=SNAPSHOT_PATIENCE)
        return None
    to = snapshot.email if row.channel == "email" else snapshot.phone
    if not to:
        row.status, row.claim_token, row.last_error = "skipped", None, f"no registered {row.channel}"
        return None
    render = render_owner_email if row.channel == "email" else render_owner_sms
    rendered = render(notice=row.notice, language=resolve_language(facts.languages.get(incident.id, "en")),
                      reference=incident.reference, anti_phishing_code=snapshot.anti_phishing_code,
                      link=ports.link_for(row.repudiation_id))
    return PreparedMessage(id=row.id, token=row.claim_token, channel=row.channel, to=to, rendered=rendered)


def _send(ports: Ports, message: PreparedMessage) -> Attempt:
    """Hand the message to its channel; vendor failures come back as an Attempt, never raised."""
    try:
        if message.channel == "email":
            ports.mailer.send(EmailMessage(to=message.to, subject=message.rendered.subject,
                                           text=message.rendered.text, language=message.rendered.language))
        else:
            ports.sms.send(to=message.to, body=message.rendered.text)
    except MailDeliveryFailed as exc:
        return Attempt(error=exc.detail, is_retryable=exc.is_retryable)
    except SmsDeliveryFailed as exc:
        return Attempt(error=exc.detail, is_retryable=exc.is_retryable)
    return Attempt()
