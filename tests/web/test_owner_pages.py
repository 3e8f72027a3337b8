"""The owner's pages through the test client: report, access link, case page, verification, errors."""
from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from incidents.models import Incident
from tests.factories import exchange_account, last_sms_code, seal_audit_events
from tests.web.conftest import csrf_of, run_follow_ups, totp_now
from tests.web.pages import incident_of, report


@pytest.fixture(autouse=True)
def accounts(app):
    """Accounts the owners report on."""
    exchange_account(app, "U1001")
    exchange_account(app, "U2002")


def test_report_form_speaks_chinese_when_the_browser_asks_for_it(client):
    page = client.get("/report", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert 'lang="zh-CN"' in page.text
    assert "冻结" in page.text


def test_language_switch_overrides_accept_language_and_returns_to_the_page(client):
    switched = client.get("/language?to=zh_CN&next=/report", headers={"Accept-Language": "en"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/report")
    assert "冻结" in client.get("/report", headers={"Accept-Language": "en"}).text


def test_language_switch_never_redirects_to_another_site(client):
    assert client.get("/language?to=en&next=//evil.example/x").headers["Location"] == "/"


def test_report_freezes_and_shows_the_reference_and_access_link_once(client, session):
    sent = report(client)
    assert sent.status_code == 303
    answer = client.get(sent.headers["Location"])
    assert answer.status_code == 200
    assert re.search(r"INC-\d{4}-\d{6}", answer.text)
    assert "Frozen" in answer.text or "Freezing" in answer.text
    incident_of(answer.text)
    assert client.get("/report/answer").status_code == 302  # shown once


def test_invalid_report_names_the_fields_and_stores_nothing(client, session):
    sent = report(client, account_id="bad account!", tx_hash_0="0x1234", email="not-an-email")
    assert sent.status_code == 422
    assert 'id="account_id-error"' in sent.text and 'id="tx_hash_0-error"' in sent.text
    assert 'id="email-error"' in sent.text
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_report_without_csrf_token_is_refused_with_an_html_page(client, session):
    refused = client.post("/report", data={"account_id": "U1001", "kind": "stolen_account"})
    assert refused.status_code == 400
    assert refused.mimetype == "text/html"
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_access_link_is_exchanged_for_an_httponly_cookie_and_dropped_from_the_url(app):
    reporter = app.test_client()
    answer = reporter.get(report(reporter).headers["Location"])
    incident_id, token = incident_of(answer.text)
    owner = app.test_client()  # another browser, holding only the link
    opened = owner.get(f"/i/{incident_id}?t={token}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/i/{incident_id}")
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and token not in cookie
    page = owner.get(f"/i/{incident_id}")
    assert page.status_code == 200 and "Accepted" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"


def test_case_page_is_not_found_without_access_or_with_another_incidents_token(app):
    first, second = app.test_client(), app.test_client()
    first_id, first_token = incident_of(first.get(report(first, "U1001").headers["Location"]).text)
    second_id, _ = incident_of(second.get(report(second, "U2002").headers["Location"]).text)
    stranger = app.test_client()
    assert stranger.get(f"/i/{first_id}").status_code == 404
    assert stranger.get(f"/i/{second_id}?t={first_token}").status_code == 404
    assert stranger.get(f"/i/{uuid.uuid4()}").mimetype == "text/html"
    own = first.get(f"/i/{first_id}")
    second_reference = re.search(r"INC-\d{4}-\d{6}", second.get(f"/i/{second_id}").text).group(0)
    assert second_reference not in own.text and "U2002" not in own.text
    assert first.get(f"/i/{second_id}").status_code == 404


def test_api_errors_stay_problem_json_while_pages_render_html(client):
    api = client.get(f"/api/v1/incidents/{uuid.uuid4()}")
    assert api.mimetype == "application/problem+json"
    page = client.get(f"/i/{uuid.uuid4()}")
    assert page.status_code == 404 and page.mimetype == "text/html" and "<html" in page.text


def test_owner_verifies_with_authenticator_and_text_message(app, client, instance, clock):
    answer = client.get(report(client).headers["Location"])
    incident_id, _ = incident_of(answer.text)
    run_follow_ups(app)
    page = client.get(f"/i/{incident_id}")
    token = csrf_of(page.text)
    started = client.post(f"/i/{incident_id}/verification", data={"csrf_token": token})
    assert started.status_code == 303
    page = client.get(f"/i/{incident_id}")
    assert "Waiting for your codes" in page.text
    client.post(f"/i/{incident_id}/verification/totp", data={"csrf_token": token, "code": totp_now(clock.now)})
    client.post(f"/i/{incident_id}/verification/sms", data={"csrf_token": token})
    code = last_sms_code(app)
    client.post(f"/i/{incident_id}/verification/sms/check", data={"csrf_token": token, "code": code})
    page = client.get(f"/i/{incident_id}")
    assert "Identity verified" in page.text


def test_a_wrong_code_says_how_many_attempts_are_left(app, client, clock):
    incident_id, _ = incident_of(client.get(report(client).headers["Location"]).text)
    run_follow_ups(app)
    token = csrf_of(client.get(f"/i/{incident_id}").text)
    client.post(f"/i/{incident_id}/verification", data={"csrf_token": token})
    wrong = "000000" if totp_now(clock.now) != "000000" else "111111"
    answer = client.post(f"/i/{incident_id}/verification/totp", data={"csrf_token": token, "code": wrong},
                         follow_redirects=True)
    assert "That code is not correct. Attempts left: 4." in answer.text
    malformed = client.post(f"/i/{incident_id}/verification/totp", data={"csrf_token": token, "code": "12ab"},
                            follow_redirects=True)
    assert "Enter the 6 digits of the code." in malformed.text


def test_wrong_code_message_is_in_chinese_on_a_chinese_page(app, client, clock):
    zh = {"Accept-Language": "zh-CN"}
    incident_id, _ = incident_of(client.get(report(client, language="zh-CN").headers["Location"], headers=zh).text)
    run_follow_ups(app)
    token = csrf_of(client.get(f"/i/{incident_id}", headers=zh).text)
    client.post(f"/i/{incident_id}/verification", data={"csrf_token": token}, headers=zh)
    wrong = "000000" if totp_now(clock.now) != "000000" else "111111"
    answer = client.post(f"/i/{incident_id}/verification/totp", data={"csrf_token": token, "code": wrong},
                         headers=zh, follow_redirects=True)
    assert "验证码不正确" in answer.text and "处理中" in answer.text  # the owner acted: the case is in progress


def test_a_link_sent_after_another_holder_verified_says_so_and_asks_this_view_to_verify_too(app, clock):
    first, second = app.test_client(), app.test_client()
    incident_id, _ = incident_of(first.get(report(first, language="zh-CN").headers["Location"]).text)
    assert incident_of(second.get(report(second).headers["Location"]).text)[0] == incident_id  # joins the case
    run_follow_ups(app)
    token = csrf_of(second.get(f"/i/{incident_id}").text)
    second.post(f"/i/{incident_id}/verification", data={"csrf_token": token})
    second.post(f"/i/{incident_id}/verification/totp", data={"csrf_token": token, "code": totp_now(clock.now)})
    second.post(f"/i/{incident_id}/verification/sms", data={"csrf_token": token})
    second.post(f"/i/{incident_id}/verification/sms/check", data={"csrf_token": token, "code": last_sms_code(app)})
    assert 'data-testid="proven-elsewhere"' not in second.get(f"/i/{incident_id}").text  # the verifier's own view
    seal_audit_events(app)
    clock.advance(minutes=1)  # the messages' rows are due at their events' time, read from the wall clock
    app.extensions["lockdesk"].ports.review_jobs.deliver_notifications()
    with open(app.config["SMS_LOG_PATH"], encoding="utf-8") as handle:
        texts = [json.loads(line)["body"] for line in handle]
    [verified] = [text for text in texts if "Identity verification completed" in text or "身份验证已完成" in text]
    link = re.search(r"/i/[0-9a-f-]{36}\?t=ldi_[A-Za-z0-9_-]+", verified).group(0)
    phone = app.test_client()  # the registered phone, following the text's link: a view of its own
    page = phone.get(phone.get(link).headers["Location"]).text
    assert 'data-testid="proven-elsewhere"' in page and "verify here too" in page and "Start verification" in page
    chinese = first.get(f"/i/{incident_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "账户所有人已在其他设备上或通过其他链接完成验证" in chinese  # the first reporter's view is told too
