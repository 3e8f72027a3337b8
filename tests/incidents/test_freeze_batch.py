"""Due freezes of one exchange sent as freeze batches: each command's result as its single call would give it,
recorded by the outbox's own `record_outcome`; a failed batch sent again item by item with the same keys."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from incidents.anomalies import AnomalyInput, ScoringPolicy
from incidents.anomaly_batch import ingest_batch
from incidents.outbox.calls import Claim
from incidents.outbox.exchange import claim_due, record_outcome
from incidents.outbox.lease import DispatchPolicy
from incidents.exchange.port import (
    AccountNotFound,
    ExchangeRejected,
    ExchangeUnavailable,
    FreezeItemResult,
    StateChange,
)
from incidents.outbox.freeze_batch import freeze_claims as send_freeze_claims
from incidents.outbox.freeze_batch import item_result
from incidents.models import Incident
from tests.incidents.exchange_peer import backoffice_account, exchange_server, keyed_writes, open_account
from tests.incidents.exchange_peer import client_for

__all__ = ["exchange_server"]
POLICY = DispatchPolicy(batch_size=2000)
CHANGED_AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def freeze_claims(exchange, claims, *, policy: DispatchPolicy) -> list[tuple[Claim, object]]:
    """The batch call's results, each with its claim."""
    return list(zip(claims, send_freeze_claims(exchange, claims, policy=policy), strict=True))


def claim(account_id: str, action: str = "freeze", **payload) -> Claim:
    return Claim(command_id=uuid.uuid4(), token="t", action=action, account_id=account_id, incident_id=None,
                 payload={"scope": "full", "reason": "risk", "reference": "INC-2026-000001", **payload}, attempts=1,
                 created_at=utcnow(), claimed_until=utcnow() + timedelta(minutes=1))


class FakeExchange:
    """Answers freeze batches from a script and single freezes with frozen, recording every call."""

    def __init__(self, *, batch_error: Exception | None = None, statuses: dict[str, int] | None = None,
                 drop: frozenset[str] = frozenset()):
        self.batch_error, self.statuses, self.drop = batch_error, statuses or {}, drop
        self.batches: list[list[str]] = []
        self.singles: list[tuple[str, str]] = []

    def freeze_batch(self, items):
        self.batches.append([i.idempotency_key for i in items])
        if self.batch_error is not None:
            raise self.batch_error
        return [FreezeItemResult(account_id=i.account_id, idempotency_key=i.idempotency_key,
                                 status=self.statuses.get(i.account_id, 200),
                                 change=StateChange(i.account_id, "frozen", CHANGED_AT)
                                 if self.statuses.get(i.account_id, 200) == 200 else None,
                                 error=None if self.statuses.get(i.account_id, 200) == 200 else "refused")
                for i in items if i.account_id not in self.drop]

    def freeze(self, account_id, *, scope, reason, reference, idempotency_key):
        self.singles.append((account_id, idempotency_key))
        return StateChange(account_id, "frozen", CHANGED_AT)


def test_claims_go_in_one_call_per_500_and_come_back_in_order_as_done():
    claims = [claim(f"A{n}") for n in range(1100)]
    exchange = FakeExchange()
    results = freeze_claims(exchange, claims, policy=POLICY)
    assert [len(batch) for batch in exchange.batches] == [500, 500, 100] and exchange.singles == []
    assert [c for c, _ in results] == claims
    assert all(r.verdict == "done" and r.answer.state == "frozen" for _, r in results)
    assert exchange.batches[0][0] == str(claims[0].command_id)  # the single freeze's key: the command id


def test_the_policy_s_freeze_batch_size_sets_the_chunks():
    exchange = FakeExchange()
    freeze_claims(exchange, [claim(f"A{n}") for n in range(5)], policy=DispatchPolicy(freeze_batch_size=2))
    assert [len(batch) for batch in exchange.batches] == [2, 2] and len(exchange.singles) == 1


def test_a_404_or_a_refusal_fails_that_command_alone_as_the_single_call_would():
    exchange = FakeExchange(statuses={"GONE": 404, "NO": 409, "ODD": 418})
    results = dict((c.account_id, r) for c, r in freeze_claims(
        exchange, [claim("OK"), claim("GONE"), claim("NO"), claim("ODD")], policy=POLICY))
    assert results["OK"].verdict == "done"
    assert results["GONE"].verdict == "failed" and results["GONE"].error.startswith("AccountNotFound: ")
    assert results["NO"].verdict == "failed" and results["NO"].error.startswith("ExchangeRejected: ")
    assert results["ODD"].verdict == "retry"


@pytest.mark.parametrize("error", [ExchangeUnavailable("read timeout"), ExchangeRejected("HTTP 404 no such route"),
                                   AccountNotFound("HTTP 404"), ValueError("not the answer we know")])
def test_a_failed_batch_is_sent_item_by_item_with_the_same_keys(error):
    claims = [claim("A"), claim("B"), claim("C")]
    exchange = FakeExchange(batch_error=error)
    results = freeze_claims(exchange, claims, policy=POLICY)
    assert exchange.singles == [(c.account_id, c.idempotency_key) for c in claims]
    assert [r.verdict for _, r in results] == ["done"] * 3


def test_an_item_the_answer_left_out_is_asked_for_alone():
    exchange = FakeExchange(drop=frozenset({"B"}))
    results = freeze_claims(exchange, [claim("A"), claim("B")], policy=POLICY)
    assert [account for account, _ in exchange.singles] == ["B"]
    assert [r.verdict for _, r in results] == ["done", "done"]


def test_a_lone_freeze_goes_as_a_single_call():
    exchange = FakeExchange()
    results = freeze_claims(exchange, [claim("A")], policy=POLICY)
    assert exchange.batches == [] and len(exchange.singles) == 1
    assert results[0][1].verdict == "done"


def test_the_chunks_are_never_larger_than_the_port_takes():
    exchange = FakeExchange()
    freeze_claims(exchange, [claim(f"A{n}") for n in range(501)], policy=DispatchPolicy(freeze_batch_size=5000))
    assert [len(batch) for batch in exchange.batches] == [500] and len(exchange.singles) == 1


def test_an_item_result_without_its_state_change_is_retried():
    assert item_result(FreezeItemResult("A", "k", 200)).verdict == "retry"


# Against the real back office over HTTP, with the outbox's own claims and records.

def flagged(session, accounts: list[str]) -> None:
    """A wave: each account flagged by one event that crosses the freeze threshold (freezes queued)."""
    policy = ScoringPolicy(weights={"sim_swap": 100})
    ingest_batch(session, events=[AnomalyInput(event_id=f"e-{a}", account_id=a, type="sim_swap",
                                               occurred_at=utcnow()) for a in accounts], policy=policy)


def due_freezes(session) -> list[Claim]:
    return [c for c in claim_due(session, worker="test", policy=POLICY) if c.action == "freeze"]


def record_all(session, results) -> list[str]:
    return [record_outcome(session, claim=c, result=r, policy=POLICY).outcome for c, r in results]


def test_a_wave_is_frozen_with_one_call_and_each_command_recorded_as_before(session, exchange_server):
    for account in ("V1", "V2", "V3"):
        open_account(session, account)
    flagged(session, ["V1", "V2", "V3", "GHOST"])
    claims = due_freezes(session)
    results = freeze_claims(client_for(exchange_server), claims, policy=POLICY)
    assert exchange_server.calls.keys_for("/freeze-batch") == [None]
    assert exchange_server.calls.keys_for("/freeze") == []
    assert sorted(record_all(session, results)) == ["done", "done", "done", "failed"]
    session.expire_all()
    incidents = {i.account_id: i for i in session.scalars(select(Incident))}
    assert {a: incidents[a].containment for a in ("V1", "V2", "V3")} == dict.fromkeys(("V1", "V2", "V3"), "frozen")
    assert incidents["GHOST"].containment == "freeze_failed" and incidents["GHOST"].outcome == "account_unknown"
    assert [backoffice_account(session, a).freezes for a in ("V1", "V2", "V3")] == [1, 1, 1]


def test_a_batch_the_exchange_failed_is_sent_item_by_item_with_the_same_keys(session, exchange_server):
    for account in ("V1", "V2"):
        open_account(session, account)
    flagged(session, ["V1", "V2"])
    claims = due_freezes(session)
    exchange_server.faults.configure(fail_next=1, fail_status=503)
    results = freeze_claims(client_for(exchange_server, attempts=1), claims, policy=POLICY)
    assert sorted(exchange_server.calls.keys_for("/freeze")) == sorted(c.idempotency_key for c in claims)
    assert record_all(session, results) == ["done", "done"]
    assert [backoffice_account(session, a).freezes for a in ("V1", "V2")] == [1, 1]


class AnswerLost:
    """The real adapter, but a freeze batch's answer is lost after the exchange applied it (a read timeout)."""

    def __init__(self, exchange):
        self.exchange = exchange

    def freeze_batch(self, items):
        self.exchange.freeze_batch(items)
        raise ExchangeUnavailable("POST /v1/accounts/freeze-batch: ReadTimeoutError")

    def freeze(self, *args, **kwargs):
        return self.exchange.freeze(*args, **kwargs)


def test_a_batch_applied_but_unanswered_is_replayed_item_by_item_and_freezes_nothing_twice(session, exchange_server):
    for account in ("V1", "V2", "V3"):
        open_account(session, account)
    flagged(session, ["V1", "V2", "V3"])
    results = freeze_claims(AnswerLost(client_for(exchange_server)), due_freezes(session), policy=POLICY)
    assert record_all(session, results) == ["done", "done", "done"]
    assert [backoffice_account(session, a).freezes for a in ("V1", "V2", "V3")] == [1, 1, 1]
    assert keyed_writes(session, "freeze") == 3


class DownExchange(FakeExchange):
    """Neither batches nor single freezes get through."""

    def freeze(self, account_id, *, scope, reason, reference, idempotency_key):
        self.singles.append((account_id, idempotency_key))
        raise ExchangeUnavailable("connect timeout", retry_after=3.0)


def test_once_a_single_call_finds_the_exchange_unavailable_the_rest_are_retried_later_unsent():
    exchange = DownExchange(batch_error=ExchangeUnavailable("read timeout"))
    results = freeze_claims(exchange, [claim("A"), claim("B"), claim("C")], policy=POLICY)
    assert [account for account, _ in exchange.singles] == ["A"]
    assert [r.verdict for _, r in results] == ["retry"] * 3
    assert results[2][1].error == "not sent: ExchangeUnavailable: connect timeout"
    assert results[2][1].retry_after == 3.0
