"""While a case waits for the owner: the owner is told (SMTP and SMS, their language, never the content),
reminded at 24 h and 72 h, and a silent case closes after AWAITING_USER_CLOSE_DAYS unless the account is frozen;
the queue hears of the owner's answer; the SLA sweep leaves a waiting case alone."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from incidents import sla
from incidents.models import Incident, Notification
from tests.conversation.conftest import move_back, post
from tests.factories import bearer, make_staff
from tests.incidents.review_support import ANTI_PHISHING, REGISTERED_EMAIL, REGISTERED_PHONE, frozen_case
from tests.inbox import CASE_LINK, deliver, sms_lines

QUEUE = "risk-queue@lockdesk.test"
# The contact the case's report gave (tests.incidents.review_support.frozen_case).
REPORTER_EMAIL, REPORTER_PHONE = "attacker-typed@example.net", "+15550009999"


@pytest.fixture
def settings(settings, inbox):  # noqa: F811
    settings["SMTP_URL"] = f"smtp://127.0.0.1:{inbox[1]}"
    settings["MAIL_FROM"] = "Lockdesk Security <security@lockdesk.test>"
    settings["RISK_QUEUE_EMAIL"] = QUEUE
    return settings


@pytest.fixture
def case(app, client):
    """A frozen case reported in Chinese; its reporter's headers and an agent's."""
    found = frozen_case(app, language="zh-CN")
    deliver(app)  # the received and frozen notices are out of the way
    return str(found.incident_id), bearer(found.access_token), make_staff(app, "agent").headers


def notices(app) -> list[str]:
    """The notices written so far, oldest first."""
    with app.extensions["lockdesk"].sessions() as session:
        return list(session.scalars(select(Notification.notice).order_by(Notification.created_at)))


def status_of(app, incident_id: str) -> str:
    """The case's status now."""
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(Incident.status).where(Incident.id == __import__("uuid").UUID(incident_id)))


def test_a_question_in_the_reporters_thread_tells_that_reporter_at_the_contact_it_gave_never_the_account(
        app, client, inbox, case):
    handler, _port = inbox
    incident_id, _owner, agent = case
    handler.messages.clear()
    post(client, incident_id, agent, body="Send the photo of passport number E1234567", awaiting_reply=True)
    deliver(app)
    [mail] = [m for m in handler.messages if m["To"] == REPORTER_EMAIL]
    body = mail.get_content()
    assert mail["To"] == REPORTER_EMAIL and "关于您提交的报告" in mail["Subject"] and "报告页面" in body
    # whoever typed the contact may be the thief: nothing of the account, never the question
    assert ANTI_PHISHING not in body and "E1234567" not in body and "passport" not in body
    url = CASE_LINK.search(body).group(0)
    token = url.split("?t=")[1]
    assert url.split("/i/")[1].split("?")[0] == incident_id
    seen = client.get(f"/api/v1/incidents/{incident_id}/messages", headers=bearer(token)).json["items"]
    assert [message["body"] for message in seen] == ["Send the photo of passport number E1234567"]
    texts = [line for line in sms_lines(app) if "问题" in line["body"]]
    assert sorted(line["to"] for line in texts) == sorted([REPORTER_PHONE, REGISTERED_PHONE])
    [text] = [line for line in texts if line["to"] == REPORTER_PHONE]
    assert "E1234567" not in text["body"]
    assert ANTI_PHISHING not in text["body"] and token not in text["body"]  # a link of its own
    # The owner is told on the registered channels, as for every question: where it waits, with the code, and a
    # case link of the registered contact's own (which opens no reporter's thread).
    [owner] = [m for m in handler.messages if m["To"] == REGISTERED_EMAIL]
    told = owner.get_content()
    assert "报告人" in owner["Subject"] and ANTI_PHISHING in told and "报告页面" in told and "E1234567" not in told
    contact_token = CASE_LINK.search(told).group(0).split("?t=")[1]
    assert client.get(f"/api/v1/incidents/{incident_id}/messages",
                      headers=bearer(contact_token)).json["items"] == []


def test_a_question_in_the_registered_contacts_thread_tells_the_registered_contact_with_the_code(app, client,
                                                                                                inbox, case):
    handler, _port = inbox
    incident_id, _owner, agent = case
    handler.messages.clear()
    post(client, incident_id, agent, body="Send the photo of passport number E1234567", awaiting_reply=True,
         to="registered-contact")
    deliver(app)
    [mail] = [m for m in handler.messages if "问题" in m["Subject"]]
    body = mail.get_content()
    assert mail["To"] == REGISTERED_EMAIL and ANTI_PHISHING in body and "工单" in body
    assert "E1234567" not in body and "passport" not in body
    texts = [line for line in sms_lines(app) if "问题" in line["body"]]
    assert texts and texts[-1]["to"] == REGISTERED_PHONE and "E1234567" not in texts[-1]["body"]


def test_a_reporter_who_gave_no_contact_is_told_nothing_and_only_the_owner_hears_where_it_waits(app, client,
                                                                                                  inbox):
    handler, _port = inbox
    found = frozen_case(app, language="en", contact={})
    deliver(app)
    handler.messages.clear()
    post(client, str(found.incident_id), make_staff(app, "agent").headers, body="question")
    deliver(app)
    assert [(m["To"], m["Subject"].startswith("Our team asked the reporter")) for m in handler.messages] == [
        (REGISTERED_EMAIL, True)]
    with app.extensions["lockdesk"].sessions() as session:
        rows = session.execute(select(Notification.notice, Notification.status)
                               .where(Notification.notice == "reporter_question")).all()
    assert sorted(rows) == [("reporter_question", "skipped")] * 2


def test_a_reply_without_awaiting_and_an_internal_note_tell_the_owner_nothing(app, client, case):
    incident_id, _owner, agent = case
    before = len(notices(app))
    post(client, incident_id, agent, body="noted", awaiting_reply=False)
    post(client, incident_id, agent, body="internal", visibility="internal")
    deliver(app)
    assert len(notices(app)) == before


def test_the_owners_answer_tells_the_queue_without_its_words(app, client, inbox, case):
    handler, _port = inbox
    incident_id, owner, agent = case
    post(client, incident_id, agent, body="question")
    post(client, incident_id, owner, body="my secret answer")
    deliver(app)
    [mail] = [m for m in handler.messages if m["To"] == QUEUE]
    assert "replied" in mail["Subject"] and "my secret answer" not in mail.get_content()


def test_the_owner_is_reminded_after_24_and_72_hours_once_each(app, client, case):
    incident_id, _owner, agent = case
    jobs = app.extensions["lockdesk"].ports.conversation_jobs
    post(client, incident_id, agent, body="question")
    assert jobs.sweep_waiting() == 0
    move_back(app, "awaiting_since", timedelta(hours=25), account_id="R1001")
    assert jobs.sweep_waiting() == 1 and jobs.sweep_waiting() == 0
    move_back(app, "awaiting_since", timedelta(hours=48), account_id="R1001")
    assert jobs.sweep_waiting() == 1 and jobs.sweep_waiting() == 0
    deliver(app)
    # two reminders, each by email and SMS, to the reporter whose thread holds the question
    assert notices(app).count("reporter_reminder") == 4 and notices(app).count("reminder") == 0
    assert notices(app).count("reminder_elsewhere") == 4  # the owner hears where the question still waits


def test_a_question_to_the_registered_contact_is_reminded_there(app, client, case):
    incident_id, _owner, agent = case
    post(client, incident_id, agent, body="question", to="registered-contact")
    move_back(app, "awaiting_since", timedelta(hours=25), account_id="R1001")
    assert app.extensions["lockdesk"].ports.conversation_jobs.sweep_waiting() == 1
    deliver(app)
    assert notices(app).count("reminder") == 2 and notices(app).count("reporter_reminder") == 0


def test_a_frozen_account_never_closes_by_itself(app, client, case):
    incident_id, _owner, agent = case
    post(client, incident_id, agent, body="question")
    move_back(app, "awaiting_since", timedelta(days=30), account_id="R1001")
    app.extensions["lockdesk"].ports.conversation_jobs.sweep_waiting()
    assert status_of(app, incident_id) == "awaiting_user"


def test_a_silent_case_whose_account_is_not_frozen_closes_after_the_configured_days(app, client, case):
    incident_id, _owner, agent = case
    with app.extensions["lockdesk"].sessions() as session:
        incident = session.scalar(select(Incident).where(Incident.account_id == "R1001"))
        incident.containment = "unfrozen"
        session.commit()
    post(client, incident_id, agent, body="question")
    move_back(app, "awaiting_since", timedelta(days=6, hours=23), account_id="R1001")
    app.extensions["lockdesk"].ports.conversation_jobs.sweep_waiting()
    assert status_of(app, incident_id) == "awaiting_user"
    move_back(app, "awaiting_since", timedelta(hours=2), account_id="R1001")
    app.extensions["lockdesk"].ports.conversation_jobs.sweep_waiting()
    assert status_of(app, incident_id) == "closed"


def test_the_sla_sweep_leaves_a_waiting_case_alone(app, client, case):
    incident_id, _owner, agent = case
    post(client, incident_id, agent, body="question")
    move_back(app, "sla_due_at", timedelta(days=3), account_id="R1001")
    with app.extensions["lockdesk"].sessions() as session:
        assert sla.sweep_sla(session).escalated == []
