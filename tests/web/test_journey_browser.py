"""The owner's and the staff's journey in Debian's Chromium, on `make run`'s own settings: at every step the page
says what happened, what happens next, when, and what the person can do. English and Chinese.
Screenshots land in tests/artifacts/journey-*.png."""
from __future__ import annotations

import json
import re

import pytest

from tests.factories import exchange_account, last_sms_code, make_staff
from tests.web.conftest import totp_now
from tests.web.browser import (
    DESKTOP,
    LiveApp,
    make_run_setting,
    owner_page,
    run_jobs,
    shot,
    staff_sign_in,
    submit,
    text,
    tick_all_items,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORDS = {
    "en": {"frozen": "Frozen", "unfrozen": "Unfrozen", "accepted": "Accepted", "in_progress": "In progress",
           "resolved": "Resolved", "closed": "Closed", "verified": "Identity verified", "left": "left",
           "ended": "Ended", "approved_by": "Approved by officer-1", "no_account": "has no account with the ID",
           "passed": "Passed"},
    "zh-CN": {"frozen": "已冻结", "unfrozen": "已解冻", "accepted": "已受理", "in_progress": "处理中",
              "resolved": "已解决", "closed": "已关闭", "verified": "身份已验证", "left": "剩余",
              "ended": "结束", "approved_by": "officer-1 已批准", "no_account": "没有账户 ID 为",
              "passed": "已通过"},
}


def report(page, demo: LiveApp, account_id: str, *, tx_hash: str | None = None, loss: str | None = None) -> str:
    """File a report through the form; the access link shown on the answer page."""
    page.goto(f"{demo.url}/report")
    page.fill("#account_id", account_id)
    if tx_hash:
        page.fill("#tx_hash_0", tx_hash)
    if loss:
        page.fill("#loss_usd", loss)
    submit(page, "form[action$='/report'] button[type=submit]")
    return page.input_value("#access-link")


@pytest.mark.parametrize("language", list(WORDS))
def test_the_readme_walk_reaches_unfrozen_on_make_runs_settings(demo, chromium, language):
    words, tag = WORDS[language], language.lower()
    exchange_account(demo.app, "U1001")
    agent = make_staff(demo.app, "agent", "agent-1")
    officers = [make_staff(demo.app, "risk_officer", "officer-1"), make_staff(demo.app, "risk_officer", "officer-2")]

    owner = owner_page(chromium, language)
    link = report(owner, demo, "U1001", loss="25000")  # a high loss: two officers must approve
    assert owner.locator("button[data-copy='#access-link']").is_visible()  # the copy button, shown by live.js
    owner.goto(link)
    assert text(owner, "[data-testid=ticket-status]") == words["accepted"]
    # No follow-up has run: starting the verification fetches the account's details itself (item 3).
    submit(owner, "form[action$='/verification'] button")
    assert text(owner, "[data-testid=ticket-status]") == words["in_progress"]
    owner.fill("#totp-code", totp_now(demo.clock.now))
    submit(owner, "form[action$='/verification/totp'] button")
    assert text(owner, "[data-testid=factor-totp]") == words["passed"]
    submit(owner, "form[action$='/verification/sms'] button")
    owner.fill("#sms-code", last_sms_code(demo.app))
    submit(owner, "form[action$='/sms/check'] button")
    assert text(owner, "[data-testid=verification-status]") == words["verified"]
    submit(owner, "form[action$='/unfreeze'] button")
    earliest = text(owner, "[data-testid=earliest-unfreeze]")
    assert words["left"] in earliest and re.search(r"\d:\d\d", earliest)  # the live countdown, minutes:seconds
    shot(owner, f"journey-{tag}-01-unfreeze-asked")

    desk = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(desk, demo, agent)
    submit(desk, "table.queue a")
    tick_all_items(desk)
    case_url = desk.url
    desk.context.close()

    for number, officer in enumerate(officers, start=1):
        page = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
        staff_sign_in(page, demo, officer)
        page.goto(case_url)
        demo.clock.advance(seconds=31)  # the decision carries a fresh code, not the sign-in's
        page.fill("#decision-reason", "Owner verified with trusted factors; checklist complete")
        page.fill("#decision-totp", officer.code(demo.clock.now))
        submit(page, ".decision-form button[type=submit]")
        decisions = page.locator("[data-testid=decision]").all_inner_texts()
        assert len(decisions) == number and words["approved_by"] in decisions[0]  # who approved, and when
        assert page.locator(".decision-form").count() == 0  # no form for an officer who has decided
        shot(page, f"journey-{tag}-02-officer-{number}-approved")
        page.context.close()

    owner.reload()
    assert "UTC" in text(owner, "[data-testid=owner-decision]")  # approved at …, unfrozen at … at the earliest
    demo.clock.advance(minutes=int(make_run_setting("UNFREEZE_MIN_WAIT_MINUTES")) + 1)
    run_jobs(demo)
    # The page refreshes its own state: no reload.
    owner.wait_for_function(f"() => document.querySelector('[data-testid=containment]').innerText.trim() === "
                            f"{json.dumps(words['unfrozen'])}", timeout=30_000)
    assert text(owner, "[data-testid=ticket-status]") == words["resolved"]
    assert words["ended"] in text(owner, "[data-testid=sla-ended]")  # no clock runs after the end
    shot(owner, f"journey-{tag}-03-unfrozen")
    mail = [json.loads(line) for line in (demo.instance / "mail.jsonl").read_text().splitlines()]
    approved = [message for message in mail if "BLUE-HERON" in message["text"] and "/i/" in message["text"]]
    assert approved, "every message to the owner carries the case link and the anti-phishing code"
    assert any("UTC" in message["text"] for message in approved)  # the approval states the time
    owner.context.close()


@pytest.mark.parametrize("language", list(WORDS))
def test_a_mistyped_account_id_closes_the_case_and_says_to_check_the_id(demo, chromium, language):
    words = WORDS[language]
    owner = owner_page(chromium, language)
    link = report(owner, demo, "U9999")
    assert words["no_account"] in text(owner, "[data-testid=outcome]")
    owner.goto(link)
    assert text(owner, "[data-testid=ticket-status]") == words["closed"]
    assert owner.locator("#verify").count() == 0  # nothing to verify: no loop of "try again in a minute"
    shot(owner, f"journey-{language.lower()}-04-unknown-account")
    owner.context.close()
