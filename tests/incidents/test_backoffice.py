"""The embedded back office's keyed writes and reads, on each backend: once per key, whoever races."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app.db import FieldCipher
from exchange_sim import backoffice
from exchange_sim.models import BackofficeRequest, BackofficeSecurityEvent
from incidents.exchange.port import AccountNotFound, ExchangeRejected
from tests.incidents.exchange_peer import backoffice_account, keyed_writes, open_account


@pytest.fixture
def sessions(app):
    """The application's session factory."""
    return app.extensions["lockdesk"].sessions


def perform(sessions, operation: str, key: str, account_id: str = "U1001", **body) -> dict:
    """One keyed write in a session of its own, as the adapters make it."""
    with sessions() as session:
        return backoffice.perform(session, operation=operation, account_id=account_id, idempotency_key=key,
                                  body=body)


def security_events(session, account_id: str = "U1001") -> list[str]:
    """The kinds of the account's security events, oldest first."""
    session.rollback()
    kinds = list(session.scalars(select(BackofficeSecurityEvent.kind).where(
        BackofficeSecurityEvent.account_id == account_id).order_by(BackofficeSecurityEvent.id)))
    session.rollback()
    return kinds


def add_withdrawal(session, withdrawal_id: str, status: str, minute: int) -> None:
    """A withdrawal of U1001 created at 03:`minute` on 2026-11-20."""
    backoffice.add_withdrawal(session, withdrawal=backoffice.NewWithdrawal(
        withdrawal_id=withdrawal_id, account_id="U1001", chain="ethereum", asset="ETH", amount="1.5",
        address="0x" + "11" * 20, status=status, created_at=datetime(2026, 11, 20, 3, minute, tzinfo=UTC)))


def test_a_freeze_changes_the_account_once_and_records_one_event(session, sessions):
    open_account(session)
    first = perform(sessions, "freeze", "k1", scope="withdrawals")
    assert first["state"] == "frozen" and first["account_id"] == "U1001"
    second = perform(sessions, "freeze", "k2", scope="full")  # a new key on a frozen account changes nothing
    assert second == first
    account = backoffice_account(session, "U1001")
    assert (account.state, account.freeze_scope, account.freezes) == ("frozen", "withdrawals", 1)
    assert security_events(session) == ["totp_bound", "phone_bound", "account_frozen"]
    assert keyed_writes(session, "freeze") == 2


def test_an_unfreeze_lifts_the_freeze_holds_withdrawals_and_an_active_account_stays_as_it_is(session, sessions):
    open_account(session)
    idle = perform(sessions, "unfreeze", "u0")
    assert idle["state"] == "active" and backoffice_account(session, "U1001").withdrawals_held_until is None
    perform(sessions, "freeze", "f1")
    lifted = perform(sessions, "unfreeze", "u1", withdrawal_cooldown_hours=48)
    account = backoffice_account(session, "U1001")
    assert lifted["state"] == "active" and account.freeze_scope is None
    assert account.withdrawals_held_until - account.changed_at == timedelta(hours=48)
    assert security_events(session)[-2:] == ["account_frozen", "account_unfrozen"]


def test_a_repeated_key_answers_as_the_first_time_changes_nothing_and_is_counted(session, sessions):
    open_account(session)
    first = perform(sessions, "freeze", "f1", scope="withdrawals")
    perform(sessions, "unfreeze", "u1")
    again = perform(sessions, "freeze", "f1", scope="withdrawals")
    assert again == first
    account = backoffice_account(session, "U1001")
    assert (account.state, account.freezes) == ("active", 1)
    session.rollback()
    assert session.get(BackofficeRequest, "f1", populate_existing=True).replays == 1


def test_a_key_used_for_another_operation_or_account_is_refused_and_changes_nothing(session, sessions):
    open_account(session)
    open_account(session, "U1002")
    perform(sessions, "revoke_api_keys", "k")
    with pytest.raises(ExchangeRejected):
        perform(sessions, "freeze", "k")
    with pytest.raises(ExchangeRejected):
        perform(sessions, "revoke_api_keys", "k", account_id="U1002")
    assert backoffice_account(session, "U1001").state == "active"
    assert backoffice_account(session, "U1002").active_api_keys == 2
    session.rollback()
    assert session.get(BackofficeRequest, "k", populate_existing=True).replays == 0


def test_a_refused_write_records_no_key(session, sessions):
    open_account(session)
    with pytest.raises(ExchangeRejected):
        perform(sessions, "freeze", "bad", scope="everything")
    with pytest.raises(AccountNotFound):
        perform(sessions, "cancel_pending_withdrawals", "ghost", account_id="GHOST")
    assert keyed_writes(session, "freeze") == 0 and backoffice_account(session, "U1001").state == "active"


@pytest.mark.parametrize("hours", ["24", 2.5, -1, 24 * 31, True, None])
def test_an_unfreeze_with_a_cooldown_that_is_not_a_whole_number_of_hours_is_refused(session, sessions, hours):
    open_account(session)
    perform(sessions, "freeze", "f1")
    with pytest.raises(ExchangeRejected, match="withdrawal_cooldown_hours"):
        perform(sessions, "unfreeze", "u1", withdrawal_cooldown_hours=hours)
    assert keyed_writes(session, "unfreeze") == 0 and backoffice_account(session, "U1001").state == "frozen"


@pytest.mark.parametrize("operation", ["freeze", "revoke_sessions"])
def test_concurrent_calls_with_one_key_have_one_effect_and_one_answer(session, sessions, operation):
    open_account(session)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: perform(sessions, operation, "same"), range(8)))
    assert all(answer == answers[0] for answer in answers)
    account = backoffice_account(session, "U1001")
    assert (account.freezes, account.active_sessions) == ((1, 3) if operation == "freeze" else (0, 0))
    assert keyed_writes(session, operation) == 1
    session.rollback()
    assert session.get(BackofficeRequest, "same", populate_existing=True).replays == 7


def test_cancelling_answers_the_pending_withdrawals_oldest_first_and_only_once(session, sessions):
    open_account(session)
    for withdrawal_id, status, minute in (("W3", "pending", 3), ("W1", "pending", 1), ("W2", "completed", 2)):
        add_withdrawal(session, withdrawal_id, status, minute)
    assert perform(sessions, "cancel_pending_withdrawals", "c1") == {"cancelled": ["W1", "W3"]}
    assert perform(sessions, "cancel_pending_withdrawals", "c2") == {"cancelled": []}


def test_withdrawals_are_listed_oldest_first_since_a_time_and_an_unknown_account_is_not_found(session):
    open_account(session)
    assert backoffice.list_withdrawals(session, account_id="U1001", since=None) == {"items": []}
    for withdrawal_id, minute in (("W2", 2), ("W0", 0), ("W1", 1)):
        add_withdrawal(session, withdrawal_id, "completed", minute)
    listed = backoffice.list_withdrawals(session, account_id="U1001", since=None)["items"]
    assert [item["id"] for item in listed] == ["W0", "W1", "W2"]
    since = backoffice.list_withdrawals(session, account_id="U1001", since=datetime(2026, 11, 20, 3, 1, tzinfo=UTC))
    assert [item["id"] for item in since["items"]] == ["W1", "W2"]
    assert since["items"][0]["created_at"] == "2026-11-20T03:01:00.000Z" and since["items"][0]["tx_hash"] is None
    with pytest.raises(AccountNotFound):
        backoffice.list_withdrawals(session, account_id="GHOST", since=None)
    with pytest.raises(AccountNotFound):
        backoffice.describe_account(session, account_id="GHOST")


def test_a_read_in_the_callers_transaction_leaves_it_open(session):
    open_account(session)
    session.rollback()
    session.get(BackofficeRequest, "nothing")  # the caller's transaction is open…
    assert backoffice.describe_account(session, account_id="U1001")["state"] == "active"
    assert session.in_transaction()  # …and still is: only a read of its own ends what it began


def test_writes_never_decrypt_the_totp_secret(session, sessions, monkeypatch):
    open_account(session)
    add_withdrawal(session, "W1", "pending", 1)
    monkeypatch.setattr(FieldCipher, "_active", FieldCipher([Fernet.generate_key().decode()]))  # a key that can't
    for operation in backoffice.OPERATIONS:
        perform(sessions, operation, f"key-{operation}")
    with pytest.raises(ValueError, match="could not be decrypted"):
        backoffice.describe_account(session, account_id="U1001")  # the one call that needs the secret


def test_a_security_event_is_recorded_for_a_known_account_and_refused_for_an_unknown_one(session):
    open_account(session)
    at = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    backoffice.add_security_event(session, account_id="U1001", kind="password_reset", at=at)
    assert security_events(session)[-1] == "password_reset"
    described = backoffice.describe_account(session, account_id="U1001")["security_events"]
    assert {"kind": "password_reset", "at": "2026-11-21T09:30:00.000Z"} in described
    with pytest.raises(AccountNotFound):
        backoffice.add_security_event(session, account_id="NOPE", kind="password_reset")
    assert security_events(session, "NOPE") == []


def test_the_cli_records_a_security_event_through_the_back_office_and_exits_2_on_an_unknown_account(app, session):
    open_account(session)
    runner = app.test_cli_runner()
    played = runner.invoke(args=["exchange", "add-security-event", "--account", "U1001", "--kind", "totp_changed"])
    assert played.exit_code == 0 and '"kind": "totp_changed"' in played.output
    assert security_events(session)[-1] == "totp_changed"
    refused = runner.invoke(args=["exchange", "add-security-event", "--account", "NOPE", "--kind", "totp_changed"])
    assert refused.exit_code == 2 and "no account NOPE at the exchange" in refused.output
    assert security_events(session, "NOPE") == []
