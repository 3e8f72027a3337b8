"""What the browser tests share: Debian's Chromium under Playwright, the application on a real threaded server (with
the test settings, or with `make run`'s), and the steps every walk takes (sign in, submit, tick, run the worker's
jobs). The fixtures `chromium`, `live` and `demo` reach every module of tests/web through its conftest.
Screenshots land in tests/artifacts/ (git-ignored)."""
from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.db import utcnow
from tests import services
from tests.conftest import make_settings
from tests.factories import STAFF_PASSWORD, last_sms_code
from tests.web.conftest import ARTIFACTS, Clock, totp_now

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"
EVIDENCE_NOTE = "Exchange back office shows the owner's new password and authenticator (seen on the call)"


@dataclass
class LiveApp:
    """The application served on 127.0.0.1, its clock and its instance folder (SMS and mail logs)."""

    app: object
    url: str
    clock: Clock
    instance: object


def serve(sqlite_template, tmp_path, monkeypatch, **settings) -> Iterator[LiveApp]:
    """The app on a real threaded server over a copy of the migrated SQLite template, with these settings added."""
    database = tmp_path / "live.sqlite"
    shutil.copyfile(sqlite_template, database)
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    clock = Clock()
    app = create_app({**make_settings(f"sqlite:///{database}", instance), "LOCKDESK_CLOCK": clock,
                      **{name: value(instance) if callable(value) else value for name, value in settings.items()}})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveApp(app=app, url=f"http://127.0.0.1:{server.server_port}", clock=clock, instance=instance)
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["lockdesk"].engine.dispose()


@pytest.fixture
def live(sqlite_template, tmp_path, monkeypatch) -> Iterator[LiveApp]:
    """The app on a real threaded server with the test settings."""
    yield from serve(sqlite_template, tmp_path, monkeypatch)


def make_run_setting(name: str) -> str:
    """A setting exactly as `make run` exports it (so a walk runs on the demo's own values)."""
    return re.search(rf"^run: export {name} \?= (\S+)$", MAKEFILE.read_text(), re.MULTILINE).group(1)


@pytest.fixture
def demo(sqlite_template, tmp_path, monkeypatch) -> Iterator[LiveApp]:
    """The app on a real threaded server with `make run`'s settings (its 2-minute unfreeze wait, mail log)."""
    yield from serve(sqlite_template, tmp_path, monkeypatch,
                     UNFREEZE_MIN_WAIT_MINUTES=int(make_run_setting("UNFREEZE_MIN_WAIT_MINUTES")),
                     MAIL_LOG_PATH=lambda instance: str(instance / "mail.jsonl"),
                     CONSOLE_SIGN_IN_RATE_LIMIT="3 per minute")


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


def owner_page(chromium, language: str):
    """A phone-sized page in the owner's language."""
    return chromium.new_context(viewport=PHONE, locale=language, is_mobile=True, has_touch=True).new_page()


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


def text(page, selector: str) -> str:
    """The visible text of the first match."""
    return page.locator(selector).first.inner_text()


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


def catch_up(demo: LiveApp) -> None:
    """Move the pages' clock to just after the real one (the exchange and the outbox stamp real time)."""
    demo.clock.now = max(demo.clock.now, utcnow()) + timedelta(seconds=1)


def run_jobs(demo: LiveApp) -> None:
    """What the background worker would do now: the outbox, due unfreezes, audit sealing and messages."""
    catch_up(demo)
    ports = demo.app.extensions["lockdesk"].ports
    ports.dispatcher.drain(now=demo.clock.now)
    ports.review_jobs.execute_unfreezes()
    ports.dispatcher.drain(now=demo.clock.now)
    ports.tracer.run_due()
    ports.audit_sealer()
    ports.review_jobs.deliver_notifications()


def api_report(demo: LiveApp, account_id: str = "U1001", **extra) -> tuple[str, dict]:
    """A report through the JSON API; the incident id and the reporter's headers."""
    answer = demo.app.test_client().post("/api/v1/reports", json={"account_id": account_id,
                                                                  "kind": "stolen_account", **extra}).get_json()
    return answer["incident"]["id"], {"Authorization": f"Bearer {answer['access_token']}",
                                      "link": f"{demo.url}/i/{answer['incident']['id']}?t={answer['access_token']}"}


def api_verified_and_asked(demo: LiveApp, incident_id: str, owner: dict) -> str:
    """The owner verified with both codes and asked for the unfreeze (through the API); the request id."""
    client, headers = demo.app.test_client(), {"Authorization": owner["Authorization"]}
    verification = client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=headers).get_json()
    client.post(f"/api/v1/verifications/{verification['id']}/totp", json={"code": totp_now(demo.clock.now)},
                headers=headers)
    client.post(f"/api/v1/verifications/{verification['id']}/sms", headers=headers)
    client.post(f"/api/v1/verifications/{verification['id']}/sms/check", json={"code": last_sms_code(demo.app)},
                headers=headers)
    asked = client.post(f"/api/v1/incidents/{incident_id}/unfreeze-requests", headers=headers)
    assert asked.status_code == 201, asked.get_json()
    return asked.get_json()["id"]
