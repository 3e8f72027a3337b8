"""The freeze outbox end to end: the report's fast path, retries, refusals, slow exchanges, lost leases."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text

from app.jobs import Worker
from incidents import containment
from incidents.outbox.calls import CallResult
from incidents.outbox.exchange import claim_due, record_outcome
from incidents.outbox.lease import DispatchPolicy, Lease
from exchange_sim import backoffice
from incidents.models import AuditEvent, ExchangeCommand, Incident
from tests.factories import report_body, make_staff
from tests.incidents.exchange_peer import (
    TOTP_SECRET,
    backoffice_account,
    exchange_server,
    http_exchange_settings,
    keyed_writes,
    open_account,
)
from tests.incidents.outbox_support import wait_until

__all__ = ["exchange_server"]
LATER = datetime.now(UTC) + timedelta(days=1)  # "long after": every backoff has passed


def dispatcher(app):
    """The application's dispatcher."""
    return app.extensions["lockdesk"].ports.dispatcher


def freeze_command(session, incident_id) -> ExchangeCommand:
    """The incident's freeze command, fresh from the database."""
    session.expire_all()
    return session.scalar(select(ExchangeCommand).where(ExchangeCommand.incident_id == incident_id,
                                                        ExchangeCommand.action == "freeze"))


def audit_count(session, action: str, incident_id=None) -> int:
    """How many audit events of this action (for the incident)."""
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if incident_id is not None:
        query = query.where(AuditEvent.incident_id == incident_id)
    return session.scalar(query)


def command_statuses(session) -> set[str]:
    """The statuses of all outbox rows, read without keeping a transaction open."""
    statuses = set(session.execute(text("SELECT status FROM exchange_commands")).scalars())
    session.rollback()
    return statuses


def test_a_report_answers_frozen_and_the_follow_ups_contain_the_account(app, client, session):
    open_account(session)
    backoffice.add_withdrawal(session, withdrawal=backoffice.NewWithdrawal(
        withdrawal_id="W1", account_id="U1001", chain="ethereum", asset="ETH", amount="3.2",
        address="0x" + "99" * 20, tx_hash="0x" + "ef" * 32, status="completed"))
    backoffice.add_withdrawal(session, withdrawal=backoffice.NewWithdrawal(
        withdrawal_id="W2", account_id="U1001", chain="ethereum", asset="ETH", amount="5", address="0x" + "98" * 20,
        status="pending"))
    answer = client.post("/api/v1/reports", json=report_body())
    assert answer.status_code == 201 and answer.get_json()["incident"]["containment"] == "frozen"
    incident_id = answer.get_json()["incident"]["id"]
    assert dispatcher(app).drain() == 1  # one `contain` command carries every follow-up
    session.rollback()
    account = backoffice_account(session, "U1001")
    assert (account.state, account.active_sessions, account.active_api_keys) == ("frozen", 0, 0)
    results = dict(session.execute(text("SELECT action, status FROM exchange_commands")).all())
    assert set(results.values()) == {"done"}
    incident_uuid = uuid.UUID(incident_id)
    pulled = {w.exchange_withdrawal_id: w for w in containment.pulled_withdrawals(session, incident_id=incident_uuid)}
    assert set(pulled) == {"W1", "W2"} and pulled["W1"].tx_hash == "0x" + "ef" * 32
    contained = session.scalar(select(ExchangeCommand.result).where(ExchangeCommand.action == "contain"))
    assert contained["cancel_pending_withdrawals"] == {"cancelled": ["W2"]}
    assert contained["revoke_sessions"] == {"revoked": 3} and contained["revoke_api_keys"] == {"revoked": 2}
    snapshot = containment.latest_account_snapshot(session, incident_id=incident_uuid)
    assert snapshot.totp_secret == TOTP_SECRET and snapshot.totp_bound_at == datetime(2025, 1, 2, tzinfo=UTC)
    stored = session.execute(text("SELECT totp_secret FROM account_snapshots")).scalar_one()
    assert TOTP_SECRET not in stored
    assert audit_count(session, "exchange.command.done", incident_uuid) == 2
    assert audit_count(session, "incident.withdrawals.pulled", incident_uuid) == 1
    assert audit_count(session, "incident.containment.frozen", incident_uuid) == 1


def test_503s_then_recovery_freeze_once_under_one_key(app, client, session, exchange_server):
    open_account(session)
    exchange_server.faults.configure(fail_next=4, retry_after="0")
    answer = client.post("/api/v1/reports", json=report_body()).get_json()
    assert answer["incident"]["containment"] == "freeze_pending"
    dispatcher(app).drain(now=LATER)
    incident = session.scalar(select(Incident))
    command = freeze_command(session, incident.id)
    assert incident.containment == "frozen" and command.status == "done" and command.attempts >= 2
    assert set(exchange_server.calls.keys_for("/freeze")) == {str(command.id)}
    assert backoffice_account(session, "U1001").freezes == 1 and keyed_writes(session, "freeze") == 1
    assert audit_count(session, "exchange.command.retry_scheduled", incident.id) >= 1
    assert audit_count(session, "incident.containment.frozen", incident.id) == 1


@pytest.fixture
def settings(settings, exchange_server, request):
    """Point the application at the HTTP back office for the tests that use it."""
    if "exchange_server" in request.fixturenames:
        settings.update(http_exchange_settings(exchange_server, FREEZE_WAIT_MS=2000))
    return settings


def test_an_unknown_account_fails_the_freeze_without_a_retry_storm(app, client, session, exchange_server):
    answer = client.post("/api/v1/reports", json=report_body(account_id="GHOST")).get_json()
    assert answer["incident"]["containment"] == "freeze_failed"
    dispatcher(app).drain(now=LATER)
    command = freeze_command(session, uuid.UUID(answer["incident"]["id"]))
    assert command.status == "failed" and command.attempts == 1 and "AccountNotFound" in command.last_error
    assert len(exchange_server.calls.keys_for("/freeze")) == 1
    assert audit_count(session, "exchange.command.failed") == 2  # the freeze and the `contain` follow-up
    assert audit_count(session, "incident.containment.freeze_failed") == 1


def test_a_slow_exchange_leaves_the_report_pending_and_the_worker_confirms(app, client, session, exchange_server):
    app.config["FREEZE_WAIT_MS"] = 50
    open_account(session)
    exchange_server.faults.configure(delay_seconds=0.5)
    answer = client.post("/api/v1/reports", json=report_body()).get_json()
    assert answer["incident"]["containment"] == "freeze_pending"
    worker = Worker(dispatcher(app), poll_seconds=0.05).start()
    try:
        settled = wait_until(lambda: command_statuses(session) == {"done"}, seconds=30.0)
    finally:
        worker.stop()
    assert settled
    session.expire_all()
    assert session.scalar(select(Incident.containment)) == "frozen"
    assert len(exchange_server.calls.keys_for("/freeze")) == 1


def take_over_after_the_lease(app, session, first, *, policy: DispatchPolicy, start: datetime):
    """Nobody else takes a claimed freeze within its lease; after it, worker b does, under the same key, and the
    exchange freezes it. Returns b's claim and the exchange's answer."""
    assert not [c for c in claim_due(session, worker="b", policy=policy, now=start + timedelta(seconds=10))
                if c.action == "freeze"]
    second = next(c for c in claim_due(session, worker="b", policy=policy, now=start + timedelta(seconds=31))
                  if c.action == "freeze")
    assert second.idempotency_key == first.idempotency_key and second.attempts == 2
    done = CallResult("done", answer=app.extensions["lockdesk"].ports.exchange.freeze(
        "U1001", scope="full", reason="r", reference="INC", idempotency_key=second.idempotency_key))
    return second, done


def assert_frozen_once(session) -> None:
    """The incident is frozen, with one transition to frozen."""
    assert session.scalar(select(Incident.containment)) == "frozen"
    assert audit_count(session, "incident.containment.frozen") == 1


def test_a_worker_that_lost_its_lease_cannot_record_and_the_next_one_finishes(app, session):
    open_account(session)
    from incidents.intake import ReportInput, submit_report

    submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
    policy = DispatchPolicy(lease_seconds=30)
    start = datetime.now(UTC)
    first = next(c for c in claim_due(session, worker="a", policy=policy, now=start) if c.action == "freeze")
    second, done = take_over_after_the_lease(app, session, first, policy=policy, start=start)
    assert record_outcome(session, claim=first, result=done, policy=policy).outcome == "stale"
    assert record_outcome(session, claim=second, result=done, policy=policy).outcome == "done"
    assert_frozen_once(session)


def test_a_freeze_claimed_by_a_request_that_died_is_taken_over_after_its_lease(app, session):
    """The fast path claims the freeze in the intake transaction; if that process dies before calling the
    exchange, nobody else takes the command until the lease runs out, then a worker freezes it once."""
    from incidents.intake import ReportInput, submit_report

    open_account(session)
    policy = DispatchPolicy(lease_seconds=30)
    start = datetime.now(UTC)
    result = submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"), now=start,
                           claim_freeze=Lease("dead", policy))
    died = result.freeze_claim
    command = freeze_command(session, result.incident.id)
    assert (command.status, command.claim_token, command.attempts) == ("in_flight", died.token, 1)
    taken, done = take_over_after_the_lease(app, session, died, policy=policy, start=start)
    assert record_outcome(session, claim=taken, result=done, policy=policy).outcome == "done"
    assert record_outcome(session, claim=died, result=done, policy=policy).outcome == "stale"
    assert_frozen_once(session)
    assert backoffice_account(session, "U1001").freezes == 1


def test_a_reports_commands_are_written_claimed_with_a_null_result_and_held_by_the_session(session):
    """One Core INSERT writes the freeze (claimed before it is written) and its follow-up; the session
    holds them as persistent rows, and `result` is SQL NULL, not JSON null, until an outcome sets it."""
    from sqlalchemy import inspect

    from incidents.intake import ReportInput, submit_report

    open_account(session)
    policy = DispatchPolicy(lease_seconds=30)
    result = submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"),
                           claim_freeze=Lease("web", policy))
    assert inspect(result.freeze_command).persistent
    rows = session.execute(text(
        "SELECT action, status, claim_token, attempts, result IS NULL AS no_result FROM exchange_commands "
        "ORDER BY action")).all()
    assert [tuple(row) for row in rows] == [("contain", "pending", None, 0, True),
                                            ("freeze", "in_flight", result.freeze_claim.token, 1, True)]


def test_a_retryable_failure_backs_off_and_keeps_the_key(app, session):
    from incidents.intake import ReportInput, submit_report

    submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
    policy = DispatchPolicy()
    now = datetime.now(UTC)
    claim = [c for c in claim_due(session, worker="a", policy=policy, now=now) if c.action == "freeze"][0]
    outcome = record_outcome(session, claim=claim, result=CallResult("retry", error="HTTP 503", retry_after=2),
                             policy=policy, now=now, rand=lambda: 0.0)
    assert outcome.outcome == "retry" and outcome.next_attempt_at == now + timedelta(seconds=2)
    command = freeze_command(session, claim.incident_id)
    assert (command.status, command.last_error, str(command.id)) == ("pending", "HTTP 503", claim.idempotency_key)
    assert session.scalar(select(Incident.containment)) == "freeze_pending"


def test_staff_can_freeze_by_hand_once_the_account_exists_at_the_exchange(app, client, session):
    answer = client.post("/api/v1/reports", json=report_body(account_id="U2002")).get_json()
    assert answer["incident"]["containment"] == "freeze_failed"
    open_account(session, "U2002")
    agent = make_staff(app, "agent").headers
    response = client.post(f"/api/v1/incidents/{answer['incident']['id']}/freeze",
                           json={"scope": "full", "reason": "account restored at the exchange"}, headers=agent)
    assert response.status_code == 202
    session.expire_all()
    assert session.scalar(select(Incident.containment)) == "frozen"
    assert backoffice_account(session, "U2002").freezes == 1


def test_a_confirmed_freeze_is_recorded_with_the_same_rows_and_events_and_a_session_holding_them_reads_them_anew(
        app, session):
    """The confirmed freeze is recorded with Core statements, not the unit of work: the command is done with
    the answer and no claim, the incident frozen with frozen_at, two events in order; objects the caller's
    session held for either row show the committed state."""
    from incidents.intake import ReportInput, submit_report

    open_account(session)
    policy = DispatchPolicy(lease_seconds=30)
    result = submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
    incident, command = result.incident, freeze_command(session, result.incident.id)
    claim = next(c for c in claim_due(session, worker="a", policy=policy) if c.action == "freeze")
    done = CallResult("done", answer=app.extensions["lockdesk"].ports.exchange.freeze(
        "U1001", scope="full", reason="r", reference="INC", idempotency_key=claim.idempotency_key))
    before = audit_count(session, "exchange.command.done")
    statements: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()[:3]))

    event.listen(session.get_bind(), "before_cursor_execute", keep)
    try:
        outcome = record_outcome(session, claim=claim, result=done, policy=policy)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", keep)
    # One locking read, then one UPDATE of each row and both events in one INSERT: on PostgreSQL the three in
    # one statement (issue 15).
    written = ["WITH s0 AS"] if session.get_bind().dialect.name == "postgresql" else [
        "UPDATE exchange_commands SET", "UPDATE incidents SET", "INSERT INTO audit_events"]
    assert [statement.split(" (")[0] for statement in statements] == [
        "SELECT exchange_commands.status, exchange_commands.claim_token,", *written]
    assert (outcome.outcome, outcome.containment) == ("done", "frozen") and outcome.frozen_after_seconds >= 0
    assert (incident.containment, command.status) == ("frozen", "done")  # the held objects were refreshed
    assert incident.frozen_at is not None and incident.updated_at >= incident.created_at
    assert command.result == {"state": "frozen", "changed_at": command.result["changed_at"]}
    assert (command.claim_token, command.claimed_until, command.last_error) == (None, None, None)
    assert audit_count(session, "exchange.command.done") == before + 1
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.incident_id == incident.id)
                              .order_by(AuditEvent.id.desc()).limit(2)).all()
    assert actions == ["exchange.command.done", "incident.containment.frozen"]
    done_event = session.scalar(select(AuditEvent.data).where(AuditEvent.action == "exchange.command.done",
                                                              AuditEvent.subject_id == str(command.id)))
    assert done_event == {"action": "freeze", "attempt": 1, "result": command.result}
    # The exchange says frozen again (a retried call): the command is done, the incident moves no more.
    assert record_outcome(session, claim=claim, result=done, policy=policy).outcome == "stale"
    assert_frozen_once(session)


def test_a_confirmed_freeze_of_a_command_without_incident_is_recorded(app, session):
    """No command is written without an incident today, but the column allows one: its freeze is recorded
    done with its event, and no incident is touched."""
    open_account(session)
    now = datetime.now(UTC)
    command = ExchangeCommand(id=uuid.uuid4(), incident_id=None, account_id="U1001", action="freeze",
                              payload={"scope": "full", "reason": "by hand", "reference": "manual"}, status="pending",
                              attempts=0, next_attempt_at=now, created_at=now)
    session.add(command)
    session.commit()
    policy = DispatchPolicy(lease_seconds=30)
    claim = next(c for c in claim_due(session, worker="a", policy=policy) if c.command_id == command.id)
    done = CallResult("done", answer=app.extensions["lockdesk"].ports.exchange.freeze(
        "U1001", scope="full", reason="r", reference="manual", idempotency_key=claim.idempotency_key))
    outcome = record_outcome(session, claim=claim, result=done, policy=policy)
    assert (outcome.outcome, outcome.containment, outcome.frozen_after_seconds) == ("done", None, None)
    assert (command.status, command.result["state"], command.claim_token) == ("done", "frozen", None)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "exchange.command.done"))
    assert (event.incident_id, event.subject_id, event.data["attempt"]) == (None, str(command.id), 1)
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_new_cases_report_is_written_in_two_statements_on_postgresql_and_reads_back_whole(session):
    """Issue 15: the incident's INSERT (its answer says whether the account had an open case), then the report,
    its freeze and follow-up, its token and its events in one statement on PostgreSQL (one INSERT each, in that
    order, on SQLite), and the traces of its transactions, with no read before them (a new case has none); the
    rows read back as written, a JSON list (the transactions) included."""
    from incidents.access import Principal
    from incidents.intake import ReportInput, submit_report
    from incidents.models import AccessToken, Report

    statements: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()[:3]))

    transactions = [{"chain": "ethereum", "hash": "0x" + "ab" * 32}, {"chain": "bitcoin", "hash": "cd" * 32}]
    event.listen(session.get_bind(), "before_cursor_execute", keep)
    try:
        result = submit_report(session, report=ReportInput(
            account_id="U1001", kind="stolen_account", transactions=transactions, contact={"email": "o@example.com"}))
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", keep)
    written = [statement.split(" (")[0] for statement in statements if not statement.startswith("BEGIN")]
    if session.get_bind().dialect.name == "postgresql":  # the traces are the unit of work's, at the commit
        assert written == ["INSERT INTO incidents", "WITH w0 AS", "INSERT INTO traces"]
    else:
        assert written == ["INSERT INTO incidents", "INSERT INTO reports", "INSERT INTO exchange_commands",
                           "INSERT INTO access_tokens", "INSERT INTO audit_events", "INSERT INTO traces"]
    session.expire_all()
    report = session.scalar(select(Report).where(Report.incident_id == result.incident.id))
    assert report.transactions == transactions and report.contact == {"email": "o@example.com"}
    token_id = session.scalar(select(AccessToken.id).where(AccessToken.incident_id == result.incident.id,
                                                           AccessToken.report_id == report.id))
    assert token_id is not None
    # The reporter is named by its token from the first event on, as every later action through its link is.
    received = session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "report.received",
                                                             AuditEvent.incident_id == result.incident.id))
    assert received == f"reporter:{token_id}" == Principal(kind="reporter", id=token_id).actor
    actions = session.scalars(select(ExchangeCommand.action).where(ExchangeCommand.incident_id == result.incident.id)
                              .order_by(ExchangeCommand.action)).all()
    assert actions == ["contain", "freeze"]
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.incident_id == result.incident.id)
                             .order_by(AuditEvent.id)).all()
    assert events == ["incident.opened", "report.received", "incident.containment.freeze_pending",
                      "exchange.command.queued"]


def test_a_confirmed_contain_is_recorded_with_its_steps_and_on_postgresql_its_done_move_and_events_in_one_statement(
        app, session):
    """The follow-up of every freeze: the locking read, the account's description, then the command's done move
    and every event (on PostgreSQL one statement, issue 15); the rows read back as the steps left them."""
    from incidents.exchange.models import AccountSnapshotRecord
    from incidents.intake import ReportInput, submit_report
    from incidents.outbox.calls import call_exchange

    open_account(session)
    policy = DispatchPolicy(lease_seconds=30)
    result = submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
    claims = claim_due(session, worker="a", policy=policy, limit=10)
    claim = next(c for c in claims if c.action == "contain")
    answer = call_exchange(app.extensions["lockdesk"].ports.exchange, claim, policy=policy)
    assert answer.verdict == "done"
    statements: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()[:3]).split(" (")[0])

    event.listen(session.get_bind(), "before_cursor_execute", keep)
    try:
        outcome = record_outcome(session, claim=claim, result=answer, policy=policy)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", keep)
    assert outcome.outcome == "done"
    written = ["WITH s0 AS"] if session.get_bind().dialect.name == "postgresql" else [
        "UPDATE exchange_commands SET", "INSERT INTO audit_events"]
    statements = [statement for statement in statements if not statement.startswith("BEGIN")]
    assert statements[0].startswith("SELECT exchange_commands.status")  # the locking read
    assert statements[1:] == ["INSERT INTO account_snapshots", *written]
    session.expire_all()
    command = session.get(ExchangeCommand, claim.command_id)
    assert command.status == "done" and set(command.result) >= {"revoke_sessions", "snapshot_account"}
    assert session.scalar(select(func.count()).select_from(AccountSnapshotRecord)
                          .where(AccountSnapshotRecord.incident_id == result.incident.id)) == 1
    done = session.scalar(select(AuditEvent.data).where(AuditEvent.action == "exchange.command.done",
                                                        AuditEvent.subject_id == str(claim.command_id)))
    assert done["action"] == "contain" and done["result"] == command.result
