"""Dead ends met walking the demo as a newcomer, each proven gone in the browser: the console answers the thread
of the owner who wrote last (and only an asked owner reads "waiting for your reply"), the timeline has words for
every event, the queue opens on the cases still being worked, a used step-up code says when the next one comes,
and the owner learns when the withdrawal hold ends. (The demo playing the owner's new password and
authenticator at the exchange is proven with the checklist's own test, in test_journey_steps_browser.py.)"""
from __future__ import annotations

import re

import pytest

from tests.factories import exchange_account, make_staff
from tests.web.browser import (
    DESKTOP,
    api_report,
    api_verified_and_asked,
    make_run_setting,
    owner_page,
    run_jobs,
    staff_sign_in,
    submit,
    text,
    tick_all_items,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = ["en", "zh-CN"]
SAID = {
    "en": {"reporter_2": "reporter 2", "waiting": "waiting for your reply", "next_code": "new code in about",
           "hold": "Withdrawals stay on hold until", "worked": "Still being worked"},
    "zh-CN": {"reporter_2": "报告人 2", "waiting": "等待您的回复", "next_code": "秒",
              "hold": "提现将暂缓至", "worked": "处理中的工单"},
}
RAW_EVENT = re.compile(r"\b(?:message|attachment|incident|unfreeze|verification|exchange)\.[a-z_]+")


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_answer_the_owner_who_wrote_last_and_only_that_owner_is_asked(demo, chromium, language):
    said = SAID[language]
    exchange_account(demo.app, "U1001")
    incident_id, first = api_report(demo)
    _same_incident, second = api_report(demo)  # the owner reported again from another device: a second thread
    owner = owner_page(chromium, language)
    owner.goto(second["link"])
    owner.fill("#message-body", "The withdrawal at 03:12 was not me.")
    submit(owner, "form:has(#message-body) button[type=submit]")

    agent = make_staff(demo.app, "agent", "agent-1")
    desk = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(desk, demo, agent)
    desk.goto(f"{demo.url}/console/incidents/{incident_id}")
    assert said["reporter_2"] in desk.locator("#message-to option:checked").inner_text()  # the one who wrote
    desk.fill("#message-body", "Please send a screenshot of the withdrawal.")
    submit(desk, "form:has(#message-body) button[type=submit]")
    assert not RAW_EVENT.search(desk.inner_text("ol.timeline")), "every event has words"
    desk.context.close()

    owner.goto(second["link"])
    assert said["waiting"] in text(owner, "[data-testid=awaiting-reply]")
    assert "Please send a screenshot" in owner.inner_text("#conversation")
    owner.goto(first["link"])  # the other thread was not asked anything
    assert owner.locator("[data-testid=awaiting-reply]").count() == 0
    owner.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_used_step_up_code_says_when_the_next_comes_and_the_owner_learns_when_withdrawals_open(
        demo, chromium, language):
    said = SAID[language]
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo)
    api_verified_and_asked(demo, incident_id, owner)
    _closed, _owner = api_report(demo, "U9999")  # unknown to the exchange: closed at once
    agent, officer = make_staff(demo.app, "agent", "agent-1"), make_staff(demo.app, "risk_officer", "officer-1")
    desk = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(desk, demo, agent)
    assert said["worked"] in desk.locator("#f-status option:checked").inner_text()
    assert desk.locator("table.queue a").count() == 1  # the closed case waits under "any"
    submit(desk, "table.queue a")
    tick_all_items(desk)
    desk.context.close()

    page = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(page, demo, officer)
    page.goto(f"{demo.url}/console/incidents/{incident_id}")
    page.fill("#decision-reason", "Owner verified with trusted factors")
    page.fill("#decision-totp", officer.code(demo.clock.now))  # the code the sign-in just used
    submit(page, ".decision-form button[type=submit]")
    refusal = text(page, "[role=alert]")
    assert said["next_code"] in refusal and re.search(r"\d+", refusal)  # how long until the next code
    demo.clock.advance(seconds=31)
    page.fill("#decision-reason", "Owner verified with trusted factors")
    page.fill("#decision-totp", officer.code(demo.clock.now))
    submit(page, ".decision-form button[type=submit]")
    assert page.locator("[data-testid=decision]").count() == 1
    page.context.close()

    demo.clock.advance(minutes=int(make_run_setting("UNFREEZE_MIN_WAIT_MINUTES")) + 1)
    run_jobs(demo)
    view = owner_page(chromium, language)
    view.goto(owner["link"])
    held = text(view, "[data-testid=outcome]")
    assert said["hold"] in held and "UTC" in held  # until when, not "for a while"
    view.context.close()
