"""In the browser: staff reopen a case the exchange's 404 closed (a double click freezes once, a second tab is told
in its language), the owner sees it open again; a hand tick of a recovery step asks for the evidence and shows it;
a domain refusal flashed on a Chinese console page is Chinese."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from incidents.models import ExchangeCommand, Incident
from tests.factories import exchange_account, make_staff
from tests.incidents.outbox_support import wait_until
from tests.web.browser import (
    DESKTOP,
    EVIDENCE_NOTE,
    api_report,
    api_verified_and_asked,
    owner_page,
    shot,
    staff_sign_in,
    submit,
    text,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = ["en", "zh-CN"]
SAID = {
    "en": {"in_progress": "In progress", "frozen": "Frozen", "reopened": "reopened this case",
           "again": "freeze your account again", "freeze_note": "freeze the account again",
           "only_closed": "only a closed case can be reopened", "evidence": "evidence"},
    "zh-CN": {"in_progress": "处理中", "frozen": "已冻结", "reopened": "重新打开本工单",
              "again": "再次请求交易所冻结您的账户", "freeze_note": "再次请求交易所冻结该账户",
              "only_closed": "只有已关闭的工单才能重新打开", "evidence": "依据"},
}


def _freezes(demo, incident_id: str) -> int:
    with demo.app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(func.count()).select_from(ExchangeCommand).where(
            ExchangeCommand.incident_id == uuid.UUID(incident_id), ExchangeCommand.action == "freeze"))


def _status(demo, incident_id: str) -> str:
    with demo.app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(Incident.status).where(Incident.id == uuid.UUID(incident_id)))


def _open_when_settled(page, url: str, attempts: int = 5) -> None:
    """Open `url` once the page's own navigations are over: the second submission's answer may still arrive
    and interrupt or abort a navigation started meanwhile (Chromium says either), in which case it is started
    again."""
    for attempt in range(attempts):
        page.wait_for_load_state()
        try:
            page.goto(url)
            return
        except PlaywrightError as error:
            taken_over = "interrupted by another navigation" in str(error) or "net::ERR_ABORTED" in str(error)
            if not taken_over or attempt == attempts - 1:
                raise


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_reopen_a_case_closed_as_account_unknown_once_and_the_owner_sees_it_open(demo, chromium, language):
    said = SAID[language]
    incident_id, owner = api_report(demo, "U1001")  # the exchange answers 404: the case closes at once
    assert _status(demo, incident_id) == "closed" and _freezes(demo, incident_id) == 1
    exchange_account(demo.app, "U1001")  # the account exists now (say it was still being created)
    agent = make_staff(demo.app, "agent", "agent-1")
    context = chromium.new_context(viewport=DESKTOP, locale=language)
    page, late_tab = context.new_page(), context.new_page()
    staff_sign_in(page, demo, agent)
    case_url = f"{demo.url}/console/incidents/{incident_id}"
    page.goto(case_url)
    late_tab.goto(case_url)  # a second tab still shows the closed case
    assert said["freeze_note"] in text(page, "[data-testid=reopen-note]")  # told before the click
    page.fill("#reopen-reason", "The owner confirmed the ID; the exchange had not created the account yet")
    # Two submissions: the browser abandons the first page load for the second (which a wait for "the"
    # navigation would see aborted), so wait for the case itself to move.
    page.dblclick("[data-testid=reopen]")
    assert wait_until(lambda: _status(demo, incident_id) != "closed", seconds=30)
    _open_when_settled(page, case_url)
    assert text(page, "[data-testid=ticket-status]") == said["in_progress"]
    assert text(page, "[data-testid=containment]") == said["frozen"]
    assert page.locator("[data-testid=reopen-form]").count() == 0
    assert _freezes(demo, incident_id) == 2  # the refused one of the report, and one for the reopening
    shot(page, f"reopen-{language.lower()}-01-console")

    late_tab.fill("#reopen-reason", "reopening from a stale tab")
    submit(late_tab, "[data-testid=reopen]")
    assert said["only_closed"] in text(late_tab, "[role=alert]")
    assert _freezes(demo, incident_id) == 2
    context.close()

    owner_view = owner_page(chromium, language)
    owner_view.goto(owner["link"])
    assert said["reopened"] in text(owner_view, "[data-testid=reopened]")
    assert said["again"] in text(owner_view, "[data-testid=reopened]")
    assert text(owner_view, "[data-testid=ticket-status]") == said["in_progress"]
    assert owner_view.locator("[data-testid=outcome]").count() == 0  # no longer "no such account"
    shot(owner_view, f"reopen-{language.lower()}-02-owner")
    owner_view.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_hand_tick_of_the_password_reset_asks_for_the_evidence_and_shows_it(demo, chromium, language):
    said = SAID[language]
    exchange_account(demo.app, "U1001")
    incident_id, owner = api_report(demo)
    api_verified_and_asked(demo, incident_id, owner)
    agent = make_staff(demo.app, "agent", "agent-1")
    page = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(page, demo, agent)
    page.goto(f"{demo.url}/console/incidents/{incident_id}")
    item = page.locator("[data-testid=item-password_reset]")
    assert item.locator("input[name=note][required]").count() == 1  # the page asks before the click

    # Sent without the note (a browser without `required`): the domain refuses, told in the page's language.
    item.locator("input[name=note]").evaluate("field => field.removeAttribute('required')")
    with page.expect_navigation():
        item.locator("button.primary").click()
    refusal = text(page, "[role=alert]")
    assert ("evidence you checked" if language == "en" else "请填写您核实过的依据") in refusal
    assert "password_reset" not in refusal and "todo" in item.get_attribute("class")

    item.locator("input[name=note]").fill(EVIDENCE_NOTE)
    with page.expect_navigation():
        item.locator("button.primary").click()
    assert "done" in item.get_attribute("class")
    shown = text(page, "[data-testid=attested-password_reset]")
    assert EVIDENCE_NOTE in shown and said["evidence"] in shown
    shot(page, f"evidence-{language.lower()}-01-ticked")
    page.context.close()


def test_reopening_an_account_the_exchange_still_does_not_know_says_it_closed_again(demo, chromium):
    incident_id, _owner = api_report(demo, "U7777")  # mistyped, and still unknown when staff reopen
    agent = make_staff(demo.app, "agent", "agent-1")
    page = chromium.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    staff_sign_in(page, demo, agent)
    page.goto(f"{demo.url}/console/incidents/{incident_id}")
    page.fill("#reopen-reason", "The owner says the ID is right")
    submit(page, "[data-testid=reopen]")
    said = text(page, "[role=alert]")
    assert "交易所仍然没有账户 U7777" in said and "重新提交报告" in said  # what happened, what comes next
    assert _status(demo, incident_id) == "closed" and _freezes(demo, incident_id) == 2
    assert page.locator("[data-testid=reopen-form]").count() == 1  # the door stays open for the right moment
    page.context.close()
