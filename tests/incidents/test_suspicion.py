"""The earliest suspicious activity: claims only move it earlier, the exchange's records count, trust uses it.

These call the domain directly, without the API's validation of client times: the domain must be safe alone.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.db import utcnow
from incidents import ownership
from incidents.anomalies import AnomalyInput, ScoringPolicy, ingest_anomaly
from exchange_sim.backoffice import NewWithdrawal, add_withdrawal
from incidents.intake import ReportInput, submit_report
from incidents.models import Incident
from incidents.suspicion import earliest_suspicious_activity
from tests.factories import exchange_account

YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


def ago(**delta) -> datetime:
    """A past time in whole milliseconds, as the exchange's wire format carries it."""
    at = utcnow() - timedelta(**delta)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def settle(app) -> None:
    """Run the freeze's follow-ups (account snapshot, withdrawals)."""
    app.extensions["lockdesk"].ports.dispatcher.drain()


def report(session, account_id: str, *, claimed: datetime | None = None, transactions=()) -> Incident:
    """File a report straight through the domain (no edge validation of the time)."""
    result = submit_report(session, report=ReportInput(
        account_id=account_id, kind="stolen_account", last_legitimate_activity_at=claimed,
        transactions=list(transactions)))
    return result.incident


def start(session, incident: Incident, actor: str = "reporter:owner"):
    """The owner starts a verification through the domain."""
    return ownership.start_owner_verification(session, incident_id=incident.id, actor=actor, trust_days=7)


def trust(verification) -> dict[str, tuple[bool, str | None]]:
    return {check.kind: (check.trusted, check.trust_reason) for check in verification.factors}


def test_a_reporters_future_time_cannot_make_a_rebound_authenticator_trusted(app, session):
    """Issue 17 item 1: a claimed time never moves the suspicion later than the report's arrival."""
    exchange_account(app, "REBOUND-FUTURE", totp_bound_at=utcnow() - timedelta(days=1))
    before = utcnow()
    incident = report(session, "REBOUND-FUTURE", claimed=FAR_FUTURE)
    assert before <= incident.first_suspicious_at <= utcnow()
    settle(app)
    verification = start(session, incident)
    assert trust(verification)["totp"][0] is False
    assert verification.manual_review_required and verification.status == "manual_review"


def test_a_suspicious_time_stored_in_the_future_is_still_judged_at_the_case_opening(app, session):
    """Issue 17 item 1: a bad time already in the database (an older row) is clamped when read."""
    exchange_account(app, "REBOUND-STORED", totp_bound_at=utcnow() - timedelta(days=1))
    incident = report(session, "REBOUND-STORED")
    incident.first_suspicious_at = FAR_FUTURE
    session.commit()
    settle(app)
    assert earliest_suspicious_activity(session, incident, look_back_days=7).at <= incident.created_at
    assert trust(start(session, incident))["totp"][0] is False


def test_a_strangers_year_one_report_never_breaks_the_owners_verification(app, session):
    """Issue 17 item 2: an attached report claiming year 1 forces a manual review at worst, never a 500."""
    exchange_account(app, "ANCIENT-REPORT")
    owner_case = report(session, "ANCIENT-REPORT")
    settle(app)
    stranger_case = report(session, "ANCIENT-REPORT", claimed=YEAR_ONE)
    assert stranger_case.id == owner_case.id
    verification = start(session, owner_case)
    assert verification.status == "manual_review"
    assert trust(verification)["totp"] == (False, "bound_after_suspicious_event")
    again = start(session, owner_case)
    assert again.status == "manual_review"


def test_a_year_one_anomaly_never_breaks_the_owners_verification(app, session):
    """Issue 17 item 2: a signed anomaly with occurred_at in year 1 is clamped; the arithmetic cannot overflow."""
    exchange_account(app, "ANCIENT-ANOMALY")
    incident = report(session, "ANCIENT-ANOMALY")
    settle(app)
    ingest_anomaly(session, event=AnomalyInput(event_id="evt-year-one", account_id="ANCIENT-ANOMALY",
                                               type="sim_swap", occurred_at=YEAR_ONE), policy=ScoringPolicy())
    session.refresh(incident)
    assert incident.first_suspicious_at.year == 2009
    assert start(session, incident).status == "manual_review"


def test_first_suspicious_activity_is_a_withdrawal_before_the_report(app, session):
    """Issue 14 item 11: a withdrawal pulled from the exchange two hours before the report comes first."""
    exchange_account(app, "EARLY-WITHDRAWAL")
    taken = ago(hours=2)
    with app.extensions["lockdesk"].sessions() as back_office:
        add_withdrawal(back_office, withdrawal=NewWithdrawal(
            withdrawal_id="w-early", account_id="EARLY-WITHDRAWAL", chain="ethereum", asset="ETH", amount="4.2",
            address="0x" + "12" * 20, tx_hash="0x" + "cd" * 32, created_at=taken))
    incident = report(session, "EARLY-WITHDRAWAL")
    settle(app)
    clue = earliest_suspicious_activity(session, incident, look_back_days=7)
    assert (clue.at, clue.source, clue.detail) == (taken, "withdrawal", "4.2 ETH")


def test_trust_is_judged_against_a_withdrawal_before_the_report(app, session):
    """Issue 17 item 1 and issue 14 item 11: one notion; a factor bound a week before the withdrawal is not
    trusted although it was bound more than a week before the report."""
    exchange_account(app, "WITHDRAWN-TRUST", totp_bound_at=utcnow() - timedelta(days=7, minutes=30))
    with app.extensions["lockdesk"].sessions() as back_office:
        add_withdrawal(back_office, withdrawal=NewWithdrawal(
            withdrawal_id="w-trust", account_id="WITHDRAWN-TRUST", chain="ethereum", asset="ETH", amount="1",
            address="0x" + "34" * 20, created_at=utcnow() - timedelta(hours=2)))
    incident = report(session, "WITHDRAWN-TRUST")
    settle(app)
    assert trust(start(session, incident))["totp"] == (False, "bound_within_trust_window")


def test_trust_is_judged_against_the_exchanges_own_security_events(app, session):
    """Issue 17 item 1: a phone bound three days ago puts the suspicion there, so an authenticator bound eight
    days ago (outside the week before the report) is not trusted."""
    exchange_account(app, "PHONE-CHANGED", totp_bound_at=utcnow() - timedelta(days=8),
                     phone_bound_at=utcnow() - timedelta(days=3))
    incident = report(session, "PHONE-CHANGED", claimed=utcnow())
    settle(app)
    clue = earliest_suspicious_activity(session, incident, look_back_days=7)
    assert (clue.source, clue.detail) == ("exchange_event", "phone_bound")
    assert trust(start(session, incident))["totp"] == (False, "bound_within_trust_window")


def test_an_old_withdrawal_a_report_does_not_name_is_not_suspicious(app, session):
    """Outside the look-back window only a withdrawal a report names counts."""
    exchange_account(app, "OLD-WITHDRAWALS")
    old, named = ago(days=20), ago(days=15)
    with app.extensions["lockdesk"].sessions() as back_office:
        for key, at, tx in (("w-old", old, "0x" + "01" * 32), ("w-named", named, "0x" + "02" * 32)):
            add_withdrawal(back_office, withdrawal=NewWithdrawal(
                withdrawal_id=key, account_id="OLD-WITHDRAWALS", chain="ethereum", asset="ETH", amount="1",
                address="0x" + "56" * 20, tx_hash=tx, created_at=at))
    incident = report(session, "OLD-WITHDRAWALS", transactions=[{"chain": "ethereum", "hash": "0x" + "02" * 32}])
    settle(app)
    assert earliest_suspicious_activity(session, incident, look_back_days=7).at == named
