"""The freeze sent right after a request's commit: a read the request made since does not hold it up."""
import pytest
from sqlalchemy import select

from app.containment import dispatch_after_commit
from app.extensions import get_session
from incidents.intake import ReportInput, submit_report
from incidents.models import ExchangeCommand, Incident
from incidents.queue import get_incident


def test_a_read_after_the_commit_does_not_hold_up_the_freeze(app):
    app.config["FREEZE_WAIT_MS"] = 30_000
    with app.test_request_context():
        session = get_session()
        filed = submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
        get_incident(session, incident_id=filed.incident.id)  # on SQLite this transaction takes the write lock
        assert session.in_transaction()
        dispatch_after_commit(None, filed.freeze_command)
        assert not session.in_transaction()
    with app.extensions["lockdesk"].sessions() as fresh:
        assert fresh.get(ExchangeCommand, filed.freeze_command.id).status == "done"
        assert fresh.scalar(select(Incident.containment).where(Incident.id == filed.incident.id)) == "frozen"


def test_changes_not_yet_written_are_refused_rather_than_committed_on_the_caller_s_behalf(app):
    with app.test_request_context():
        session = get_session()
        filed = submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
        incident = get_incident(session, incident_id=filed.incident.id)
        incident.status = "in_progress"
        with pytest.raises(RuntimeError, match="committed first"):
            dispatch_after_commit(None, filed.freeze_command)
