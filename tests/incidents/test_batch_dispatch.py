"""The dispatcher's grouping: due freezes of one exchange go out as freeze batches of up to 500, before the
follow-ups; a lone freeze stays a single call; a 404 item fails its command alone and closes its case."""
from __future__ import annotations

from sqlalchemy import select

from app.db import utcnow
from incidents.anomalies import AnomalyInput, ScoringPolicy
from incidents.anomaly_batch import ingest_batch
from incidents.models import ExchangeCommand, Incident
from incidents.outbox.dispatcher import Dispatcher
from incidents.outbox.lease import DispatchPolicy
from tests.incidents.exchange_peer import backoffice_account, exchange_server, keyed_writes, open_account
from tests.incidents.exchange_peer import client_for
from tests.incidents.outbox_support import flag, statuses

__all__ = ["exchange_server"]
POLICY = DispatchPolicy(lease_seconds=60.0, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)


def dispatcher(app, exchange_server) -> Dispatcher:
    """A dispatcher of this application's database, speaking HTTP to the back office."""
    return Dispatcher(app.extensions["lockdesk"].sessions, client_for(exchange_server), policy=POLICY,
                      concurrency=4, name="test-dispatcher")


def test_501_due_freezes_take_two_calls_and_come_before_their_follow_ups(app, session, exchange_server):
    accounts = [f"W{n}" for n in range(501)]
    for account in accounts:
        open_account(session, account)
    session.commit()
    flag(session, accounts)
    session.commit()
    sender = dispatcher(app, exchange_server)
    try:
        assert sender.dispatch_due() == 500  # a full freeze batch: no follow-up claimed beside it
        assert statuses(session, "freeze") == {"done": 500, "pending": 1}
        assert statuses(session, "contain") == {"pending": 501}
        sender.drain()
    finally:
        sender.shutdown()
    assert exchange_server.calls.keys_for("/freeze-batch") == [None]  # 500 items in one call
    assert len(exchange_server.calls.keys_for("/freeze")) == 1  # the lone freeze left: a single call
    assert statuses(session, "freeze") == {"done": 501} and statuses(session, "contain") == {"done": 501}
    assert keyed_writes(session, "freeze") == 501
    assert {backoffice_account(session, a).freezes for a in (accounts[0], accounts[-1])} == {1}
    assert set(session.scalars(select(Incident.containment))) == {"frozen"}


def test_a_404_item_fails_its_command_alone_and_closes_its_case_as_account_unknown(app, session, exchange_server):
    for account in ("K1", "K2"):
        open_account(session, account)
    session.commit()
    flag(session, ["K1", "GHOST", "K2"])
    session.commit()
    sender = dispatcher(app, exchange_server)
    try:
        sender.drain()
    finally:
        sender.shutdown()
    assert exchange_server.calls.keys_for("/freeze-batch") == [None] and exchange_server.calls.keys_for("/freeze") == []
    session.rollback()
    incidents = {i.account_id: i for i in session.scalars(select(Incident))}
    assert (incidents["K1"].containment, incidents["K2"].containment) == ("frozen", "frozen")
    assert (incidents["GHOST"].containment, incidents["GHOST"].outcome) == ("freeze_failed", "account_unknown")
    ghost = session.scalar(select(ExchangeCommand).where(ExchangeCommand.account_id == "GHOST",
                                                         ExchangeCommand.action == "freeze"))
    assert (ghost.status, ghost.attempts) == ("failed", 1) and ghost.last_error.startswith("AccountNotFound")
    assert statuses(session, "freeze") == {"done": 2, "failed": 1}


def test_a_burst_of_single_reports_freezes_go_together_while_one_is_at_the_exchange(app, session, exchange_server):
    accounts = ["B1", "B2", "B3", "B4"]
    for account in accounts:
        open_account(session, account)
    session.commit()
    flag(session, accounts)
    session.commit()
    freezes = list(session.scalars(select(ExchangeCommand.id).where(ExchangeCommand.action == "freeze")))
    session.rollback()
    sender = dispatcher(app, exchange_server)
    exchange_server.faults.configure(hold_writes=True)  # the first freeze is held at the exchange
    try:
        assert sender.dispatch_now(freezes[0], timeout=0) is None  # at the exchange, its answer held
        assert exchange_server.faults.write_applied.wait(30)
        for command_id in freezes[1:]:  # the requests that came meanwhile: claimed, waiting for the sender
            assert sender.dispatch_now(command_id, timeout=0) is None
        exchange_server.faults.configure(hold_writes=False)
        exchange_server.faults.release.set()
        sender.shutdown()
    finally:
        exchange_server.faults.release.set()
    assert len(exchange_server.calls.keys_for("/freeze")) == 1  # the lone first one: a single call
    assert exchange_server.calls.keys_for("/freeze-batch") == [None]  # the three that waited: one batch
    assert statuses(session, "freeze") == {"done": 4}
    assert [backoffice_account(session, a).freezes for a in accounts] == [1, 1, 1, 1]


def test_freezes_handed_over_claimed_are_sent_in_batches_and_the_workers_woken_once_they_are_recorded(
        app, session, exchange_server):
    accounts = [f"H{n}" for n in range(3)]
    for account in accounts:
        open_account(session, account)
    session.commit()
    sender = dispatcher(app, exchange_server)
    outcomes = ingest_batch(session, events=[AnomalyInput(event_id=f"e-{a}", account_id=a, type="sim_swap",
                                                          occurred_at=utcnow()) for a in accounts],
                            policy=ScoringPolicy(weights={"sim_swap": 100}), lease=sender.lease)
    claims = [outcome.freeze_claim for outcome in outcomes]
    assert all(claim is not None for claim in claims)
    seen_at_wake: list[dict[str, int]] = []

    def look() -> None:
        with app.extensions["lockdesk"].sessions() as reader:
            seen_at_wake.append(statuses(reader, "freeze"))

    sender.on_wake(look)
    try:
        sender.send_claimed(claims)
    finally:
        sender.shutdown()  # waits for the batch handed over
    assert exchange_server.calls.keys_for("/freeze-batch") == [None] and exchange_server.calls.keys_for("/freeze") == []
    assert seen_at_wake == [{"done": 3}]  # the workers heard of it once the freezes were recorded
    assert statuses(session, "contain") == {"pending": 3}  # the follow-ups are the workers'
