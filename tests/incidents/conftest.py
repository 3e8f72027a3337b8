"""Fixtures of the domain's tests (tests/factories.py makes the entities; review_support.py, exchange_peer.py and
outbox_support.py hold the steps)."""
from __future__ import annotations

from tests.inbox import inbox  # noqa: F401 - the real SMTP server, for every module here
