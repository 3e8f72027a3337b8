"""Issue 14 item 11: both case pages show the earliest suspicious activity known, not the report's time."""
from __future__ import annotations

import re
from datetime import timedelta

from app.db import utcnow
from exchange_sim.backoffice import NewWithdrawal, add_withdrawal
from tests.factories import exchange_account
from tests.web.conftest import run_follow_ups
from tests.web.pages import sign_in
from tests.web.pages import incident_of, report
from tests.web.pages import verify_on_the_page


def shown(html: str) -> str:
    """The text of the page's first-suspicious-activity fact."""
    return re.sub(r"\s+", " ", re.search(r'data-testid="first-suspicious">(.*?)</dd>', html, re.S).group(1)).strip()


def test_both_case_pages_show_a_withdrawal_two_hours_before_the_report(app, client, agent, clock):
    exchange_account(app, "U3003")
    taken = utcnow() - timedelta(hours=2)
    with app.extensions["lockdesk"].sessions() as session:
        add_withdrawal(session, withdrawal=NewWithdrawal(
            withdrawal_id="w-two-hours", account_id="U3003", chain="ethereum", asset="ETH", amount="4.2",
            address="0x" + "12" * 20, tx_hash="0x" + "cd" * 32, created_at=taken))
    owner = app.test_client()
    incident_id, _ = incident_of(owner.get(report(owner, "U3003").headers["Location"]).text)
    run_follow_ups(app)
    expected = taken.strftime("%Y-%m-%d %H:%M UTC")
    assert 'data-testid="first-suspicious"' not in owner.get(f"/i/{incident_id}").text  # the owner's view: proven only
    verify_on_the_page(app, owner, incident_id, clock)
    assert shown(owner.get(f"/i/{incident_id}").text) == f"{expected} · a withdrawal from the account"
    chinese = owner.get(f"/i/{incident_id}", headers={"Accept-Language": "zh-CN"}).text
    assert shown(chinese).startswith(expected) and "提现" in shown(chinese)
    sign_in(client, agent, clock)
    assert shown(client.get(f"/console/incidents/{incident_id}").text) == (
        f"{expected} · a withdrawal from the account (4.2 ETH)")
