"""Which language the owner is written to in: a verified holder's report's, else the newest report's."""
from __future__ import annotations

from incidents.access import issue_incident_token, resolve_token
from incidents.intake import ReportInput, submit_report
from incidents.owner_language import owner_language, owner_reports
from tests.incidents.review_support import Case, frozen_case, pass_verification, sessions_of


def another_report(app, account_id: str, language: str) -> Case:
    """A later report of the same account in another language (the thief's, perhaps), attached to the case."""
    report = ReportInput(account_id=account_id, kind="stolen_account", description="mine", contact={},
                         transactions=[], language=language)
    with sessions_of(app)() as session:
        result = submit_report(session, report=report)
        assert result.attached
        actor = resolve_token(session, result.access_token).actor
    return Case(incident_id=result.incident.id, access_token=result.access_token, actor=actor)


def language_of(app, case: Case) -> str:
    with sessions_of(app)() as session:
        return owner_language(session, incident_id=case.incident_id)


def test_the_newest_report_speaks_until_a_holder_proves_the_account(app):
    owner = frozen_case(app, language="zh-CN")
    another_report(app, "R1001", "en")
    assert language_of(app, owner) == "en"  # nobody proved anything yet: the newest report's
    pass_verification(app, owner)
    assert language_of(app, owner) == "zh-CN"  # the proven owner's report, though older


def test_a_later_report_does_not_move_the_verified_owners_language(app):
    owner = frozen_case(app, language="en")
    pass_verification(app, owner)
    another_report(app, "R1001", "zh-CN")
    assert language_of(app, owner) == "en"


def test_the_registered_contact_verifying_leaves_the_newest_report_speaking(app):
    owner = frozen_case(app, language="zh-CN")
    another_report(app, "R1001", "en")
    with sessions_of(app)() as session:
        token = issue_incident_token(session, incident_id=owner.incident_id, report_id=None)
        session.commit()
        actor = resolve_token(session, token).actor
    pass_verification(app, Case(incident_id=owner.incident_id, access_token=token, actor=actor))
    assert language_of(app, owner) == "en"  # a link bound to no report says nothing of a language


def test_several_cases_at_once(app):
    first = frozen_case(app, "R1001", language="zh-CN")
    second = frozen_case(app, "R2002", language="en")
    with sessions_of(app)() as session:
        found = owner_reports(session, incident_ids={first.incident_id, second.incident_id})
        assert {key: value.language for key, value in found.items()} == {first.incident_id: "zh-CN",
                                                                         second.incident_id: "en"}
        assert owner_reports(session, incident_ids=set()) == {}
