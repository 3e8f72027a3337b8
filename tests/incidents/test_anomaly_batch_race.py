"""A batch racing single senders: someone opens an incident or stores an event id between the batch's reads
and its writes; the batch is rolled back and read again, so it attaches or answers duplicate as if later."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from app.db import utcnow
from incidents.anomalies import AnomalyInput, ScoringPolicy, ingest_anomaly
from incidents.anomaly_batch import ingest_batch
from incidents.intake import ReportInput, submit_report
from incidents.models import AnomalyEvent, Incident

POLICY = ScoringPolicy()


def sim_swap(event_id: str, account_id: str) -> AnomalyInput:
    return AnomalyInput(event_id=event_id, account_id=account_id, type="sim_swap", occurred_at=utcnow())


@pytest.fixture
def before_first_write(app, session, is_postgresql):
    """Run `action` in another session just before the batch's first write of `table` (once)."""
    if not is_postgresql:
        pytest.skip("SQLite transactions begin IMMEDIATE: no other writer can come between the batch's reads "
                    "and writes")
    sessions = app.extensions["lockdesk"].sessions

    def arrange(table: str, action):
        done = []

        def hook(state):
            statement_table = getattr(state.statement, "table", None)
            if not done and state.is_insert and getattr(statement_table, "name", None) == table:
                done.append(True)
                with sessions() as other:
                    action(other)

        event.listen(session, "do_orm_execute", hook)
    return arrange


def test_an_incident_opened_meanwhile_is_attached_to(session, before_first_write):
    before_first_write("incidents", lambda other: submit_report(other, report=ReportInput(account_id="R1",
                                                                                          kind="stolen_account")))
    outcomes = ingest_batch(session, events=[sim_swap("e1", "R1"), sim_swap("e2", "R2")], policy=POLICY)
    assert [o.action for o in outcomes] == ["attached", "watch"]
    assert session.scalar(select(func.count()).select_from(Incident)) == 2


def test_an_event_id_stored_meanwhile_answers_as_a_duplicate(session, before_first_write):
    stored_first = AnomalyInput(event_id="e1", account_id="R1", type="new_device_login", occurred_at=utcnow())
    before_first_write("anomaly_events", lambda other: ingest_anomaly(other, event=stored_first, policy=POLICY))
    outcomes = ingest_batch(session, events=[sim_swap("e1", "R1"), sim_swap("e2", "R1")], policy=POLICY)
    assert [(o.action, o.duplicate) for o in outcomes] == [("ignored", True), ("frozen", False)]
    assert session.scalar(select(func.count()).select_from(AnomalyEvent)) == 2
