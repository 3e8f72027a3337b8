"""Taking a report back closes the whole case, so only the one it belongs to may: a holder who verified, or a holder
alone on the case. A second reporter, or the registered contact's link, cannot close another's case unverified."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from app.db import utcnow
from incidents import audit, ownership
from incidents.access import issue_incident_token, resolve_token
from incidents.intake import ReportInput, submit_report
from incidents.models import Incident, Report, UnfreezeRequest
from incidents.take_back import FALSE_REPORT, OthersOnTheCase, take_back_report
from verification.models import Verification
from tests.incidents.review_support import Case, frozen_case, pass_verification, raise_request, sessions_of


@dataclass(frozen=True)
class Holder:
    """Someone holding a link to the case: its actor and its own report (None for the registered contact's)."""

    case: Case
    report_id: uuid.UUID | None


def holder(app, case: Case) -> Holder:
    with sessions_of(app)() as session:
        principal = resolve_token(session, case.access_token)
    return Holder(case=case, report_id=principal.report_id)


def second_report(app, first: Case) -> Holder:
    """Another report of the same account: attached to the open case, with a token of its own."""
    report = ReportInput(account_id="R1001", kind="stolen_account", description="also not me", contact={},
                         transactions=[], language="en")
    with sessions_of(app)() as session:
        result = submit_report(session, report=report)
        assert result.incident.id == first.incident_id and result.attached
        actor = resolve_token(session, result.access_token).actor
    return holder(app, Case(incident_id=first.incident_id, access_token=result.access_token, actor=actor))


def registered_contact(app, case: Case) -> Holder:
    """The link sent to the account's registered email and phone: bound to no report."""
    with sessions_of(app)() as session:
        token = issue_incident_token(session, incident_id=case.incident_id, report_id=None)
        session.commit()
        actor = resolve_token(session, token).actor
    return Holder(case=Case(incident_id=case.incident_id, access_token=token, actor=actor), report_id=None)


def take_back(app, who: Holder) -> Incident:
    with sessions_of(app)() as session:
        return take_back_report(session, incident_id=who.case.incident_id, actor=who.case.actor,
                                report_id=who.report_id)


def state(app, case: Case) -> tuple[str, str | None, list[str]]:
    """The case's status and outcome, and its unfreeze requests' statuses."""
    with sessions_of(app)() as session:
        incident = session.scalar(select(Incident).where(Incident.id == case.incident_id))
        requests = session.scalars(select(UnfreezeRequest.status)
                                   .where(UnfreezeRequest.incident_id == case.incident_id)).all()
        return incident.status, incident.outcome, list(requests)


def test_a_lone_reporter_takes_the_report_back_and_the_account_stays_frozen(app):
    case = frozen_case(app)
    closed = take_back(app, holder(app, case))
    assert (closed.status, closed.outcome, closed.containment) == ("closed", FALSE_REPORT, "frozen")


def test_a_second_reporter_cannot_close_the_verified_owners_case_or_cancel_the_unfreeze(app):
    owner = frozen_case(app)
    pass_verification(app, owner)
    raise_request(app, owner)
    before = state(app, owner)
    thief = second_report(app, owner)
    with pytest.raises(OthersOnTheCase) as refused:
        take_back(app, thief)
    assert refused.value.status == 409 and "prove the account is yours" in refused.value.detail
    assert state(app, owner) == before and before[0] != "closed" and before[2] == ["pending"]


def test_neither_of_two_unverified_reporters_may_close_the_case(app):
    first = frozen_case(app)
    second = second_report(app, first)
    for who in (second, holder(app, first)):  # the thief may have reported first, or second
        with pytest.raises(OthersOnTheCase):
            take_back(app, who)
    assert state(app, first)[0] != "closed"


def test_the_registered_contacts_link_cannot_close_a_reported_case_until_it_verifies(app):
    case = frozen_case(app)
    contact = registered_contact(app, case)
    with pytest.raises(OthersOnTheCase):
        take_back(app, contact)
    assert state(app, case)[0] != "closed"
    pass_verification(app, contact.case)
    assert take_back(app, contact).outcome == FALSE_REPORT


def test_a_holder_who_verified_takes_it_back_despite_other_reports_and_cancels_the_unfreeze(app):
    owner = frozen_case(app)
    pass_verification(app, owner)
    raise_request(app, owner)
    second_report(app, owner)
    take_back(app, holder(app, owner))
    assert state(app, owner) == ("closed", FALSE_REPORT, ["cancelled"])


def test_another_holders_verification_blocks_an_unverified_taker(app):
    case = frozen_case(app)
    contact = registered_contact(app, case)
    pass_verification(app, contact.case)
    with pytest.raises(OthersOnTheCase):
        take_back(app, holder(app, case))  # alone among the reports, but someone else proved the account
    assert state(app, case)[0] != "closed"


def test_a_report_attached_while_the_take_back_waits_for_the_lock_is_seen(app, is_postgresql):
    if not is_postgresql:
        pytest.skip("SQLite takes one lock for the whole database: no report can be written meanwhile")
    case = frozen_case(app)
    lone = holder(app, case)
    outcome: list[BaseException | Incident] = []
    with sessions_of(app)() as writer:
        # A report being attached: its row references the incident, so the take-back's row lock waits for it.
        writer.add(Report(incident_id=case.incident_id, account_id="R1001", kind="stolen_account"))
        writer.flush()
        taker = threading.Thread(target=lambda: outcome.append(_attempt(app, lone)))
        taker.start()
        taker.join(timeout=1)
        assert taker.is_alive(), "the take-back did not wait for the report's transaction"
        writer.commit()
    taker.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], OthersOnTheCase)
    assert state(app, case)[0] != "closed"


def test_a_verification_passed_while_the_take_back_waits_is_seen_without_a_deadlock(app, is_postgresql):
    if not is_postgresql:
        pytest.skip("SQLite takes one lock for the whole database: no verification can pass meanwhile")
    case = frozen_case(app)
    lone, contact = holder(app, case), registered_contact(app, case)
    with sessions_of(app)() as session:
        started = ownership.start_owner_verification(session, incident_id=case.incident_id,
                                                     actor=contact.case.actor, trust_days=7)
    outcome: list[BaseException | Incident] = []
    with sessions_of(app)() as writer:
        # The registered contact's pass, as the verification's use case writes it: its row locked and moved first,
        # then its audit row naming the incident (a key-share lock on the incident's row), then the commit.
        writer.execute(update(Verification).where(Verification.id == started.id)
                       .values(status="passed", passed_at=utcnow()))
        taker = threading.Thread(target=lambda: outcome.append(_attempt(app, lone)))
        taker.start()
        taker.join(timeout=1)
        assert taker.is_alive(), "the take-back did not wait for the verification being passed"
        audit.record(writer, actor=contact.case.actor, action="verification.passed", subject_type="verification",
                     subject_id=started.id, incident_id=case.incident_id, data={})
        writer.commit()
    taker.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], OthersOnTheCase), outcome
    assert state(app, case)[0] != "closed"


def _attempt(app, who: Holder) -> BaseException | Incident:
    try:
        return take_back(app, who)
    except BaseException as error:  # handed to the test's thread
        return error
