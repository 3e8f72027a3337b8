"""Fixtures of the hand-off tests: an instance with its signing key."""
from __future__ import annotations

import pytest

from tests.handoff.support import SIGNING_SEED


@pytest.fixture
def settings(settings):
    """The test settings with this instance's Ed25519 signing key and name."""
    return {**settings, "SIGNING_KEY": SIGNING_SEED, "EXCHANGE_NAME": "Lockdesk Test Exchange"}
