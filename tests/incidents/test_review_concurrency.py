"""Two officers giving the final approvals at the same moment on PostgreSQL: exactly one unfreeze command."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kernel.errors import Conflict
from incidents.models import ExchangeCommand, UnfreezeExecution
from tests import services
from tests.factories import make_staff
from tests.incidents.review_support import (
    attest_remaining,
    decide,
    frozen_case,
    incident_of,
    pass_verification,
    raise_request,
    sessions_of,
)


@pytest.fixture
def settings(settings):
    services.require("postgresql")
    if not settings["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("the race is proven on PostgreSQL row locks")
    return settings


def race(app, request_id, officers, now):
    """Every officer decides at once, released by one barrier; the outcomes in order."""
    barrier = threading.Barrier(len(officers))
    outcomes: list = [None] * len(officers)

    def run(index, officer):
        barrier.wait()
        try:
            outcomes[index] = decide(app, request_id, officer, now=now).status
        except Conflict as error:
            outcomes[index] = f"409 {error.detail}"

    threads = [threading.Thread(target=run, args=(index, officer)) for index, officer in enumerate(officers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def count_unfreezes(app, incident_id) -> int:
    with sessions_of(app)() as session:
        return session.scalar(select(func.count()).select_from(ExchangeCommand).where(
            ExchangeCommand.incident_id == incident_id, ExchangeCommand.action == "unfreeze"))


@pytest.mark.parametrize("loss,officers", [("250000", 2), (None, 4)])
def test_simultaneous_final_approvals_queue_exactly_one_unfreeze(app, tmp_path, loss, officers):
    case = frozen_case(app, loss=loss)
    pass_verification(app, case)
    request = raise_request(app, case)
    attest_remaining(app, request.id, make_staff(app, "agent"))
    now = incident_of(app, case).frozen_at + timedelta(hours=3)
    outcomes = race(app, request.id, [make_staff(app, "risk_officer") for _ in range(officers)], now)
    assert count_unfreezes(app, case.incident_id) == 1
    assert outcomes.count("executing") == 1, outcomes
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count()).select_from(UnfreezeExecution)) == 1
    assert incident_of(app, case).containment == "unfreeze_pending"
