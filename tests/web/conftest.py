"""Fixtures of the page tests: an injectable clock, the owner's codes, forms' CSRF tokens.

Exchange accounts and staff come from tests/factories.py, the `agent` and `officer` fixtures from tests/conftest.py."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from app.db import utcnow
from tests.factories import OWNER_TOTP_SECRET

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


class Clock:
    """A clock the pages read (LOCKDESK_CLOCK) that a test moves forward."""

    def __init__(self, start: datetime | None = None):
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        """The current test time."""
        return self.now

    def advance(self, **delta) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """The pages' clock, starting now."""
    return Clock()


@pytest.fixture
def settings(settings, clock):
    """The shared test settings, with the pages' clock injected."""
    return {**settings, "LOCKDESK_CLOCK": clock}


def run_follow_ups(app) -> None:
    """Run the freeze's follow-ups (snapshot, withdrawals) the background worker would run."""
    app.extensions["lockdesk"].ports.dispatcher.drain()


def totp_now(at: datetime | None = None) -> str:
    """The owner's authenticator code."""
    return pyotp.TOTP(OWNER_TOTP_SECRET).at(at or datetime.now(UTC))


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# The browser tests' fixtures, for every module here (imported last: tests/web/browser.py uses the helpers above).
from tests.web.browser import chromium, demo, live  # noqa: E402, F401
