"""The registered contact's thread on both case pages, without JavaScript, in English and Chinese: the link mailed
to the account's registered email opens a thread apart from the reporter's; the console labels it and answers it."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from app.db import utcnow
from tests.factories import exchange_account, seal_audit_events
from tests.web.conftest import run_follow_ups
from tests.web.pages import sign_in
from tests.web.pages import owner_case, owner_writes, staff_writes
from tests.web.pages import report

WORDS = {
    "en": {"label": "thread of the account's registered contact", "option": "the account's registered contact",
           "reporter": "thread of reporter 1", "your_report": "Your report"},
    "zh-CN": {"label": "账户登记联系人的对话", "option": "账户的登记联系人", "reporter": "报告人 1 的对话",
              "your_report": "您的报告"},
}


@pytest.fixture
def settings(settings, instance):
    """Mail goes to a log the test reads, as `make run` has it."""
    return {**settings, "MAIL_LOG_PATH": str(instance / "mail.jsonl")}


@pytest.fixture(autouse=True)
def accounts(app):
    """The account the owners report on (its registered email is owner@example.com)."""
    exchange_account(app, "U1001")


def mailed_link(app, clock, instance, incident_id: str) -> str:
    """Send the due messages; the path of the newest case link mailed to the registered email."""
    clock.now = max(clock.now, utcnow()) + timedelta(seconds=1)  # the events were stamped by the real clock
    run_follow_ups(app)
    seal_audit_events(app)
    app.extensions["lockdesk"].ports.review_jobs.deliver_notifications()
    mail = [json.loads(line) for line in (instance / "mail.jsonl").read_text().splitlines()]
    assert mail and all(message["to"] == "owner@example.com" for message in mail)
    return re.findall(rf"/i/{incident_id}\?t=ldi_[\w-]+", mail[-1]["text"])[-1]


@pytest.mark.parametrize("language", list(WORDS))
def test_staff_answer_the_registered_contacts_thread_from_the_console(app, agent, clock, instance, language):
    words = WORDS[language]
    reporter, incident_id = owner_case(app, language=language)
    owner_writes(reporter, incident_id, "REPORTER-ONE words", language=language)
    contact = app.test_client()
    contact.get(mailed_link(app, clock, instance, incident_id))
    page = contact.get(f"/i/{incident_id}", headers={"Accept-Language": language}).text
    assert "REPORTER-ONE" not in page and words["your_report"] not in page  # neither its thread nor its report
    page = owner_writes(contact, incident_id, "the owner, from the registered email", language=language)
    assert "the owner, from the registered email" in page

    staff = app.test_client()
    if language == "zh-CN":
        staff.get("/language?to=zh_CN&next=/console/")
    sign_in(staff, agent, clock)
    console = staff.get(f"/console/incidents/{incident_id}").text
    assert console.count('data-testid="contact-thread"') == 1 and words["label"] in console
    assert words["reporter"] in console
    # The contact wrote last: the reply goes to its thread unless staff choose another.
    assert re.search(r'<option value="registered-contact" selected>' + words["option"], console)
    console = staff_writes(staff, incident_id, "We received your document.", to="registered-contact")
    assert console.count('data-testid="contact-thread"') == 2
    assert "awaiting-since" in console  # the question waits for the owner

    assert "We received your document." in contact.get(f"/i/{incident_id}").text
    assert "We received your document." not in reporter.get(f"/i/{incident_id}").text
    assert "the owner, from the registered email" not in reporter.get(f"/i/{incident_id}").text


def test_a_damaged_thread_choice_is_refused_and_nothing_is_written(app, agent, clock, instance):
    _reporter, incident_id = owner_case(app)
    staff = app.test_client()
    sign_in(staff, agent, clock)
    console = staff_writes(staff, incident_id, "to nobody", to="someone-else")
    assert "Choose whose thread you answer." in console and "to nobody" not in console


@pytest.mark.parametrize("language", list(WORDS))
def test_the_console_says_how_each_reporter_is_told_of_a_question(app, agent, clock, language):
    reach = {"en": ("told by email and text message", "not told: the report gave no contact"),
             "zh-CN": ("通过邮件和短信通知", "不会通知：报告未填写联系方式")}[language]
    _first, incident_id = owner_case(app)
    second = app.test_client()
    report(second, email="", phone="")  # the same account again, with no contact: attached to the case
    staff = app.test_client()
    if language == "zh-CN":
        staff.get("/language?to=zh_CN&next=/console/")
    sign_in(staff, agent, clock)
    options = re.findall(r"<option value=\"[0-9a-f-]{36}\"[^>]*>([^<]*)</option>",
                         staff.get(f"/console/incidents/{incident_id}").text)
    assert len(options) == 2 and options[0].endswith(reach[0]) and options[1].endswith(reach[1])


@pytest.mark.parametrize("language", list(WORDS))
def test_a_question_in_the_reporters_thread_shows_on_the_registered_contacts_page_where_it_waits(
        app, agent, clock, instance, language):
    said = {"en": ("Our team is waiting for your reply.", "on the page of a report filed on this case"),
            "zh-CN": ("我们的团队正在等待您的回复。", "一份报告的页面上提了一个问题")}[language]
    reporter, incident_id = owner_case(app, language=language)
    contact = app.test_client()
    contact.get(mailed_link(app, clock, instance, incident_id))
    staff = app.test_client()
    sign_in(staff, agent, clock)
    staff_writes(staff, incident_id, "Which wallet received the withdrawal?")  # the one reporter's thread
    reporter_page = reporter.get(f"/i/{incident_id}", headers={"Accept-Language": language}).text
    contact_page = contact.get(f"/i/{incident_id}", headers={"Accept-Language": language}).text
    assert said[0] in reporter_page and 'data-testid="awaiting-elsewhere"' not in reporter_page
    assert said[1] in contact_page and said[0] not in contact_page
    assert "Which wallet received" not in contact_page
