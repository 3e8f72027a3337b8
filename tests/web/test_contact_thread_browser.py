"""The registered contact's thread in headless Chromium, in English and in Chinese: a first reporter (maybe the thief)
writes in its thread; the owner opens the link mailed to the account's registered email, which shows nothing of
that thread, and writes; staff pick the registered contact in the console's select and answer; the labels say
whose thread each message is in."""
from __future__ import annotations

import json
import re

import pytest

from tests.factories import exchange_account, make_staff
from tests.web.browser import DESKTOP, api_report, owner_page, run_jobs, shot, staff_sign_in, submit, text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORDS = {
    "en": {"label": "thread of the account's registered contact", "option": "the account's registered contact",
           "reporter": "thread of reporter 1", "waiting": "Our team is waiting for your reply."},
    "zh-CN": {"label": "账户登记联系人的对话", "option": "账户的登记联系人", "reporter": "报告人 1 的对话",
              "waiting": "我们的团队正在等待您的回复。"},
}


def mailed_link(demo, incident_id: str) -> str:  # noqa: F811
    """The newest case link mailed to the account's registered email (as the owner would click it)."""
    run_jobs(demo)
    mail = [json.loads(line) for line in (demo.instance / "mail.jsonl").read_text().splitlines()]
    assert mail and all(message["to"] == "owner@example.com" for message in mail)
    path = re.findall(rf"/i/{incident_id}\?t=ldi_[\w-]+", mail[-1]["text"])[-1]
    return demo.url + path


@pytest.mark.parametrize("language", list(WORDS))
def test_staff_pick_the_registered_contact_and_the_owner_reads_the_answer(demo, chromium, language):  # noqa: F811
    words, tag = WORDS[language], "contact-thread-" + language.lower()
    exchange_account(demo.app, "U1001")
    agent = make_staff(demo.app, "agent", "agent-1")
    incident_id, first = api_report(demo)  # the first reporter: perhaps the thief
    client = demo.app.test_client()
    said = client.post(f"/api/v1/incidents/{incident_id}/messages", json={"body": "FIRST-REPORTER words"},
                       headers={"Authorization": first["Authorization"]})
    assert said.status_code == 201

    owner = owner_page(chromium, language)
    owner.goto(mailed_link(demo, incident_id))
    assert "FIRST-REPORTER" not in owner.inner_text("main")
    owner.fill("#message-body", "This is my account: I can send my ID.")
    submit(owner, "form[action$='/messages'] button[type=submit]")
    assert "This is my account" in text(owner, "[data-testid=thread]")
    shot(owner, f"{tag}-01-owner-wrote")

    desk = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(desk, demo, agent)
    desk.goto(f"{demo.url}/console/incidents/{incident_id}")
    thread = desk.locator("[data-testid=thread] [data-testid=message]")
    assert words["reporter"] in thread.nth(0).inner_text() and words["label"] in thread.nth(1).inner_text()
    desk.select_option("#message-to", label=words["option"])
    desk.fill("#message-body", "Please send a photo of your ID with today's date.")
    submit(desk, "form[action$='/messages'] button[type=submit]")
    assert thread.count() == 3 and words["label"] in thread.nth(2).inner_text()
    assert desk.locator("[data-testid=contact-thread]").count() == 2
    shot(desk, f"{tag}-02-staff-answered")

    owner.reload()
    assert "Please send a photo of your ID" in text(owner, "[data-testid=thread]")
    assert words["waiting"] in text(owner, "[data-testid=awaiting-reply]")
    shot(owner, f"{tag}-03-owner-reads")
    seen = client.get(f"/api/v1/incidents/{incident_id}/messages",
                      headers={"Authorization": first["Authorization"]}).get_json()["items"]
    assert [message["body"] for message in seen] == ["FIRST-REPORTER words"]
    desk.context.close()
    owner.context.close()


REPORTER_WORDS = {"en": {"subject": "A question about your report", "reach": "told by email"},
                  "zh-CN": {"subject": "关于您提交的报告，我们有一个问题", "reach": "通过邮件通知"}}


@pytest.mark.parametrize("language", list(REPORTER_WORDS))
def test_a_question_in_the_reporters_thread_reaches_the_reporter_who_answers_it(demo, chromium, language):  # noqa: F811
    words, tag = {**WORDS[language], **REPORTER_WORDS[language]}, "reporter-question-" + language.lower()
    exchange_account(demo.app, "U1001")
    agent = make_staff(demo.app, "agent", "agent-1")
    incident_id, _first = api_report(demo, contact={"email": "reporter@example.net"}, language=language)
    run_jobs(demo)
    mail_log = demo.instance / "mail.jsonl"
    before = len(mail_log.read_text().splitlines()) if mail_log.exists() else 0

    desk = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(desk, demo, agent)
    desk.goto(f"{demo.url}/console/incidents/{incident_id}")
    assert words["reach"] in desk.locator("#message-to option").nth(0).inner_text()
    desk.fill("#message-body", "Which wallet received the withdrawal at 03:12?")
    submit(desk, "form[action$='/messages'] button[type=submit]")  # the one reporter's thread, as the select has it
    shot(desk, f"{tag}-01-staff-asked")

    run_jobs(demo)
    mail = [json.loads(line) for line in mail_log.read_text().splitlines()][before:]
    mine = [m for m in mail if m["to"] == "reporter@example.net"]
    assert [words["subject"] in m["subject"] for m in mine] == [True]
    assert "03:12" not in mine[0]["text"] and "BLUE-HERON" not in mine[0]["text"]  # never the question, nor the code
    # the registered contact hears where the question waits, with the anti-phishing code
    [owner] = [m for m in mail if m["to"] == "owner@example.com"]
    assert "BLUE-HERON" in owner["text"] and "03:12" not in owner["text"]
    link = demo.url + re.findall(rf"/i/{incident_id}\?t=ldi_[\w-]+", mine[0]["text"])[-1]

    reporter = owner_page(chromium, language)  # the reporter opens the mail on another device
    reporter.goto(link)
    assert "Which wallet received the withdrawal" in text(reporter, "[data-testid=thread]")
    assert words["waiting"] in text(reporter, "[data-testid=awaiting-reply]")
    reporter.fill("#message-body", "My own wallet ends in 9f3a; the other one is not mine.")
    submit(reporter, "form[action$='/messages'] button[type=submit]")
    assert "ends in 9f3a" in text(reporter, "[data-testid=thread]")
    shot(reporter, f"{tag}-02-reporter-answered")

    desk.reload()
    assert "ends in 9f3a" in text(desk, "[data-testid=thread]")
    desk.context.close()
    reporter.context.close()
