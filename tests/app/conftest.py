"""API tests report on accounts that exist at the embedded exchange."""
import pytest

from tests.factories import exchange_account


@pytest.fixture(autouse=True)
def known_accounts(app):
    """The accounts most API tests report on (an account the exchange does not know closes its case at once)."""
    for account_id in ("U1001", "U2002", "SAME", "A1", "B1", "RACE-1"):
        exchange_account(app, account_id)
