"""The outbox's and the review's rules on the port fakes: no Flask, no database."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from incidents.outbox import calls, delivery, lease
from incidents.outbox.calls import CallResult, Claim, batches, call_exchange, send
from incidents.outbox.lease import DispatchPolicy, Lease
from incidents.outbox.states import can_move, transition
from incidents.states import IllegalTransition
from incidents.unfreeze_states import REQUEST_TRANSITIONS, transition_request
from tests.fakes import FakeExchange

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
POLICY = DispatchPolicy(lease_seconds=30)


def claim(action: str = "freeze", account_id: str = "U1001", **payload) -> Claim:
    return Claim(command_id=uuid.uuid4(), token="t", action=action, account_id=account_id, incident_id=None,
                 payload=payload, attempts=1, created_at=NOW, claimed_until=NOW + timedelta(seconds=30))


def row(status: str = "pending", attempts: int = 0) -> SimpleNamespace:
    return SimpleNamespace(status=status, attempts=attempts, claim_token=None, claimed_until=None,
                           last_error=None, next_attempt_at=NOW, created_at=NOW, delivered_at=None)


def test_a_freeze_is_sent_with_the_command_id_as_its_idempotency_key():
    exchange = FakeExchange()
    taken = claim("freeze", scope="full", reason="owner report", reference="LD-1")
    result = call_exchange(exchange, taken, policy=POLICY)
    assert (result.verdict, result.answer.state) == ("done", "frozen")
    assert exchange.calls == [("freeze", "U1001", str(taken.command_id))]


def test_a_passing_failure_is_retried_and_a_refusal_is_final():
    exchange = FakeExchange(unavailable=1)
    retry = call_exchange(exchange, claim(), policy=POLICY)
    refused = call_exchange(exchange, claim(account_id="nobody"), policy=POLICY)
    assert (retry.verdict, retry.retry_after) == ("retry", 1.0)
    assert refused.verdict == "failed" and refused.error.startswith("AccountNotFound")
    assert call_exchange(exchange, claim("teleport"), policy=POLICY).verdict == "failed"


def test_the_contain_command_carries_out_every_step_under_keys_derived_from_its_id():
    exchange = FakeExchange()
    taken = claim("contain")
    answer = call_exchange(exchange, taken, policy=POLICY).answer
    assert answer.sessions.revoked == 1 and answer.snapshot.state == "active"
    keys = [key for _operation, _account, key in exchange.calls if key]
    assert keys == [f"{taken.command_id}:sessions", f"{taken.command_id}:api-keys",
                    f"{taken.command_id}:withdrawals"]


def test_claims_of_an_action_with_a_batch_call_go_out_as_one_call_freezes_first(monkeypatch):
    sent = []

    def freeze_batch(exchange, claims, policy):
        sent.append([c.account_id for c in claims])
        return [CallResult("done", answer=c.account_id) for c in claims]

    monkeypatch.setitem(calls.BATCH_CALLS, "freeze", freeze_batch)
    freezes, contain = [claim("freeze", "A"), claim("freeze", "B")], claim("contain")
    grouped = batches([freezes[0], contain, freezes[1]])
    assert grouped == [freezes, [contain]]
    assert [r.answer for r in send(FakeExchange(), freezes, policy=POLICY)] == ["A", "B"]
    assert sent == [["A", "B"]]


def test_a_row_is_claimed_under_a_token_and_a_lease_and_only_listed_moves_are_allowed():
    taken = lease.take(row(), lease=Lease("w1", POLICY), now=NOW)
    assert (taken.status, taken.attempts, taken.claimed_until) == ("in_flight", 1, NOW + timedelta(seconds=30))
    assert lease.holds(taken.status, taken.claim_token, taken.claim_token)
    assert not lease.holds(taken.status, taken.claim_token, "someone-else")
    lease.finish(taken, "done")
    assert (taken.status, taken.claim_token) == ("done", None)
    with pytest.raises(IllegalTransition):
        transition(taken, "pending")
    assert can_move("in_flight", "in_flight") and not can_move("pending", "done")


def test_a_delivery_backs_off_then_fails_for_good_after_its_attempts():
    held = lease.take(row(), lease=delivery.DELIVERY_LEASE, now=NOW)
    assert delivery.finish_row(held, error="busy", is_retryable=True, now=NOW, rand=lambda: 0.0) == "pending"
    assert held.next_attempt_at == NOW + timedelta(seconds=2.5)
    spent = lease.take(row(attempts=delivery.MAX_ATTEMPTS - 1), lease=delivery.DELIVERY_LEASE, now=NOW)
    assert delivery.finish_row(spent, error="busy", is_retryable=True, now=NOW) == "failed"


def test_an_unfreeze_request_moves_only_along_its_table():
    request = SimpleNamespace(status="pending", decided_at=None)
    transition_request(request, "approved", decided_at=NOW)
    assert (request.status, request.decided_at) == ("approved", NOW)
    with pytest.raises(IllegalTransition):
        transition_request(request, "completed")
    assert all(not REQUEST_TRANSITIONS[end] for end in ("completed", "rejected", "failed", "cancelled"))
