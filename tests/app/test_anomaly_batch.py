"""POST /api/v1/anomalies/batch: each event acted on as if sent alone, in order, all or nothing."""
import time

import pytest
from sqlalchemy import func, select

from app.api.anomaly_batch import MAX_BATCH_BODY_BYTES
from incidents.models import AnomalyEvent, AuditEvent, ExchangeCommand, Incident
from tests.app.anomaly_support import event, stored
from tests.factories import report_body, signed_anomaly


@pytest.fixture
def settings(settings):
    """The batch's freezes stay queued for the workers, so each test reads what intake wrote (the freezes sent
    right after the commit have tests of their own below)."""
    settings["FREEZE_WAIT_MS"] = 0
    return settings


def post_batch(client, events, **sign_options):
    raw, headers = signed_anomaly({"events": events}, **sign_options)
    return client.post("/api/v1/anomalies/batch", data=raw, headers=headers)


def post_one(client, body):
    raw, headers = signed_anomaly(body)
    return client.post("/api/v1/anomalies", data=raw, headers=headers)


def results(response):
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["results"]


def test_answers_come_in_the_order_sent_with_the_same_actions_as_single_events(client, session):
    answers = results(post_batch(client, [
        event("b1", "U1001", "new_device_login"),  # 20: ignored
        event("b2", "U2002", "sim_swap"),  # 60: watch
        event("b3", "U1001", "password_reset"),  # 20 + 25 = 45: watch
        event("b4", "U2002", "two_factor_changed"),  # 105: frozen
        event("b5", "U2002", "phone_changed"),  # 145: attached (already freeze_pending)
        event("b6", "U1001", "moon_phase_changed"),  # unknown type: ignored
    ]))
    assert [a["event_id"] for a in answers] == ["b1", "b2", "b3", "b4", "b5", "b6"]
    assert [a["action"] for a in answers] == ["ignored", "watch", "watch", "frozen", "attached", "ignored"]
    assert not any(a["duplicate"] for a in answers)
    assert answers[1]["incident_id"] == answers[3]["incident_id"] == answers[4]["incident_id"]
    assert answers[0]["incident_id"] is None and answers[5]["incident_id"] is None
    incident = session.scalar(select(Incident).where(Incident.account_id == "U2002"))
    assert incident.containment == "freeze_pending" and incident.risk_score == 145 and incident.source == "anomaly"
    assert session.scalar(select(Incident.risk_score).where(Incident.account_id == "U1001")) == 45
    commands = session.scalars(select(ExchangeCommand.action).where(ExchangeCommand.incident_id == incident.id)).all()
    assert sorted(commands) == ["contain", "freeze"]
    scores = dict(session.execute(select(AnomalyEvent.event_id, AnomalyEvent.score)).all())
    assert scores == {"b1": 20, "b2": 60, "b3": 45, "b4": 105, "b5": 145, "b6": 45}


class TestLikeSingleEvents:
    """Single events queue their freeze without sending it (FREEZE_WAIT_MS=0), as the batch does: the two then
    write the same."""

    def test_a_batch_gives_the_same_answers_rows_and_audit_trail_as_the_events_sent_one_by_one(self, client, session):
        def events(prefix):
            return [event(f"{prefix}1", f"{prefix}A", "sim_swap"), event(f"{prefix}2", f"{prefix}B", "password_reset"),
                    event(f"{prefix}3", f"{prefix}A", "two_factor_changed"), event(f"{prefix}4", f"{prefix}B", "geo_velocity"),
                    event(f"{prefix}5", f"{prefix}B", "sim_swap"), event(f"{prefix}6", f"{prefix}C", "api_key_created")]

        one_by_one = [post_one(client, body).get_json() for body in events("S")]
        batch = results(post_batch(client, events("T")))
        assert [(a["action"], a["duplicate"]) for a in batch] == [(a["action"], a["duplicate"]) for a in one_by_one]
        session.rollback()

        def trail(prefix):
            incident_ids = set(session.scalars(select(Incident.id).where(Incident.account_id.like(f"{prefix}%"))))
            return [(e.actor, e.action, {k: v for k, v in e.data.items() if k not in ("reference", "account_id",
                                                                                      "event_id")})
                    for e in session.scalars(select(AuditEvent).where(AuditEvent.incident_id.in_(incident_ids))
                                             .order_by(AuditEvent.id))]

        assert trail("T") == trail("S")
        for prefix in "ST":
            rows = session.execute(select(Incident.containment, Incident.risk_score, Incident.status)
                                   .where(Incident.account_id.like(f"{prefix}%")).order_by(Incident.account_id)).all()
            assert [tuple(row) for row in rows] == [("freeze_pending", 105, "open"), ("freeze_pending", 115, "open")]


def test_duplicates_inside_the_batch_and_against_earlier_events_get_the_first_answer(client, session):
    first = post_one(client, event("old", "U2002", "sim_swap")).get_json()
    answers = results(post_batch(client, [event("old", "U2002", "sim_swap"), event("new", "U2002", "phone_changed"),
                                          event("new", "U2002", "phone_changed"), event("old", "U2002", "sim_swap")]))
    assert answers[0] == {**first, "duplicate": True} and answers[3] == answers[0]
    assert answers[1]["action"] == "frozen" and not answers[1]["duplicate"]
    assert answers[2] == {**answers[1], "duplicate": True}
    assert stored(session, AnomalyEvent) == 2
    assert session.scalar(select(func.count()).select_from(ExchangeCommand)
                          .where(ExchangeCommand.action == "freeze")) == 1


def test_events_attach_to_an_open_incident_and_freeze_it(client, session):
    report = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    answers = results(post_batch(client, [event("a1", "U1001", "new_device_login")]))
    assert answers[0]["action"] == "attached" and answers[0]["incident_id"] == report["incident"]["id"]
    assert stored(session, Incident) == 1


def test_a_watched_incident_frozen_later_in_the_batch_moves_once_through_the_audit_trail(client, session):
    answers = results(post_batch(client, [event("w1", "U1001", "two_factor_disabled"),
                                          event("w2", "U1001", "withdrawal_spike")]))
    assert [a["action"] for a in answers] == ["watch", "frozen"]
    moves = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("incident.containment.%"))).all()
    assert moves == ["incident.containment.freeze_pending"]


def test_an_existing_watch_incident_is_moved_and_frozen_by_the_batch(client, session):
    post_one(client, event("x1", "U1001", "two_factor_disabled"))
    answers = results(post_batch(client, [event("x2", "U1001", "withdrawal_spike")]))
    assert answers[0]["action"] == "frozen"
    session.rollback()
    incident = session.scalar(select(Incident))
    assert incident.containment == "freeze_pending" and incident.risk_score == 90


def test_with_freeze_wait_zero_the_freezes_are_left_unclaimed_and_the_workers_woken_once(app, client, session):
    woken: list[bool] = []
    app.extensions["lockdesk"].ports.dispatcher.on_wake(lambda: woken.append(True))
    results(post_batch(client, [event("z1", "U1001", "sim_swap"), event("z2", "U1001", "phone_changed"),
                                event("z3", "U2002", "sim_swap"), event("z4", "U2002", "phone_changed")]))
    session.rollback()
    freezes = session.execute(select(ExchangeCommand.status, ExchangeCommand.attempts)
                              .where(ExchangeCommand.action == "freeze")).all()
    assert [tuple(row) for row in freezes] == [("pending", 0)] * 2 and woken == [True]


def test_one_bad_event_is_a_422_naming_its_index_and_field_and_nothing_is_stored(client, session):
    events = [event("ok1", "U1001", "sim_swap"), event("ok2", "U2002", "sim_swap"),
              {**event("bad", "U1001", "sim_swap"), "occurred_at": "yesterday"}]
    response = post_batch(client, events)
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert "events.2.occurred_at" in response.get_json()["errors"]
    assert stored(session, AnomalyEvent) == 0 and stored(session, Incident) == 0


@pytest.mark.parametrize("body, field", [({}, "events"), ({"events": []}, "events"),
                                         ({"events": [{"event_id": "e"}]}, "events.0.account_id")])
def test_malformed_batches_are_422_naming_the_field(client, body, field):
    raw, headers = signed_anomaly(body)
    response = client.post("/api/v1/anomalies/batch", data=raw, headers=headers)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_more_than_a_thousand_events_is_refused(client, session):
    response = post_batch(client, [event(f"e{n}", "U1001", "new_device_login") for n in range(1001)])
    assert response.status_code == 422 and "events" in response.get_json()["errors"]
    assert stored(session, AnomalyEvent) == 0


def test_a_thousand_events_with_details_fit_above_the_usual_64_kib(client, session):
    events = [event(f"e{n}", f"ACC{n}", "new_device_login", ip="203.0.113.7", note="x" * 200) for n in range(1000)]
    answers = results(post_batch(client, events))
    assert len(answers) == 1000 and stored(session, AnomalyEvent) == 1000


def test_a_body_over_one_mebibyte_is_a_413(client, session):
    events = [event(f"e{n}", "U1001", "new_device_login", pad="x" * 2000) for n in range(600)]
    raw, headers = signed_anomaly({"events": events})
    assert len(raw) > MAX_BATCH_BODY_BYTES
    response = client.post("/api/v1/anomalies/batch", data=raw, headers=headers)
    assert response.status_code == 413 and response.content_type == "application/problem+json"
    assert stored(session, AnomalyEvent) == 0


def test_the_single_route_keeps_its_64_kib_limit(client):
    raw, headers = signed_anomaly(event("big", "U1001", "sim_swap", pad="x" * 70_000))
    assert client.post("/api/v1/anomalies", data=raw, headers=headers).status_code == 413


# Both routes check the signature the same way: a single event's body, and a batch of one.
SIGNED_ROUTES = {"/api/v1/anomalies": lambda: event("s1", "U2002", "sim_swap"),
                 "/api/v1/anomalies/batch": lambda: {"events": [event("s1", "U2002", "sim_swap")]}}


@pytest.mark.parametrize("route", list(SIGNED_ROUTES))
@pytest.mark.parametrize("tamper", ["no header", "wrong secret", "stale", "future", "changed body"])
def test_bad_signatures_are_401_problems_and_store_nothing(client, session, route, tamper):
    raw, headers = signed_anomaly(SIGNED_ROUTES[route](),
                                  secret="wrong" if tamper == "wrong secret" else "whsec-test-secret",
                                  timestamp=int(time.time()) + {"stale": -301, "future": 301}.get(tamper, 0))
    sent = raw
    if tamper == "no header":
        headers.pop("X-Lockdesk-Signature")
    if tamper == "changed body":
        sent = raw.replace(b"U2002", b"U9999")
    response = client.post(route, data=sent, headers=headers)
    assert response.status_code == 401 and response.content_type == "application/problem+json"
    assert stored(session, AnomalyEvent) == 0
    session.rollback()  # SQLite: end the read's transaction before the next request writes
    if tamper == "changed body":  # the same headers with the body as signed: accepted
        assert client.post(route, data=raw, headers=headers).status_code == 202



def test_a_batch_that_races_every_try_is_a_409_problem_and_stores_nothing(client, session, monkeypatch):
    from incidents import anomaly_batch

    tries = []
    real_ingest = anomaly_batch._ingest

    def always_raced(*args):
        real_ingest(*args)  # everything written, then someone is found to have come between: rolled back
        tries.append(True)
        raise anomaly_batch._Raced

    monkeypatch.setattr(anomaly_batch, "_ingest", always_raced)
    response = post_batch(client, [event("r1", "U2002", "sim_swap"), event("r2", "U2002", "two_factor_changed")])
    assert response.status_code == 409 and response.content_type == "application/problem+json"
    assert "concurrent senders" in response.get_json()["detail"]
    assert len(tries) == anomaly_batch.BATCH_TRIES
    for model in (AnomalyEvent, Incident, ExchangeCommand, AuditEvent):
        assert stored(session, model) == 0


def test_a_constraint_fault_that_is_no_race_is_not_retried_nor_reported_as_a_conflict(session, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from incidents import anomaly_batch
    from incidents.anomalies import AnomalyInput, ScoringPolicy
    from app.db import utcnow

    tries = []

    def faulty(*args):
        tries.append(True)
        raise IntegrityError("INSERT", {}, Exception("CHECK constraint failed"))

    monkeypatch.setattr(anomaly_batch, "_ingest", faulty)
    with pytest.raises(IntegrityError):
        anomaly_batch.ingest_batch(session, events=[AnomalyInput(event_id="f1", account_id="U2002", type="sim_swap",
                                                                 occurred_at=utcnow())], policy=ScoringPolicy())
    assert len(tries) == 1


class TestSentRightAfterTheCommit:
    """With a dispatcher and FREEZE_WAIT_MS > 0, the batch writes its freezes already claimed by this process and
    hands them to its dispatcher once committed: they go to the exchange in batches, with no worker, while the
    answer does not wait for them."""

    @pytest.fixture
    def settings(self, settings):
        settings["FREEZE_WAIT_MS"] = 2000
        return settings

    def test_the_freezes_are_claimed_by_this_process_and_sent_without_a_worker(self, app, client, session):
        from tests.incidents.exchange_peer import open_account

        accounts = ["Q1", "Q2", "Q3"]
        for account in accounts:
            open_account(session, account)
        session.commit()
        dispatcher = app.extensions["lockdesk"].ports.dispatcher
        answers = results(post_batch(client, [event(f"s{n}", a, "sim_swap") for n, a in enumerate(accounts)] +
                                     [event(f"p{n}", a, "phone_changed") for n, a in enumerate(accounts)]))
        assert [a["action"] for a in answers] == ["watch"] * 3 + ["frozen"] * 3
        dispatcher.shutdown()  # waits for the sender the request handed the freezes to
        session.rollback()
        freezes = session.execute(select(ExchangeCommand.status, ExchangeCommand.attempts, ExchangeCommand.claimed_by)
                                  .where(ExchangeCommand.action == "freeze")).all()
        assert [tuple(row) for row in freezes] == [("done", 1, dispatcher.name)] * 3  # claimed once, at intake
        frozen = session.scalars(select(Incident.containment).where(Incident.account_id.in_(accounts))).all()
        assert frozen == ["frozen"] * 3
        contain = session.scalars(select(ExchangeCommand.status).where(ExchangeCommand.action == "contain")).all()
        assert contain == ["pending"] * 3  # the follow-ups are the workers'

    def test_a_freeze_the_process_never_sent_is_taken_over_by_a_worker_once_its_lease_ran_out(self, app, client,
                                                                                             session):
        from datetime import timedelta

        from app.db import utcnow
        from tests.incidents.exchange_peer import open_account

        open_account(session, "Q4")
        session.commit()
        dispatcher = app.extensions["lockdesk"].ports.dispatcher
        dispatcher.shutdown()  # this process dies after the commit, before sending: nothing sends the claim
        results(post_batch(client, [event("q4", "Q4", "sim_swap"), event("q5", "Q4", "phone_changed")]))
        session.rollback()
        freeze = session.scalar(select(ExchangeCommand).where(ExchangeCommand.action == "freeze"))
        assert (freeze.status, freeze.attempts) == ("in_flight", 1)
        session.rollback()
        from incidents.outbox.dispatcher import Dispatcher

        worker = Dispatcher(app.extensions["lockdesk"].sessions, dispatcher.exchange, policy=dispatcher.policy,
                            name="a-worker")
        try:
            worker.drain(now=utcnow() + timedelta(seconds=dispatcher.policy.lease_seconds + 1))
        finally:
            worker.shutdown()
        session.rollback()
        freeze = session.scalar(select(ExchangeCommand).where(ExchangeCommand.action == "freeze"))
        assert (freeze.status, freeze.attempts) == ("done", 2)
        assert session.scalar(select(Incident.containment).where(Incident.account_id == "Q4")) == "frozen"
