"""A cancelled unfreeze request tells why on the console in the page's language: the system's words translated,
a staff member's own reason after them as written."""
from __future__ import annotations

import pytest

from incidents.casework import change_status
from incidents.take_back import take_back_report
from tests.incidents.review_support import frozen_case, pass_verification, raise_request, sessions_of
from tests.web.pages import sign_in

SAID = {
    "en": {"taken_back": "Cancelled: the owner took the report back. The account stays frozen.",
           "closed": "Cancelled: the case was closed by staff: duplicate of case 7. The account stays frozen."},
    "zh-CN": {"taken_back": "已取消：账户所有人撤回了报告。账户保持冻结。",
              "closed": "已取消：工作人员已关闭工单：duplicate of case 7。账户保持冻结。"},
}


def cancelled_notice(client, incident_id, language: str) -> str:
    """The console case page's notice of the cancelled request."""
    page = client.get(f"/console/incidents/{incident_id}", headers={"Accept-Language": language}).text
    start = page.index('data-testid="request-cancelled">') + len('data-testid="request-cancelled">')
    return page[start:page.index("</p>", start)]


@pytest.fixture
def requested(app):
    """A frozen case whose verified owner asked for the unfreeze."""
    case = frozen_case(app)
    pass_verification(app, case)
    raise_request(app, case)
    return case


@pytest.mark.parametrize("language", list(SAID))
def test_a_take_back_cancellation_is_told_in_the_pages_language(app, client, agent, clock, requested, language):
    with sessions_of(app)() as session:
        take_back_report(session, incident_id=requested.incident_id, actor=requested.actor, report_id=None)
    sign_in(client, agent, clock)
    assert cancelled_notice(client, requested.incident_id, language) == SAID[language]["taken_back"]


@pytest.mark.parametrize("language", list(SAID))
def test_a_staff_closing_is_translated_and_the_staff_reason_kept_as_written(app, client, agent, clock, requested,
                                                                           language):
    with sessions_of(app)() as session:
        change_status(session, incident_id=requested.incident_id, to="closed", reason="duplicate of case 7",
                      actor=f"staff:{agent.id}")
    sign_in(client, agent, clock)
    assert cancelled_notice(client, requested.incident_id, language) == SAID[language]["closed"]


@pytest.mark.parametrize("language", list(SAID))
def test_the_timeline_says_the_systems_reasons_in_the_pages_language(app, client, agent, clock, requested, language):
    asked = client.post(f"/api/v1/incidents/{requested.incident_id}/messages", headers=agent.headers,
                        json={"body": "Which wallet is yours?", "awaiting_reply": True})
    assert asked.status_code == 201
    with sessions_of(app)() as session:
        change_status(session, incident_id=requested.incident_id, to="closed", reason="duplicate of case 7",
                      actor=f"staff:{agent.id}")
    sign_in(client, agent, clock)
    page = client.get(f"/console/incidents/{requested.incident_id}", headers={"Accept-Language": language}).text
    timeline = page[page.index('id="timeline-title"'):]
    assert "duplicate of case 7" in timeline  # the staff member's own words, as written
    said = {"en": "a question to the owner", "zh-CN": "向账户所有人提问"}
    assert said[language] in timeline and (language == "en" or said["en"] not in timeline)


def test_every_reason_the_domain_gives_is_translated(app):
    from incidents import reasons
    from app.web.reasons import SAID as PAGE_WORDS, reason

    given = {value for name, value in vars(reasons).items() if name.isupper() and isinstance(value, str)}
    given = {text.format(status=status) for text in given for status in ("resolved", "closed")}
    assert given <= set(PAGE_WORDS)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert all(reason(text) != text for text in given)
        assert reason("my own words") == "my own words"
        assert reason(f"{reasons.REOPENED_BY_STAFF}: wrong close").endswith("：wrong close")
