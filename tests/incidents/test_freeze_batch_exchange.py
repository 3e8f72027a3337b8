"""`POST /v1/accounts/freeze-batch`: the `http` adapter against the real back office over sockets, and the
`local` adapter; each item frozen once per its own key, each refusal that item's alone."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.db import utcnow
from incidents.outbox.calls import Claim
from incidents.outbox.freeze_batch import freeze_claims
from incidents.outbox.lease import DispatchPolicy
from exchange_sim.local import LocalExchange
from incidents.exchange.port import ExchangeRejected, ExchangeUnavailable, FreezeItem
from tests.incidents.exchange_peer import backoffice_account, exchange_server, keyed_writes, \
    open_account
from tests.incidents.exchange_peer import client_for

__all__ = ["exchange_server"]


def item(account_id: str, key: str, scope: str = "full") -> FreezeItem:
    return FreezeItem(account_id=account_id, scope=scope, reason="credential stuffing", reference="INC-2026-000001",
                      idempotency_key=key)


@pytest.fixture
def sessions(app):
    return app.extensions["lockdesk"].sessions


@pytest.fixture(params=["http", "local"])
def exchange(request, sessions):
    """Each adapter: `http` over a real back-office server on 127.0.0.1, `local` over the embedded one."""
    if request.param == "local":
        return LocalExchange(sessions)
    return client_for(request.getfixturevalue("exchange_server"))


def test_a_batch_freezes_every_account_once_and_answers_in_order(session, exchange):
    for account in ("W1", "W2", "W3"):
        open_account(session, account)
    results = exchange.freeze_batch([item("W3", "k3"), item("W1", "k1", scope="withdrawals"), item("W2", "k2")])
    assert [(r.account_id, r.idempotency_key, r.status) for r in results] == [
        ("W3", "k3", 200), ("W1", "k1", 200), ("W2", "k2", 200)]
    assert all(r.change.state == "frozen" and r.error is None for r in results)
    assert backoffice_account(session, "W1").freeze_scope == "withdrawals"
    assert [backoffice_account(session, a).freezes for a in ("W1", "W2", "W3")] == [1, 1, 1]
    assert keyed_writes(session, "freeze") == 3


def test_an_unknown_account_or_a_refused_item_fails_that_item_alone(session, exchange):
    open_account(session, "W1")
    open_account(session, "W2")
    results = exchange.freeze_batch([item("W1", "k1"), item("NOPE", "k2"), item("W2", "k3", scope="everything"),
                                     item("W2", "k4")])
    assert [r.status for r in results] == [200, 404, 409, 200]
    assert results[1].change is None and "NOPE" in results[1].error and "scope" in results[2].error
    assert backoffice_account(session, "W2").state == "frozen"
    assert keyed_writes(session, "freeze") == 2  # refusals record nothing: a retry is judged afresh


def test_a_repeated_batch_replays_each_items_first_answer_and_freezes_nothing_twice(session, exchange):
    open_account(session, "W1")
    open_account(session, "W2")
    first = exchange.freeze_batch([item("W1", "k1"), item("W2", "k2")])
    again = exchange.freeze_batch([item("W2", "k2"), item("W1", "k1")])
    assert [r.change for r in again] == [first[1].change, first[0].change]
    assert [backoffice_account(session, a).freezes for a in ("W1", "W2")] == [1, 1]


def test_single_freezes_and_batch_items_share_their_keys(session, exchange):
    open_account(session, "W1")
    open_account(session, "W2")
    single = exchange.freeze("W1", scope="full", reason="r", reference="INC", idempotency_key="k1")
    batch = exchange.freeze_batch([item("W1", "k1"), item("W2", "k2")])
    assert batch[0].change == single
    alone = exchange.freeze("W2", scope="full", reason="r", reference="INC", idempotency_key="k2")
    assert alone == batch[1].change
    assert [backoffice_account(session, a).freezes for a in ("W1", "W2")] == [1, 1]


def test_a_key_used_for_another_account_is_refused_for_that_item(session, exchange):
    open_account(session, "W1")
    open_account(session, "W2")
    exchange.freeze("W1", scope="full", reason="r", reference="INC", idempotency_key="k1")
    results = exchange.freeze_batch([item("W2", "k1"), item("W2", "k2"), item("W1", "k2")])
    assert [r.status for r in results] == [409, 200, 409]
    assert backoffice_account(session, "W2").freezes == 1


def test_one_key_twice_in_a_batch_freezes_once_and_answers_both(session, exchange):
    open_account(session, "W1")
    results = exchange.freeze_batch([item("W1", "k1"), item("W1", "k1")])
    assert [r.status for r in results] == [200, 200] and results[0].change == results[1].change
    assert backoffice_account(session, "W1").freezes == 1


def test_an_already_frozen_account_answers_frozen_without_a_second_freeze(session, exchange):
    open_account(session, "W1")
    exchange.freeze("W1", scope="full", reason="r", reference="INC", idempotency_key="k0")
    results = exchange.freeze_batch([item("W1", "k1"), item("W1", "k2")])
    assert [r.change.state for r in results] == ["frozen", "frozen"]
    assert backoffice_account(session, "W1").freezes == 1


def test_the_http_adapter_refuses_more_than_500_items_before_any_call_and_the_dispatcher_chunks(session,
                                                                                               exchange_server):
    client = client_for(exchange_server)
    with pytest.raises(ValueError, match="at most 500"):
        client.freeze_batch([item(f"N{n}", f"k{n}") for n in range(501)])
    assert exchange_server.calls.keys_for("/freeze-batch") == []
    claims = [Claim(command_id=uuid.uuid4(), token="t", action="freeze", account_id=f"N{n}", incident_id=None,
                    payload={}, attempts=1, created_at=utcnow(), claimed_until=utcnow() + timedelta(minutes=1))
              for n in range(501)]
    results = freeze_claims(client, claims, policy=DispatchPolicy())
    assert len(results) == 501 and {r.verdict for r in results} == {"failed"}  # unknown accounts: 404 each
    assert exchange_server.calls.keys_for("/freeze-batch") == [None]  # 500 in one call
    assert exchange_server.calls.keys_for("/freeze") == [claims[-1].idempotency_key]  # the lone one left
def test_the_server_refuses_a_malformed_batch_whole(session, exchange_server):
    client = client_for(exchange_server)
    for body in ({"items": []}, {"items": [{"account_id": "W1"}]}, {"items": [{"idempotency_key": "k"}] * 501},
                 {"items": [{"account_id": "W1", "idempotency_key": "k", "scope": 7}]}):
        with pytest.raises(ExchangeRejected, match="HTTP 422"):
            client._request("POST", "/v1/accounts/freeze-batch", body=body)


def test_a_batch_that_timed_out_then_sent_item_by_item_with_the_same_keys_freezes_nothing_twice(session,
                                                                                                exchange_server):
    for account in ("T1", "T2", "T3"):
        open_account(session, account)
    exchange_server.faults.configure(hold_writes=True)  # the batch commits, then its answer is held
    client = client_for(exchange_server, attempts=1, read_timeout=0.5)
    with pytest.raises(ExchangeUnavailable):
        client.freeze_batch([item("T1", "k1"), item("T2", "k2"), item("T3", "k3")])
    assert exchange_server.faults.write_applied.wait(30)
    exchange_server.faults.configure(hold_writes=False)
    exchange_server.faults.release.set()
    alone = [client.freeze(a, scope="full", reason="r", reference="INC", idempotency_key=k)
             for a, k in (("T1", "k1"), ("T2", "k2"), ("T3", "k3"))]
    assert [change.state for change in alone] == ["frozen"] * 3
    assert [backoffice_account(session, a).freezes for a in ("T1", "T2", "T3")] == [1, 1, 1]
    assert keyed_writes(session, "freeze") == 3


def test_a_failing_exchange_is_retried_by_the_adapter_then_reported_unavailable(session, exchange_server):
    open_account(session, "W1")
    exchange_server.faults.configure(fail_next=1, fail_status=503)
    results = client_for(exchange_server, attempts=2).freeze_batch([item("W1", "k1")])
    assert results[0].status == 200 and backoffice_account(session, "W1").freezes == 1
    exchange_server.faults.configure(fail_next=5, fail_status=503)
    with pytest.raises(ExchangeUnavailable):
        client_for(exchange_server, attempts=2).freeze_batch([item("W1", "k1")])


def test_the_back_office_counts_its_calls_by_kind(session, exchange_server):
    open_account(session, "W1")
    client = client_for(exchange_server)
    client.freeze_batch([item("W1", "k1"), item("W2", "k2")])
    client.freeze("W1", scope="full", reason="r", reference="INC", idempotency_key="k1")
    client.get_account("W1")
    counts = client._request("GET", "/_calls")
    assert counts["by_kind"] == {"POST /v1/accounts/freeze-batch": 1, "POST /v1/accounts/{id}/freeze": 1,
                                 "GET /v1/accounts/{id}": 1}
    assert counts["total"] == 3
