"""The take-back card on the owner's page, in English and Chinese: the form for whom may take the report back, a
note leading to the verification for a holder who may not, and a forced post refused in the page's language."""
from __future__ import annotations

import pytest

from tests.factories import exchange_account
from tests.web.conftest import csrf_of, run_follow_ups
from tests.web.pages import verify_on_the_page
from tests.web.pages import incident_of, report

WORDS = {
    "en": {"note": "Others are on this case too", "verify": 'href="#verify"',
           "refused": "in the verification on this page first", "taken": "Your report was taken back"},
    "zh-CN": {"note": "此案件还有其他人参与", "verify": 'href="#verify"',
              "refused": "只有账户本人才能撤回报告", "taken": "已撤回"},
}
FORM = 'action="/i/{}/take-back"'


@pytest.fixture(autouse=True)
def accounts(app):
    """The account the reporters report on."""
    exchange_account(app, "U1001")


def reporter(app, language: str):
    """A browser that reported U1001; (client, incident id)."""
    client = app.test_client()
    incident_id, _token = incident_of(client.get(report(client, language=language).headers["Location"]).text)
    return client, incident_id


def page(client, incident_id: str, language: str) -> str:
    return client.get(f"/i/{incident_id}", headers={"Accept-Language": language}).text


def take_back(client, incident_id: str, language: str) -> str:
    """Post the take-back form, ticked, whether or not the page offers it; the page after the redirect."""
    token = csrf_of(page(client, incident_id, language))
    sent = client.post(f"/i/{incident_id}/take-back", data={"csrf_token": token, "confirm": "yes"},
                       headers={"Accept-Language": language})
    assert sent.status_code == 303
    return page(client, incident_id, language)


@pytest.mark.parametrize("language", list(WORDS))
def test_a_lone_reporter_is_offered_the_form_and_takes_the_report_back(app, language):
    words = WORDS[language]
    client, incident_id = reporter(app, language)
    shown = page(client, incident_id, language)
    assert FORM.format(incident_id) in shown and 'data-testid="take-back-others"' not in shown
    assert words["taken"] in take_back(client, incident_id, language)


@pytest.mark.parametrize("language", list(WORDS))
def test_with_a_second_report_the_card_leads_to_the_verification_and_a_forced_post_is_refused(app, language):
    words = WORDS[language]
    first, incident_id = reporter(app, language)
    second, joined = reporter(app, language)
    assert joined == incident_id
    for client in (first, second):
        shown = page(client, incident_id, language)
        assert FORM.format(incident_id) not in shown
        assert 'data-testid="take-back-others"' in shown and words["note"] in shown and words["verify"] in shown
        assert 'id="verify"' in shown  # the anchor leads somewhere
    answer = take_back(second, incident_id, language)
    assert words["refused"] in answer and words["taken"] not in answer
    assert "prove the account is yours" not in answer  # the domain's English never reaches the page
    assert 'data-testid="take-back-others"' in page(first, incident_id, language)  # the case is still open


def test_the_reporter_who_verified_gets_the_form_back_and_the_other_does_not(app, clock):
    first, incident_id = reporter(app, "en")
    second, _joined = reporter(app, "en")
    run_follow_ups(app)
    verify_on_the_page(app, first, incident_id, clock)
    assert FORM.format(incident_id) in page(first, incident_id, "en")
    assert FORM.format(incident_id) not in page(second, incident_id, "en")
    assert WORDS["en"]["taken"] in take_back(first, incident_id, "en")
