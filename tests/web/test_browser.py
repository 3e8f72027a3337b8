"""End to end in headless Chromium (Debian's, driven by Playwright) against a real threaded server.

An owner reports on a phone-sized screen, sees the account frozen, verifies with TOTP and SMS and
asks for the unfreeze; an agent completes the checklist; two risk officers sign in and approve; the
owner's page then shows the account unfrozen. The owner's part runs in English and in Chinese.
Screenshots of every page land in tests/artifacts/ (git-ignored).
"""
from __future__ import annotations


import pytest

from tests.factories import exchange_account, last_sms_code, make_staff
from tests.web.conftest import run_follow_ups, totp_now
from tests.web.browser import DESKTOP, PHONE, shot, staff_sign_in, submit, tick_all_items

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = {
    "en": {"frozen": "Frozen", "verified": "Identity verified", "review": "Under review", "unfrozen": "Unfrozen",
           "accepted": "Accepted"},
    "zh-CN": {"frozen": "已冻结", "verified": "身份已验证", "review": "审核中", "unfrozen": "已解冻",
              "accepted": "已受理"},
}


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_owner_reports_verifies_and_is_unfrozen_after_two_officers_approve(live, chromium, language):
    words, tag = LANGUAGES[language], language.lower()
    app = live.app
    exchange_account(app, "U1001")
    agent = make_staff(app, "agent", "agent-1")
    officers = [make_staff(app, "risk_officer", "officer-1"), make_staff(app, "risk_officer", "officer-2")]

    owner = chromium.new_context(viewport=PHONE, locale=language, device_scale_factor=1, is_mobile=True,
                                 has_touch=True).new_page()
    owner.goto(f"{live.url}/report")
    owner.fill("#account_id", "U1001")
    owner.check("#kind-unauthorized_withdrawal")
    owner.fill("#description", "Withdrawal at 03:12 was not me")
    owner.fill("#tx_hash_0", "0x" + "ab" * 32)
    owner.fill("#loss_usd", "25000")
    owner.fill("#email", "owner@example.com")
    owner.fill("#phone", "+15550001")
    shot(owner, f"{tag}-01-report-form")
    submit(owner, "form[action$='/report'] button[type=submit]")
    assert words["frozen"] in owner.inner_text(".state")
    link = owner.input_value("#access-link")
    assert "?t=ldi_" in link
    shot(owner, f"{tag}-02-answer")

    run_follow_ups(app)  # the exchange's account snapshot, which the verification needs
    owner.goto(link)
    assert "?t=" not in owner.url  # the token left the address bar for a cookie
    assert owner.inner_text("[data-testid=containment]") == words["frozen"]
    assert owner.inner_text("[data-testid=ticket-status]") == words["accepted"]
    shot(owner, f"{tag}-03-case")
    submit(owner, "form[action$='/verification'] button")
    shot(owner, f"{tag}-04-verification")
    owner.fill("#totp-code", totp_now(live.clock.now))
    submit(owner, "form[action$='/verification/totp'] button")
    submit(owner, "form[action$='/verification/sms'] button")
    owner.fill("#sms-code", last_sms_code(live.app))
    submit(owner, "form[action$='/sms/check'] button")
    assert owner.inner_text("[data-testid=verification-status]") == words["verified"]
    submit(owner, "form[action$='/unfreeze'] button")
    assert owner.inner_text("[data-testid=unfreeze-status]") == words["review"]
    shot(owner, f"{tag}-05-unfreeze-requested")

    desk = chromium.new_context(viewport=DESKTOP, locale=language)
    agent_page = desk.new_page()
    staff_sign_in(agent_page, live, agent)
    shot(agent_page, f"{tag}-06-queue")
    submit(agent_page, "table.queue a")
    tick_all_items(agent_page)
    assert agent_page.locator(".staff-checklist li.todo").count() == 0
    shot(agent_page, f"{tag}-07-checklist-done")
    case_url = agent_page.url
    desk.close()

    live.clock.advance(hours=2, minutes=5)  # past the two-hour minimum before an unfreeze
    for number, officer in enumerate(officers, start=1):
        context = chromium.new_context(viewport=DESKTOP, locale=language)
        page = context.new_page()
        staff_sign_in(page, live, officer)
        page.goto(case_url)
        live.clock.advance(seconds=31)  # the decision carries a fresh code, not the sign-in's
        page.fill("#decision-reason", "Owner verified with trusted factors; checklist complete")
        page.fill("#decision-totp", officer.code(live.clock.now))
        submit(page, ".decision-form button[type=submit]")
        assert page.locator(".decision-approve").count() == number
        shot(page, f"{tag}-08-officer-{number}-approved")
        context.close()

    app.extensions["lockdesk"].ports.dispatcher.drain(now=live.clock.now)  # the unfreeze through the outbox
    owner.reload()
    assert owner.inner_text("[data-testid=containment]") == words["unfrozen"]
    shot(owner, f"{tag}-09-unfrozen")
    owner.context.close()
