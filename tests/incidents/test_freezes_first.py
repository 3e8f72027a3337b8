"""Freezes first: a worker claims no follow-up while a freeze batch's worth of freezes is in flight, its own or
those another process holds (a batch webhook's, written claimed under the web process's lease), so a wave's
follow-ups never hold back its freezes; with fewer in flight the follow-ups go."""
from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from incidents.anomalies import AnomalyInput, ScoringPolicy
from incidents.anomaly_batch import ingest_batch
from incidents.outbox.exchange import claim_due
from incidents.outbox.lease import DispatchPolicy, Lease

POLICY = DispatchPolicy(lease_seconds=60.0, freeze_batch_size=2)


def flag_claimed(session, accounts: list[str]) -> None:
    """Each account flagged past the freeze threshold by a batch webhook whose freezes the web process claimed."""
    ingest_batch(session, events=[AnomalyInput(event_id=f"e-{a}", account_id=a, type="sim_swap",
                                               occurred_at=utcnow()) for a in accounts],
                 policy=ScoringPolicy(weights={"sim_swap": 100}), lease=Lease("web-process", POLICY))


def test_no_follow_up_is_claimed_while_another_process_holds_a_freeze_batch_in_flight(session):
    flag_claimed(session, ["F1", "F2"])
    assert claim_due(session, worker="worker", policy=POLICY) == []  # both `contain`s are due, and wait
    later = utcnow() + timedelta(seconds=POLICY.lease_seconds + 1)  # the web process died: its leases ran out
    taken = claim_due(session, worker="worker", policy=POLICY, now=later)
    assert sorted((claim.action, claim.account_id) for claim in taken) == [("freeze", "F1"), ("freeze", "F2")]


def test_with_fewer_freezes_in_flight_than_a_batch_the_follow_ups_go(session):
    flag_claimed(session, ["F3"])
    taken = claim_due(session, worker="worker", policy=POLICY)
    assert [(claim.action, claim.account_id) for claim in taken] == [("contain", "F3")]
