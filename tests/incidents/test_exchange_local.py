"""The `local` adapter over the embedded back office: keyed writes happen once, in their own transaction."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from exchange_sim import backoffice
from exchange_sim.local import LocalExchange
from incidents.exchange.port import AccountNotFound
from tests.incidents.exchange_peer import (
    TOTP_SECRET,
    backoffice_account,
    keyed_writes,
    open_account,
)


@pytest.fixture
def sessions(app):
    """The application's session factory."""
    return app.extensions["lockdesk"].sessions


@pytest.fixture
def exchange(sessions):
    """The local adapter."""
    return LocalExchange(sessions)


def test_a_repeated_key_returns_the_first_answer_and_freezes_once(session, sessions, exchange):
    open_account(session)
    first = exchange.freeze("U1001", scope="full", reason="stolen", reference="INC-1", idempotency_key="k1")
    again = exchange.freeze("U1001", scope="full", reason="stolen", reference="INC-1", idempotency_key="k1")
    assert first == again and first.state == "frozen"
    assert backoffice_account(session, "U1001").freezes == 1
    assert keyed_writes(session, "freeze") == 1


def test_an_unknown_account_is_account_not_found(session, exchange):
    with pytest.raises(AccountNotFound):
        exchange.freeze("NOPE", scope="full", reason="r", reference="INC-1", idempotency_key="k2")
    with pytest.raises(AccountNotFound):
        exchange.get_account("NOPE")


def test_the_write_commits_on_its_own_whatever_the_callers_transaction_does(session, sessions, exchange,
                                                                          is_postgresql):
    if not is_postgresql:
        pytest.skip("SQLite has one writer at a time; dispatch never holds a transaction across an exchange call")
    open_account(session)
    session.execute(text("SELECT 1 FROM incidents"))  # the caller has a transaction open…
    exchange.revoke_sessions("U1001", idempotency_key="k3")
    session.rollback()  # …and rolls it back: the exchange still revoked, as a remote system would have
    assert backoffice_account(session, "U1001").active_sessions == 0


def test_revocations_count_and_a_replay_counts_the_same(session, exchange):
    open_account(session)
    assert exchange.revoke_sessions("U1001", idempotency_key="s").revoked == 3
    assert exchange.revoke_sessions("U1001", idempotency_key="s").revoked == 3
    assert exchange.revoke_api_keys("U1001", idempotency_key="a").revoked == 2
    assert exchange.revoke_api_keys("U1001", idempotency_key="a2").revoked == 0


def test_pending_withdrawals_are_cancelled_and_listed_since_a_time(session, exchange):
    open_account(session)
    for index, status in enumerate(("completed", "pending")):
        backoffice.add_withdrawal(session, withdrawal=backoffice.NewWithdrawal(
            withdrawal_id=f"W{index}", account_id="U1001", chain="ethereum", asset="ETH", amount="1.5",
            address="0x" + "11" * 20, tx_hash="0x" + f"{index:02d}" * 32, status=status,
            created_at=datetime(2026, 11, 20, 3, index, tzinfo=UTC)))
    assert exchange.cancel_pending_withdrawals("U1001", idempotency_key="c").cancelled == ["W1"]
    listed = exchange.list_withdrawals("U1001", since=datetime(2026, 11, 20, 3, 1, tzinfo=UTC))
    assert [(w.id, w.status) for w in listed] == [("W1", "cancelled")]


def test_the_account_snapshot_carries_factors_contacts_and_security_events(session, exchange):
    open_account(session)
    snapshot = exchange.get_account("U1001")
    assert snapshot.factors.totp.secret == TOTP_SECRET
    assert snapshot.factors.totp.bound_at == datetime(2025, 1, 2, tzinfo=UTC)
    assert snapshot.factors.sms.bound_at == datetime(2025, 1, 3, tzinfo=UTC)
    assert (snapshot.email, snapshot.phone, snapshot.anti_phishing_code) == ("owner@example.com", "+15550001",
                                                                              "BLUE-OWL")
    assert {event.kind for event in snapshot.security_events} == {"totp_bound", "phone_bound"}


def test_the_totp_secret_is_encrypted_in_the_back_office_table(session):
    open_account(session)
    stored = session.execute(text("SELECT totp_secret FROM backoffice_accounts")).scalar_one()
    assert TOTP_SECRET not in stored


def test_the_cli_adds_accounts_and_withdrawals(runner, sessions):
    added = runner.invoke(args=["exchange", "add-account", "--id", "U7", "--email", "a@example.com", "--phone",
                                "+15550007", "--totp-secret", TOTP_SECRET, "--totp-bound-at", "2026-11-01T00:00:00Z",
                                "--anti-phishing-code", "RED"])
    assert added.exit_code == 0, added.output
    paid = runner.invoke(args=["exchange", "add-withdrawal", "--account", "U7", "--chain", "ethereum", "--asset",
                               "ETH", "--amount", "2", "--address", "0xabc", "--tx-hash", "0x" + "ab" * 32])
    assert paid.exit_code == 0, paid.output
    duplicate = runner.invoke(args=["exchange", "add-account", "--id", "U7", "--email", "a@example.com",
                                    "--phone", "+1555", "--totp-secret", TOTP_SECRET])
    assert duplicate.exit_code == 2
    account = LocalExchange(sessions).get_account("U7")
    assert account.factors.totp.bound_at == datetime(2026, 11, 1, tzinfo=UTC) and account.anti_phishing_code == "RED"
