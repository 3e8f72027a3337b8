"""Each dead end of the journey, in Debian's Chromium: the page names the next action and when it becomes possible.
The set-up before each page is done through the JSON API and the domain, as another client of the same server."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from app.db import utcnow
from exchange_sim.models import BackofficeSecurityEvent
from incidents.models import Incident
from tests.factories import exchange_account, last_sms_code, make_staff, OWNER_TOTP_SECRET
from tests.web.conftest import totp_now
from tests.web.browser import (
    DESKTOP,
    api_report,
    api_verified_and_asked,
    catch_up,
    owner_page,
    run_jobs,
    shot,
    staff_sign_in,
    submit,
    text,
    tick_next_item,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LANGUAGES = ("en", "zh-CN")
SAID = {
    "en": {"sms_burned": "Start a new verification", "locked": "locked", "left": "left", "false_report":
           "false report", "sent": "registered at the exchange", "not_set_up": "not set up", "agent": "agent",
           "cancelled": "stays frozen", "owner_trace": "reviews this transaction with the exchange"},
    "zh-CN": {"sms_burned": "开始新的验证", "locked": "锁定", "left": "剩余", "false_report": "误报",
              "sent": "在交易所登记", "not_set_up": "未配置", "agent": "经办人", "cancelled": "保持冻结",
              "owner_trace": "与交易所一起核查这笔交易"},
}


def wrong_totp(at) -> str:
    """A six-digit code the owner's authenticator does not show around this time."""
    totp = pyotp.TOTP(OWNER_TOTP_SECRET)
    valid = {totp.at(at + timedelta(seconds=step)) for step in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444", "555555", "666666")
                if code not in valid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_burned_sms_code_offers_a_new_verification_and_a_locked_authenticator_says_until_when(
        demo, chromium, language):
    said = SAID[language]
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo)
    page = owner_page(chromium, language)
    page.goto(owner["link"])
    submit(page, "form[action$='/verification'] button")
    for _attempt in range(5):
        page.fill("#totp-code", wrong_totp(demo.clock.now))
        submit(page, "form[action$='/verification/totp'] button")
    locked = text(page, "[data-testid=totp-locked]")
    assert said["locked"] in locked and said["left"] in locked and "UTC" in locked  # until when, and how long
    submit(page, "form[action$='/verification/sms'] button")
    for _attempt in range(5):
        page.fill("#sms-code", "000000" if last_sms_code(demo.app) != "000000" else "111111")
        submit(page, "form[action$='/sms/check'] button")
    assert said["sms_burned"] in text(page, "[data-testid=next-step]")
    shot(page, f"journey-{language.lower()}-05-dead-ends")
    demo.clock.advance(seconds=1)  # the pages' clock stands still otherwise: the new one is the newer
    submit(page, "form[action$='/verification'] button")  # the way on, offered right there
    assert page.locator("[data-testid=verification-status]").count() == 1  # a new verification is open
    page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_owner_can_take_a_report_back_and_is_told_the_account_stays_frozen(demo, chromium, language):
    exchange_account(demo.app, "U1001")
    _incident_id, owner = api_report(demo)
    page = owner_page(chromium, language)
    page.goto(owner["link"])
    page.check("#take-back-confirm")
    submit(page, "form[action$='/take-back'] button")
    assert SAID[language]["false_report"] in text(page, "[data-testid=outcome]")
    assert page.locator("#take-back").count() == 0 and page.locator("#verify").count() == 0
    shot(page, f"journey-{language.lower()}-06-taken-back")
    page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_case_link_is_sent_again_to_the_registered_contacts_never_shown(demo, chromium, language):
    exchange_account(demo.app, "U1001")
    incident_id, _owner = api_report(demo)
    run_jobs(demo)
    page = owner_page(chromium, language)
    page.goto(f"{demo.url}/report")
    page.click("a[href$='/lost-link']")
    page.fill("#account_id", "U1001")
    submit(page, "form[action$='/lost-link'] button")
    assert SAID[language]["sent"] in text(page, ".notice.success")
    assert "?t=" not in page.content()  # the link itself never reaches the asker's page
    run_jobs(demo)
    mail = [json.loads(line) for line in (demo.instance / "mail.jsonl").read_text().splitlines()]
    resent = [message for message in mail if f"/i/{incident_id}?t=ldi_" in message["text"]]
    assert len(resent) >= 2 and all("BLUE-HERON" in message["text"] for message in resent)
    assert all(message["to"] == "owner@example.com" for message in resent)
    path = re.search(rf"/i/{incident_id}\?t=ldi_[\w-]+", resent[-1]["text"]).group(0)  # on PUBLIC_BASE_URL
    page.goto(demo.url + path)
    assert page.locator("[data-testid=ticket-status]").count() == 1  # the new link opens the case
    page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_checklist_says_what_to_do_and_ticks_itself_from_the_exchanges_security_events(
        demo, chromium, language):
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo)
    api_verified_and_asked(demo, incident_id, owner)
    page = owner_page(chromium, language)
    page.goto(owner["link"])
    item = page.locator("[data-testid=owner-item-password_reset]")
    assert "todo" in item.get_attribute("class") and item.locator(".hint").inner_text()  # what to do, where
    with demo.app.extensions["lockdesk"].sessions() as session:  # the owner resets the password at the exchange
        session.add(BackofficeSecurityEvent(account_id="U1001", kind="password_reset", at=utcnow()))
        session.commit()
    catch_up(demo)
    submit(page, "form[action$='/account/recheck'] button")
    assert "done" in page.locator("[data-testid=owner-item-password_reset]").get_attribute("class")
    assert "todo" in page.locator("[data-testid=owner-item-two_factor_rebound]").get_attribute("class")
    shot(page, f"journey-{language.lower()}-07-checklist")
    runner = demo.app.test_cli_runner()  # the demo plays the owner's new password and authenticator at the exchange
    for kind in ("password_reset", "totp_changed"):
        played = runner.invoke(args=["exchange", "add-security-event", "--account", "U1001", "--kind", kind])
        assert played.exit_code == 0, played.output
    refused = runner.invoke(args=["exchange", "add-security-event", "--account", "NOPE", "--kind", "password_reset"])
    assert refused.exit_code == 2 and "no account NOPE" in refused.output
    run_jobs(demo)  # the clock passes the events' time
    submit(page, "form[action$='/account/recheck'] button")
    for item in ("password_reset", "two_factor_rebound"):
        assert "done" in page.locator(f"[data-testid=owner-item-{item}]").get_attribute("class")
    page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_officer_sees_before_ticking_that_it_makes_them_the_agent_and_closing_cancels_the_unfreeze(
        demo, chromium, language):
    said = SAID[language]
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo, transactions=[{"chain": "ethereum", "hash": "0x" + "5e" * 32}])
    api_verified_and_asked(demo, incident_id, owner)
    run_jobs(demo)  # the worker tries the reported hash's trace: no explorer is configured for ethereum
    officer = make_staff(demo.app, "risk_officer", "officer-1")
    page = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(page, demo, officer)
    page.goto(f"{demo.url}/console/incidents/{incident_id}")
    assert said["agent"] in text(page, "[data-testid=agent-warning]")  # told before the click
    assert page.locator("#decide-approve").count() == 1
    tick_next_item(page)
    assert said["agent"] in text(page, "[data-testid=decision-standing]")
    assert page.locator("#decide-approve").count() == 0 and page.locator("#decide-reject").count() == 1
    assert said["not_set_up"] in text(page, "[data-testid=trace-error]")  # no explorer: not a failure
    assert page.locator("article.trace").count() == 1  # the reported hash is traced once
    page.select_option("#to", "closed")
    submit(page, "form[action$='/status'] button")
    assert said["cancelled"] in text(page, "[data-testid=request-cancelled]")
    shot(page, f"journey-{language.lower()}-08-officer")
    owner_view = owner_page(chromium, language)
    owner_view.goto(owner["link"])
    assert said["owner_trace"] in text(owner_view, "[data-testid=owner-trace]")  # nothing alarming for the owner
    page.context.close()
    owner_view.context.close()


def test_the_chinese_console_prints_no_raw_keys_and_its_menus_fit(demo, chromium):
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo)
    api_verified_and_asked(demo, incident_id, owner)
    agent = make_staff(demo.app, "agent", "agent-1")
    page = chromium.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    staff_sign_in(page, demo, agent)
    queue = page.inner_text("main")
    for raw in ("critical", "stolen_account", "support", "risk", "frozen", "Awaiting your reply"):
        assert raw not in queue
    widths = page.evaluate("""() => [...document.querySelectorAll('.filters select')].map(s => {
        const probe = document.createElement('span'); probe.style.font = getComputedStyle(s).font;
        probe.textContent = s.options[s.selectedIndex].text; document.body.appendChild(probe);
        const need = probe.getBoundingClientRect().width; probe.remove(); return [need, s.clientWidth]; })""")
    assert all(need < width for need, width in widths)  # "SLA due, soonest first" is not cut off
    header = page.locator("header.top").bounding_box()
    first = page.locator("main > *").first.bounding_box()
    assert first["y"] >= header["y"] + header["height"] + 8  # content does not touch the header bar
    page.goto(f"{demo.url}/console/incidents/{incident_id}")
    case = page.inner_text("main")
    for raw in ("critical", "stolen_account", "reporter:", "incident.", "verification.", "unfreeze.", "completed"):
        assert raw not in case, raw
    assert page.input_value("#to") == ""  # the status menu starts on no choice
    shot(page, "journey-zh-cn-09-console")
    page.context.close()


def test_browsers_get_html_error_pages_a_favicon_and_the_console_its_own_429(demo, chromium):
    page = chromium.new_context(viewport=DESKTOP, locale="en").new_page()
    response = page.goto(f"{demo.url}/no-such-page")
    assert response.status == 404 and response.headers["content-type"].startswith("text/html")
    icon = page.goto(f"{demo.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    api = demo.app.test_client().get("/no-such-page", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    for _attempt in range(4):  # the test server allows 3 sign-ins a minute
        page.goto(f"{demo.url}/console/sign-in")
        page.fill("#name", "nobody")
        page.fill("#password", "wrong")
        page.fill("#code", "000000")
        with page.expect_navigation():
            page.click("form[action$='/sign-in'] button[type=submit]")
    assert "Report a problem" not in page.inner_text("main")
    assert page.locator("a[href$='/console/']").count() >= 1
    page.context.close()


def test_a_closed_case_shows_when_it_ended_in_the_queue(demo, chromium):
    incident_id, _owner = api_report(demo, "U9999")  # unknown to the exchange: closed at once
    with demo.app.extensions["lockdesk"].sessions() as session:
        incident = session.scalar(select(Incident).where(Incident.id == uuid.UUID(incident_id)))
        assert incident.outcome == "account_unknown"
    officer = make_staff(demo.app, "risk_officer", "officer-1")
    page = chromium.new_context(viewport=DESKTOP, locale="en").new_page()
    staff_sign_in(page, demo, officer)
    page.goto(f"{demo.url}/console/?status=closed")
    row = page.inner_text("table.queue")
    assert "Ended" in row and "left" not in row
    page.context.close()



REPLAY_SAID = {"en": ("already been used", "second"), "zh-CN": ("已被使用", "秒")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_just_used_authenticator_code_says_to_wait_for_the_next_code_and_how_long(demo, chromium, language):
    used, unit = REPLAY_SAID[language]
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo)
    client, headers = demo.app.test_client(), {"Authorization": owner["Authorization"]}
    code = totp_now(demo.clock.now)
    first = client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=headers).get_json()
    assert client.post(f"/api/v1/verifications/{first['id']}/totp", json={"code": code},
                       headers=headers).status_code == 200
    demo.clock.advance(seconds=1)  # still the same 30 s step: the code the owner just typed is still on screen
    assert client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=headers).status_code == 201
    page = owner_page(chromium, language)
    page.goto(owner["link"])  # a new verification is open: the owner types the same code again
    page.fill("#totp-code", code)
    submit(page, "form[action$='/verification/totp'] button")
    said = text(page, "[role=alert]")
    assert used in said and unit in said
    assert re.search(r"\d+", said)  # how long until the next code
    shot(page, f"journey-{language.lower()}-05-totp-replay")
    page.context.close()
