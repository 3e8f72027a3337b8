"""GET /v1/deposit-addresses/{address} (API.md): the account a deposit address belongs to, in both adapters."""
from __future__ import annotations

import pytest

from kernel.errors import Conflict
from exchange_sim.deposits import add_deposit_address
from exchange_sim.local import LocalExchange
from incidents.exchange.port import AccountNotFound, DepositAddress
from tests.incidents.exchange_peer import exchange_server, open_account
from tests.incidents.exchange_peer import client_for

__all__ = ["exchange_server"]
DEPOSIT = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"


@pytest.fixture
def deposit(session):
    """U1001 at the exchange, with an ethereum deposit address given in checksum case."""
    open_account(session, "U1001")
    add_deposit_address(session, address=DEPOSIT, chain="ethereum", account_id="U1001")
    return DEPOSIT


def test_the_http_adapter_finds_the_account_of_a_deposit_address_in_any_letter_case(deposit, exchange_server):
    found = client_for(exchange_server).find_deposit_address(deposit.upper().replace("0X", "0x"))
    assert found == DepositAddress(address=deposit.lower(), chain="ethereum", account_id="U1001")
    assert exchange_server.calls.calls[-1].path == f"/v1/deposit-addresses/{deposit.upper().replace('0X', '0x')}"


def test_an_address_the_exchange_never_gave_is_none_over_http(deposit, exchange_server):
    assert client_for(exchange_server).find_deposit_address("0x" + "99" * 20) is None
    assert client_for(exchange_server).find_deposit_address("bc1q/../../v1/accounts") is None


def test_the_local_adapter_answers_alike(app, deposit):
    local = LocalExchange(app.extensions["lockdesk"].sessions)
    assert local.find_deposit_address(deposit).account_id == "U1001"
    assert local.find_deposit_address("0x" + "99" * 20) is None


def test_an_address_belongs_to_one_existing_account(session, deposit):
    with pytest.raises(Conflict):
        add_deposit_address(session, address=deposit.lower(), chain="ethereum", account_id="U1001")
    with pytest.raises(AccountNotFound):
        add_deposit_address(session, address="0x" + "77" * 20, chain="ethereum", account_id="NOBODY")
