"""The audit chain: hash-linked, append-only, sealed after commit, verified by CLI and API, naming the first
broken link."""
import json
import threading
import uuid

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from app.db import utcnow
from incidents.audit import _PENDING as PENDING
from incidents.audit import GENESIS_HASH, record, savepoint, seal, seal_all, verify_chain
from incidents.models import AuditEvent
from tests.factories import report_body, make_staff


def test_sealed_events_link_each_to_the_one_before_in_order(client, session):
    for account in ("A1", "B1", "C1"):
        client.post("/api/v1/reports", json=report_body(account))
    assert seal_all(session) > 0
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert events[0].prev_hash == GENESIS_HASH and [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    check = verify_chain(session)
    assert check.valid and check.events == len(events) and check.head == events[-1].hash and check.pending == 0


def test_events_wait_unlinked_until_the_sealer_links_them(client, session):
    client.post("/api/v1/reports", json=report_body())
    pending = verify_chain(session)
    assert pending.valid and pending.events == 0 and pending.pending > 0
    seal_all(session)
    sealed = verify_chain(session)
    assert sealed.events == pending.pending and sealed.pending == 0


def test_the_worker_tick_seals_the_chain(app, client, session):
    client.post("/api/v1/reports", json=report_body())
    assert app.extensions["lockdesk"].ports.audit_sealer() > 0
    assert verify_chain(session).pending == 0


def test_a_sealed_event_is_never_sealed_again(client, session):
    client.post("/api/v1/reports", json=report_body())
    seal_all(session)
    head = verify_chain(session).head
    assert seal(session) == 0 and verify_chain(session).head == head


def test_concurrent_writers_and_sealers_keep_one_unbroken_chain(app, session, is_postgresql):
    sessions = app.extensions["lockdesk"].sessions

    def write_and_seal(worker: int):
        for index in range(15):
            with sessions() as own:
                record(own, actor="test", action="test.event", subject_type="test", subject_id=f"{worker}-{index}")
                own.commit()
                seal(own)

    threads = [threading.Thread(target=write_and_seal, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seal_all(session)
    check = verify_chain(session)
    assert check.valid and check.events == 60 and check.pending == 0


def test_the_api_reports_the_chain_to_admins_only(client, app, session):
    client.post("/api/v1/reports", json=report_body())
    seal_all(session)
    admin = make_staff(app, "admin").headers
    answer = client.get("/api/v1/audit/verify", headers=admin).get_json()
    assert answer["valid"] is True and answer["events"] > 0 and len(answer["head"]) == 64
    assert answer["pending"] >= 1  # creating the admin added events the sealer has not linked yet
    assert client.get("/api/v1/audit/verify", headers=make_staff(app, "risk_officer").headers).status_code == 403


def test_the_database_refuses_to_change_an_audit_row(client, session):
    client.post("/api/v1/reports", json=report_body())
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_events SET actor = 'someone-else'"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("DELETE FROM audit_events"))
    session.rollback()


def test_a_sealed_row_cannot_be_sealed_differently(client, session):
    client.post("/api/v1/reports", json=report_body())
    seal_all(session)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_events SET hash = :forged WHERE seq = 1"), {"forged": "f" * 64})
    session.rollback()


def test_sealing_may_not_change_what_the_event_says(client, session):
    client.post("/api/v1/reports", json=report_body())
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_events SET seq = 1, actor = 'forged' WHERE seq IS NULL"))
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
    seal_all(session)
    ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.seq)).all()
    target = ids[len(ids) // 2]
    tamper(session, target, is_postgresql)

    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    output = json.loads(result.output)
    assert (output["valid"], output["events"], output["first_bad_event"]) == (False, ids.index(target), target)
    answer = client.get("/api/v1/audit/verify", headers=make_staff(app, "admin").headers).get_json()
    assert answer["valid"] is False and answer["first_bad_event"] == target


def test_a_deleted_row_breaks_the_chain_where_it_was(client, runner, session, is_postgresql):
    for account in ("A1", "B1"):
        client.post("/api/v1/reports", json=report_body(account))
    seal_all(session)
    ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.seq)).all()
    if is_postgresql:
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"))
    else:
        session.execute(text("DROP TRIGGER audit_events_no_delete"))
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[3]})
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and json.loads(result.output)["first_bad_event"] == ids[4]


def test_audit_verify_seals_then_exits_zero_on_a_sound_chain(client, runner, session):
    client.post("/api/v1/reports", json=report_body())
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] is True
    total = session.scalar(select(func.count()).select_from(AuditEvent))
    assert json.loads(result.output)["events"] == total


def _actions(session) -> list[str]:
    return session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_recorded_events_are_read_back_in_their_own_transaction_and_written_with_one_statement(session):
    inserts: list[str] = []
    engine = session.get_bind()

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            inserts.append(statement)

    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", count)
    try:
        for n in range(5):
            record(session, actor="test", action=f"test.event.{n}", subject_type="test", subject_id=n)
        assert _actions(session) == [f"test.event.{n}" for n in range(5)]  # before any commit, in order
        assert len(inserts) == 1
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert _actions(session) == [f"test.event.{n}" for n in range(5)]


def test_a_plain_insert_into_another_table_leaves_the_events_buffered_and_a_read_writes_them(session):
    """An INSERT elsewhere cannot see audit_events, so the buffer waits; any statement that might read it does not."""
    from incidents.models import Staff

    record(session, actor="test", action="test.buffered", subject_type="test", subject_id=1)
    session.execute(insert(Staff.__table__), {"id": uuid.uuid4(), "name": "audit-buffer", "role": "agent",
                                              "token_hash": "0" * 64, "is_active": True, "created_at": utcnow()})
    assert session.info.get(PENDING)  # still waiting: nothing could have read it yet
    assert _actions(session) == ["test.buffered"]  # the SELECT wrote it first
    assert not session.info.get(PENDING)
    record(session, actor="test", action="test.before_entity_insert", subject_type="test", subject_id=2)
    loaded = select(Staff).from_statement(insert(Staff.__table__).returning(*Staff.__table__.c))
    session.scalars(loaded, {"id": uuid.uuid4(), "name": "audit-buffer-2", "role": "agent",
                             "token_hash": "1" * 64, "is_active": True, "created_at": utcnow()}).one()
    assert not session.info.get(PENDING)  # an INSERT read back as entities is written after the events
    session.commit()


def test_a_report_opens_its_incident_freeze_pending_with_the_same_events_and_no_update(app, client, session):
    """The incident is inserted already freeze_pending; the chain still shows none → freeze_pending."""
    statements: list[str] = []
    engine = app.extensions["lockdesk"].engine
    from sqlalchemy import event

    def keep(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", keep)
    try:
        answer = client.post("/api/v1/reports", json=report_body())
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert answer.status_code == 201
    incident_id = answer.get_json()["incident"]["id"]
    # One UPDATE of the incident in all (on PostgreSQL inside the record's one statement): the exchange's
    # confirmation (frozen), none for freeze_pending.
    assert sum(statement.count("UPDATE INCIDENTS SET") for statement in statements) == 1
    moves = session.scalars(select(AuditEvent.data).where(AuditEvent.incident_id == uuid.UUID(incident_id),
                                                          AuditEvent.action.like("incident.containment.%"))
                            .order_by(AuditEvent.id)).all()
    assert [(move["from"], move["to"]) for move in moves] == [("none", "freeze_pending"),
                                                              ("freeze_pending", "frozen")]
    assert _actions(session)[:4] == ["incident.opened", "report.received", "incident.containment.freeze_pending",
                                     "exchange.command.queued"]


def test_a_rollback_drops_the_events_it_had_not_written(session):
    record(session, actor="test", action="test.rolled_back", subject_type="test", subject_id=1)
    session.rollback()
    record(session, actor="test", action="test.kept", subject_type="test", subject_id=2)
    session.commit()
    assert _actions(session) == ["test.kept"]


def test_a_closed_session_leaves_nothing_for_the_next_transaction(app):
    sessions = app.extensions["lockdesk"].sessions
    with sessions() as first:
        record(first, actor="test", action="test.abandoned", subject_type="test", subject_id=1)
    with sessions() as second:
        assert _actions(second) == []


def test_a_rolled_back_savepoint_drops_only_its_own_events(session):
    record(session, actor="test", action="test.before", subject_type="test", subject_id=1)
    nested = savepoint(session)
    record(session, actor="test", action="test.inside", subject_type="test", subject_id=2)
    nested.rollback()
    record(session, actor="test", action="test.after", subject_type="test", subject_id=3)
    session.commit()
    assert _actions(session) == ["test.before", "test.after"]


def test_a_savepoint_cannot_open_over_events_waiting_to_be_written(session):
    record(session, actor="test", action="test.waiting", subject_type="test", subject_id=1)
    with pytest.raises(RuntimeError, match="audit.savepoint"):
        session.begin_nested()
