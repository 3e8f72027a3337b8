"""The audit chain: hash-linked, append-only, verified by CLI and API, naming the first broken link."""
import json

from sqlalchemy import select, text

from incidents.audit import GENESIS_HASH, verify_chain
from incidents.models import AuditEvent
from tests.factories import bearer, report_body, staff_token


def test_every_event_links_to_the_one_before(client, session):
    for account in ("A1", "B1", "C1"):
        client.post("/api/v1/reports", json=report_body(account))
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    check = verify_chain(session)
    assert check.valid and check.events == len(events) and check.head == events[-1].hash


def test_the_api_reports_a_valid_chain_to_admins_only(client, app):
    client.post("/api/v1/reports", json=report_body())
    admin = bearer(staff_token(app, "admin"))
    answer = client.get("/api/v1/audit/verify", headers=admin).get_json()
    assert answer["valid"] is True and answer["events"] > 0 and len(answer["head"]) == 64
    assert client.get("/api/v1/audit/verify", headers=bearer(staff_token(app, "risk_officer"))).status_code == 403


def test_the_database_refuses_to_change_an_audit_row(client, session):
    client.post("/api/v1/reports", json=report_body())
    import pytest
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_events SET actor = 'someone-else'"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("DELETE FROM audit_events"))
    session.rollback()


def tamper(session, event_id: int, is_postgresql: bool) -> None:
    """Edit one audit row behind the application's back, as someone with database access could."""
    if is_postgresql:
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"))
    else:
        session.execute(text("DROP TRIGGER audit_events_no_update"))
    session.execute(text("UPDATE audit_events SET data = :data WHERE id = :id"),
                    {"data": json.dumps({"from": "none", "to": "unfrozen"}), "id": event_id})
    session.commit()


def test_an_edited_row_breaks_the_chain_at_that_event(client, app, runner, session, is_postgresql):
    for account in ("A1", "B1"):
        client.post("/api/v1/reports", json=report_body(account))
    ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    target = ids[len(ids) // 2]
    tamper(session, target, is_postgresql)

    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert json.loads(result.output) == {"valid": False, "events": ids.index(target), "first_bad_event": target}
    answer = client.get("/api/v1/audit/verify", headers=bearer(staff_token_without_audit(app))).get_json()
    assert answer == {"valid": False, "events": ids.index(target), "first_bad_event": target, "head": None}


def staff_token_without_audit(app) -> str:
    """An admin token; creating staff appends to the chain, which stays broken at the earlier event."""
    return staff_token(app, "admin")


def test_audit_verify_exits_zero_on_a_sound_chain(client, runner):
    client.post("/api/v1/reports", json=report_body())
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] is True
