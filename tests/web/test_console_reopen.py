"""The console's reopen button through the test client: a blank or over-long reason is refused like the API
refuses it, told in the page's language, and the case stays closed with no new freeze."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from incidents.models import ExchangeCommand, Incident
from tests.web.conftest import csrf_of
from tests.web.pages import sign_in
from tests.web.pages import report

SAID = {"en": {"blank": "Say why the case is reopened.", "long": "Write the reason in at most 2000 characters."},
        "zh-CN": {"blank": "请说明重新打开工单的原因。", "long": "原因最多 2000 个字符，请精简后再提交。"}}


def _closed_case(app, client, member, clock, account_id: str) -> str:
    report(app.test_client(), account_id)  # the exchange has no such account: its 404 closes the case
    sign_in(client, member, clock)
    case_url = re.search(r'href="(/console/incidents/[0-9a-f-]{36})"', client.get("/console/?status=closed").text)
    return case_url.group(1)


def _state(app, case_url: str) -> tuple[str, int]:
    incident_id = uuid.UUID(case_url.rsplit("/", 1)[1])
    with app.extensions["lockdesk"].sessions() as session:
        status = session.scalar(select(Incident.status).where(Incident.id == incident_id))
        freezes = session.scalar(select(func.count()).select_from(ExchangeCommand).where(
            ExchangeCommand.incident_id == incident_id, ExchangeCommand.action == "freeze"))
    return status, freezes


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_blank_or_overlong_reason_is_refused_in_the_pages_language_and_nothing_changes(app, client, agent,
                                                                                          clock, language):
    case_url = _closed_case(app, client, agent, clock, f"U74{len(language)}1")
    headers = {"Accept-Language": language}
    assert _state(app, case_url) == ("closed", 1)
    for reason, said in (("   ", SAID[language]["blank"]), ("x" * 2001, SAID[language]["long"])):
        page = client.get(case_url, headers=headers)
        refused = client.post(f"{case_url}/reopen", data={"csrf_token": csrf_of(page.text), "reason": reason},
                              headers=headers)
        assert refused.status_code == 303
        assert said in client.get(case_url, headers=headers).text
        assert _state(app, case_url) == ("closed", 1)


def test_a_risk_officer_reopens_from_the_console(app, client, officer, clock):
    case_url = _closed_case(app, client, officer, clock, "U7421")
    page = client.get(case_url)
    answer = client.post(f"{case_url}/reopen", data={"csrf_token": csrf_of(page.text), "reason": "the owner called"})
    assert answer.status_code == 303
    # The exchange still has no such account, so its 404 closes the case again; the page says so.
    assert "closed again" in client.get(case_url).text and _state(app, case_url) == ("closed", 2)
