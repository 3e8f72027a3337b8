"""End to end in headless Chromium (Debian's, driven by Playwright) against a real threaded server.

An owner reports on a phone-sized screen, sees the account frozen, verifies with TOTP and SMS and
asks for the unfreeze; an agent completes the checklist; two risk officers sign in and approve; the
owner's page then shows the account unfrozen. The owner's part runs in English and in Chinese.
Screenshots of every page land in tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests import services
from tests.conftest import make_settings
from tests.factories import exchange_account, last_sms_code, make_staff, STAFF_PASSWORD
from tests.web.conftest import ARTIFACTS, Clock, run_follow_ups, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class LiveApp:
    """The application served on 127.0.0.1, its clock and where the SMS log is."""

    app: object
    url: str
    clock: Clock
    instance: object


@pytest.fixture
def live(sqlite_template, tmp_path, monkeypatch) -> Iterator[LiveApp]:
    """The app on a real threaded server (SQLite copy of the migrated template)."""
    database = tmp_path / "live.sqlite"
    shutil.copyfile(sqlite_template, database)
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    clock = Clock()
    app = create_app({**make_settings(f"sqlite:///{database}", instance), "LOCKDESK_CLOCK": clock})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveApp(app=app, url=f"http://127.0.0.1:{server.server_port}", clock=clock, instance=instance)
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["lockdesk"].engine.dispose()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium under Playwright (Playwright never downloads a browser of its own)."""
    services.require("chromium")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=services.chromium_path(), headless=True,
                                         args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


def shot(page, name: str) -> None:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def submit(page, selector: str) -> None:
    """Click a form's button (or a link) and wait until the page it leads to has loaded.

    A bare click returns once the POST is under way, so whatever is read next could still be the old
    page on a busy machine.
    """
    with page.expect_navigation():
        page.click(selector)


EVIDENCE_NOTE = "Exchange back office shows the owner's new password and authenticator (seen on the call)"


def tick_next_item(page) -> None:
    """Tick the first open checklist item by hand, writing the evidence where the item asks for it."""
    form = page.locator(".staff-checklist form:has(button.primary)").first
    if form.locator("input[name=note]").count():
        form.locator("input[name=note]").fill(EVIDENCE_NOTE)
    with page.expect_navigation():
        form.locator("button.primary").click()


def tick_all_items(page) -> None:
    """Tick every open checklist item by hand."""
    while page.locator(".staff-checklist form button.primary").count():
        tick_next_item(page)


def staff_sign_in(page, live: LiveApp, member) -> None:
    """Sign in to the console through the form."""
    page.goto(f"{live.url}/console/sign-in")
    page.fill("#name", member.name)
    page.fill("#password", STAFF_PASSWORD)
    page.fill("#code", member.code(live.clock.now))
    submit(page, "form[action$='/sign-in'] button[type=submit]")


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
