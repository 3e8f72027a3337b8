"""Owner notifications through a real SMTP server, and the one-time "this wasn't me" link they carry."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from incidents import review
from incidents.access import resolve_token
from exchange_sim.models import BackofficeAccount
from incidents.intake import ReportInput, submit_report
from incidents.models import AuditEvent, ExchangeCommand, Incident, Notification, Report, Repudiation
from incidents.notifications import NOTIFICATION_FAILED
from tests.factories import make_staff, seal_audit_events
from tests.incidents.review_support import (
    ANTI_PHISHING,
    REGISTERED_EMAIL,
    REGISTERED_PHONE,
    attest_remaining,
    decide,
    drain,
    frozen_case,
    incident_of,
    open_account,
    pass_verification,
    raise_request,
    sessions_of,
)
from tests.inbox import CASE_LINK, LINK, deliver, sms_lines

@pytest.fixture
def settings(settings, inbox):
    settings["SMTP_URL"] = f"smtp://127.0.0.1:{inbox[1]}"
    settings["MAIL_FROM"] = "Lockdesk Security <security@lockdesk.test>"
    return settings


def test_the_owner_is_told_of_the_freeze_on_the_registered_channels_in_their_language(app, inbox):
    handler, _port = inbox
    frozen_case(app)
    assert deliver(app) == 4  # received and frozen, each by email and SMS
    assert set(handler.recipients) == {REGISTERED_EMAIL}  # never the contact typed into the report
    frozen = next(m for m in handler.messages if "冻结" in m["Subject"])
    body = frozen.get_content()
    assert frozen["Subject"].startswith("您的账户已被冻结（INC-") and frozen["Content-Language"] == "zh-CN"
    assert ANTI_PHISHING in body and "绝不会索要您的密码、私钥或任何验证码" in body
    assert LINK.search(body)
    texts = [line for line in sms_lines(app) if line["to"] == REGISTERED_PHONE]
    assert len(texts) == 2 and all(ANTI_PHISHING in line["body"] and LINK.search(line["body"]) for line in texts)
    assert all("+15550009999" != line["to"] for line in sms_lines(app))


@pytest.mark.parametrize(("refusal", "status"), [("451 4.3.0 Try again later", "pending"),
                                                  ("554 5.7.1 Message rejected", "failed")])
def test_mail_the_server_refuses_is_retried_or_failed_and_the_texts_still_go(app, inbox, refusal, status):
    handler, _port = inbox
    handler.refusal = refusal
    frozen_case(app)
    assert deliver(app) == 4  # every message was tried once
    with sessions_of(app)() as session:
        mails = list(session.scalars(select(Notification).where(Notification.channel == "email")))
    assert mails and {row.status for row in mails} == {status}
    assert all(refusal[:3] in row.last_error for row in mails) and handler.messages == []
    if status == "pending":
        assert all(row.next_attempt_at > utcnow() for row in mails)  # after a backoff, not at once
    assert len([line for line in sms_lines(app) if line["to"] == REGISTERED_PHONE]) == 2


def test_an_english_report_gets_english_mail(app, inbox):
    handler, _port = inbox
    frozen_case(app, language="en")
    deliver(app)
    subjects = sorted(m["Subject"] for m in handler.messages)
    assert subjects[0].startswith("We received your report") and subjects[1].startswith("Your account has been frozen")
    assert "never asks for your password, private keys or any verification code" in handler.messages[0].get_content()


def test_no_message_asks_for_a_password_a_key_or_a_code(app, inbox):
    handler, _port = inbox
    frozen_case(app)
    frozen_case(app, "R2002", language="en")
    deliver(app)
    for message in handler.messages:
        body = message.get_content().lower()
        assert not re.search(r"(enter|reply with|send us|provide|type) (your )?(password|private key|code|seed)", body)
        # One "this wasn't me" link and the owner's own case link, and no other address.
        assert len(LINK.findall(body)) == 1 and len(CASE_LINK.findall(body)) == 1
        assert "http" not in CASE_LINK.sub("", LINK.sub("", body))


def test_mail_waits_for_the_account_details_from_the_exchange(app, inbox):
    handler, _port = inbox
    open_account(app, "R3003")
    with sessions_of(app)() as session:
        submit_report(session, report=ReportInput(account_id="R3003", kind="stolen_account", language="en"))
    assert deliver(app) == 0  # no snapshot yet: the registered address is unknown, nothing goes anywhere
    with sessions_of(app)() as session:
        waiting = list(session.scalars(select(Notification)))
    assert waiting and all(row.status == "pending" and "waiting" in row.last_error for row in waiting)
    drain(app)
    app.config["LOCKDESK_CLOCK"] = lambda: utcnow() + timedelta(minutes=10)
    assert deliver(app) == 4
    assert set(handler.recipients) == {REGISTERED_EMAIL}


def test_a_message_whose_account_details_never_come_fails_after_a_day_instead_of_waiting_forever(app, inbox):
    handler, _port = inbox
    open_account(app, "R3004")
    with sessions_of(app)() as session:
        submit_report(session, report=ReportInput(account_id="R3004", kind="stolen_account", language="en"))
    assert deliver(app) == 0
    app.config["LOCKDESK_CLOCK"] = lambda: utcnow() + timedelta(hours=23)
    assert deliver(app) == 0
    with sessions_of(app)() as session:
        assert {row.status for row in session.scalars(select(Notification))} == {"pending"}
    app.config["LOCKDESK_CLOCK"] = lambda: utcnow() + timedelta(hours=25)
    assert deliver(app) == 0
    with sessions_of(app)() as session:
        given_up = list(session.scalars(select(Notification)))
    assert given_up and all(row.status == "failed" and "account details" in row.last_error for row in given_up)
    assert handler.messages == []


def test_a_message_given_up_for_want_of_account_details_is_told_to_staff_on_the_timeline(app, inbox):
    open_account(app, "R3005")
    with sessions_of(app)() as session:
        filed = submit_report(session, report=ReportInput(account_id="R3005", kind="stolen_account", language="en"))
    assert deliver(app) == 0
    app.config["LOCKDESK_CLOCK"] = lambda: utcnow() + timedelta(hours=25)
    assert deliver(app) == 0
    with sessions_of(app)() as session:
        failed = list(session.scalars(select(Notification).where(Notification.status == "failed",
                                                                 Notification.audience == "owner")))
        told = list(session.scalars(select(AuditEvent).where(AuditEvent.action == NOTIFICATION_FAILED,
                                                             AuditEvent.incident_id == filed.incident.id)))
    assert failed and sorted(event.subject_id for event in told) == sorted(str(row.id) for row in failed)
    assert all("account details" in event.data["reason"] for event in told)



def test_each_case_link_of_a_batch_opens_its_own_case_on_the_registered_contacts_thread(app, inbox):
    """The links' tokens are written together for a batch: each still names its own case and no report at all,
    neither the first (its reporter may be the thief) nor the one whose event the message tells of."""
    handler, _port = inbox
    first = frozen_case(app, "R4001", language="en")
    other = frozen_case(app, "R4002", language="en")
    with sessions_of(app)() as session:
        second = submit_report(session, report=ReportInput(account_id="R4001", kind="stolen_account",
                                                           description="a second reporter", language="en"))
    assert second.attached and second.incident.id == first.incident_id
    deliver(app)
    links = [CASE_LINK.search(message.get_content()).group(0) for message in handler.messages]
    with sessions_of(app)() as session:
        reporters = {resolve_token(session, case.access_token).report_id for case in (first, other)}
        named = [(url.split("/i/")[1].split("?")[0], resolve_token(session, url.split("?t=")[1]))
                 for url in links]
    assert None not in reporters  # the reporters' own tokens name their reports
    assert len(named) == 5  # R4001: received, frozen, received again; R4002: received, frozen
    assert all(str(holder.incident_id) == incident for incident, holder in named)
    assert all(holder.kind == "reporter" and holder.report_id is None for _incident, holder in named)
    assert len({holder.id for _incident, holder in named}) == 5  # a fresh token in each message
    assert {holder.incident_id for _incident, holder in named} == {first.incident_id, other.incident_id}


def unfrozen_case(app, tmp_path):
    """A case carried through review to an unfrozen, resolved incident."""
    case = frozen_case(app)
    pass_verification(app, case)
    request = raise_request(app, case)
    attest_remaining(app, request.id, make_staff(app, "agent"))
    later = incident_of(app, case).frozen_at + timedelta(minutes=121)
    decide(app, request.id, make_staff(app, "risk_officer"), now=later)
    drain(app, now=later)
    with sessions_of(app)() as session:
        review.settle_unfreezes(session, now=later)
    app.config["LOCKDESK_CLOCK"] = lambda: later + timedelta(minutes=1)
    return case


def test_the_unfrozen_mail_links_a_page_that_refreezes_once(app, client, inbox, tmp_path):
    handler, _port = inbox
    case = unfrozen_case(app, tmp_path)
    assert incident_of(app, case).status == "resolved"
    deliver(app)
    unfrozen = next(m for m in handler.messages if "已解冻" in m["Subject"])
    path = LINK.search(unfrozen.get_content()).group(1)

    page = client.get(path)  # a link scanner or the owner opening the mail: nothing may happen
    assert page.status_code == 200 and "<form method=\"post\"" in page.get_data(as_text=True)
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count()).select_from(Repudiation).where(Repudiation.used_at.isnot(None))) == 0
        assert session.get(BackofficeAccount, "R1001").state == "active"

    done = client.post(path)
    assert done.status_code == 200 and "INC-" in done.get_data(as_text=True)
    with sessions_of(app)() as session:
        incidents = list(session.scalars(select(Incident).where(Incident.account_id == "R1001")
                                         .order_by(Incident.number)))
        assert [i.status for i in incidents] == ["resolved", "open"]
        assert incidents[1].containment in ("freeze_pending", "frozen")
        # Filed like any report: the freeze claimed in the intake transaction and sent within the request.
        freeze = session.scalar(select(ExchangeCommand).where(ExchangeCommand.incident_id == incidents[1].id,
                                                              ExchangeCommand.action == "freeze"))
        assert (incidents[1].containment, freeze.status, freeze.attempts) == ("frozen", "done", 1)
        assert session.scalar(select(func.count()).select_from(Report).where(
            Report.incident_id == incidents[1].id, Report.description.like("%disowned%"))) == 1
    drain(app)
    with sessions_of(app)() as session:
        assert session.get(BackofficeAccount, "R1001").state == "frozen"

    assert client.post(path).status_code == 410  # used once, useless afterwards
    assert client.get(path).status_code == 410
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count()).select_from(Incident).where(Incident.account_id == "R1001")) == 2


def test_a_forged_or_altered_link_does_nothing(app, client, inbox):
    handler, _port = inbox
    frozen_case(app)
    deliver(app)
    path = LINK.search(handler.messages[0].get_content()).group(1)
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.post(forged).status_code == 404
    assert client.post("/api/v1/repudiations", json={"token": forged.rsplit("/", 1)[1]}).status_code == 404


def test_repudiating_cancels_an_open_unfreeze_request(app, client, inbox, tmp_path):
    handler, _port = inbox
    case = frozen_case(app)
    pass_verification(app, case)
    request = raise_request(app, case)
    deliver(app)
    passed = next(m for m in handler.messages if "身份验证已完成" in m["Subject"])
    token = LINK.search(passed.get_content()).group(1).rsplit("/", 1)[1]
    answer = client.post("/api/v1/repudiations", json={"token": token})
    assert answer.status_code == 201 and answer.get_json()["cancelled_unfreeze_requests"] == [str(request.id)]
    assert answer.get_json()["attached"] is True and answer.get_json()["containment"] == "frozen"
    assert client.post("/api/v1/repudiations", json={"token": token}).status_code == 410


def test_each_event_gets_its_messages_once_whoever_seals_it(app):
    """Sealing writes an event's notifications; the worker's sealer and `audit verify` (which seals first)
    never write them twice."""
    from incidents.audit import seal_all

    frozen_case(app)
    assert seal_audit_events(app) > 0
    with sessions_of(app)() as session:
        assert seal_all(session) == 0  # the CLI's and the console's path: nothing left to seal, nothing re-sent
        notices = sorted(session.scalars(select(Notification.notice)))
        links = session.scalar(select(func.count()).select_from(Repudiation))
    assert notices == ["frozen", "frozen", "received", "received"] and links == 2


def test_a_batch_records_only_the_rows_whose_claim_it_still_holds(app):
    """Sent first, recorded after in one transaction: a row whose lease another worker took over meanwhile
    keeps that worker's claim, a retryable failure goes back to pending, a delivery is done."""
    from app.db import utcnow
    from incidents.outbox.delivery import Attempt, claim_due_rows, record_attempts

    sessions = sessions_of(app)
    now = utcnow()
    with sessions() as session:
        session.add_all([Notification(audience="risk_queue", channel="email", notice="sla_breached",
                                      recipient=f"risk{n}@exchange.test", data={}, next_attempt_at=now,
                                      created_at=now) for n in range(3)])
        session.commit()
        claimed = {row.recipient: (row.id, row.claim_token)
                   for row in claim_due_rows(session, Notification, now=now, limit=10)}
        session.commit()
    taken_over = claimed["risk2@exchange.test"][0]
    with sessions() as session:
        session.get(Notification, taken_over).claim_token = "another-worker"
        session.commit()
    sent, retry, lost = (claimed[f"risk{n}@exchange.test"] for n in range(3))
    record_attempts(sessions, Notification, [(*sent, Attempt()), (*retry, Attempt("busy", is_retryable=True)),
                                             (*lost, Attempt())], now=now)
    with sessions() as session:
        rows = {row.recipient: row for row in session.scalars(select(Notification))}
    assert (rows["risk0@exchange.test"].status, rows["risk0@exchange.test"].claim_token) == ("done", None)
    assert (rows["risk1@exchange.test"].status, rows["risk1@exchange.test"].last_error) == ("pending", "busy")
    assert (rows["risk2@exchange.test"].status, rows["risk2@exchange.test"].claim_token) == ("in_flight",
                                                                                            "another-worker")
