"""Shared fixtures of the case domain's tests: one factory per staff role (the agent and the risk officer)."""
from __future__ import annotations

import pytest

from tests.incidents.review_support import new_staff


@pytest.fixture
def agent(app):
    """A support agent, created through the staff service."""
    return new_staff(app, "agent")


@pytest.fixture
def officer(app):
    """A risk officer (decides unfreezes), created through the staff service."""
    return new_staff(app, "risk_officer")
