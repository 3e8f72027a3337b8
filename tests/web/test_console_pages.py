"""The staff console through the test client: sign-in with TOTP, session clocks, CSRF, roles, pages."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from chain.models import Trace
from tests.factories import bearer, exchange_account, make_staff, report_body
from tests.web.conftest import csrf_of
from tests.web.pages import report, sign_in


def test_console_pages_send_strangers_to_sign_in(client):
    answer = client.get("/console/")
    assert answer.status_code == 303 and "/console/sign-in" in answer.headers["Location"]


def test_sign_in_needs_password_and_the_staff_members_own_code(client, agent, clock):
    refused = sign_in(client, agent, clock, code="000000" if agent.code(clock.now) != "000000" else "111111")
    assert refused.status_code == 401 and "not correct" in refused.text
    clock.advance(seconds=30)
    accepted = sign_in(client, agent, clock)
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_a_code_is_not_accepted_twice(app, agent, clock):
    first, second = app.test_client(), app.test_client()
    assert sign_in(first, agent, clock).status_code == 303
    assert sign_in(second, agent, clock).status_code == 401


def test_sign_in_form_without_csrf_token_is_refused(client, agent, clock):
    answer = client.post("/console/sign-in", data={"name": agent.name, "password": "x", "code": "123456"})
    assert answer.status_code == 400 and answer.mimetype == "text/html"


def test_console_forms_need_the_csrf_token(client, agent, clock, app):
    sign_in(client, agent, clock)
    answer = client.post("/console/traces", data={"chain": "ethereum", "tx_hash": "0x" + "ab" * 32})
    assert answer.status_code == 400


def test_session_ends_after_thirty_idle_minutes(client, agent, clock):
    sign_in(client, agent, clock)
    clock.advance(minutes=29)
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=31)
    ended = client.get("/console/")
    assert ended.status_code == 303 and "reason=idle" in ended.headers["Location"]
    assert client.get("/console/").status_code == 303


def test_session_ends_after_twelve_hours_even_when_busy(client, agent, clock):
    sign_in(client, agent, clock)
    for _ in range(25):  # busy every 29 minutes for 12 h 5 min
        clock.advance(minutes=29)
        answer = client.get("/console/")
    assert answer.status_code == 303 and "reason=expired" in answer.headers["Location"]


def test_signing_out_ends_the_session_on_every_device(app, agent, clock):
    here, copied = app.test_client(), app.test_client()
    assert sign_in(here, agent, clock).status_code == 303
    copied.set_cookie("session", here.get_cookie("session").value)  # the same cookie, e.g. copied off the device
    assert copied.get("/console/").status_code == 200
    clock.advance(seconds=5)
    page = here.get("/console/")
    assert here.post("/console/sign-out", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    ended = copied.get("/console/")
    assert ended.status_code == 303 and "/console/sign-in" in ended.headers["Location"]


def test_agents_cannot_see_the_audit_and_only_admins_verify_the_chain(app, agent, clock):
    agent_client, officer_client, admin_client = app.test_client(), app.test_client(), app.test_client()
    officer, admin = make_staff(app, "risk_officer", "officer-1"), make_staff(app, "admin", "admin-1")
    sign_in(agent_client, agent, clock)
    sign_in(officer_client, officer, clock)
    sign_in(admin_client, admin, clock)
    denied = agent_client.get("/console/audit")
    assert denied.status_code == 403 and denied.mimetype == "text/html"
    officer_page = officer_client.get("/console/audit")
    assert officer_page.status_code == 200 and "staff.created" in officer_page.text
    assert officer_client.post("/console/audit/verify", data={"csrf_token": csrf_of(officer_page.text)}).status_code == 403
    admin_page = admin_client.get("/console/audit")
    checked = admin_client.post("/console/audit/verify", data={"csrf_token": csrf_of(admin_page.text)})
    assert checked.status_code == 200 and "The chain holds" in checked.text


def test_console_speaks_chinese(client, agent, clock):
    sign_in(client, agent, clock)
    assert "队列" in client.get("/console/", headers={"Accept-Language": "zh-CN"}).text


def test_trace_page_shows_the_graph_inline_and_highlights_the_exchange(app, client, agent, clock, session):
    exchange = "0x" + "11" * 20
    trace = Trace(chain="ethereum", tx_hash="0x" + "cd" * 32, depth=2, status="done",
                  transaction={"hash": "0x" + "cd" * 32, "status": "confirmed", "confirmations": 20,
                               "block_number": 100, "from": "0x" + "22" * 20, "to": exchange, "value": "5",
                               "asset": "ETH", "token_transfers": []},
                  graph={"nodes": [{"address": "0x" + "22" * 20, "hop": 0, "labels": []},
                                   {"address": exchange, "hop": 1, "labels": [
                                       {"category": "exchange", "label": "OKX <deposit>", "entity": "OKX"}]}],
                         "edges": [{"from": "0x" + "22" * 20, "to": exchange, "tx_hash": "0x" + "cd" * 32,
                                    "amount": "5", "asset": "ETH", "hop": 1}]},
                  findings=[{"address": exchange, "hop": 1, "category": "exchange", "label": "OKX <deposit>",
                             "entity": "OKX", "advice": "send it a freeze request"}])
    session.add(trace)
    session.commit()
    sign_in(client, agent, clock)
    page = client.get(f"/console/traces/{trace.id}")
    assert page.status_code == 200
    assert "<svg" in page.text and "OKX &lt;deposit&gt;" in page.text and "<deposit>" not in page.text
    assert "Reached an exchange" in page.text
    letters = client.get(f"/console/traces/{trace.id}/letters")
    assert letters.status_code == 200 and "freeze" in letters.text.lower() and "OKX" in letters.text
    assert "致：OKX 合规" in letters.text  # the same letter in Chinese beside the English one


def test_queue_lists_cases_by_sla_and_filters(app, client, agent, clock):

    for account in ("U3001", "U3002"):
        exchange_account(app, account)
        report(app.test_client(), account)
    sign_in(client, agent, clock)
    page = client.get("/console/")
    references = re.findall(r"INC-\d{4}-\d{6}", page.text)
    assert len(references) == 2 and references == sorted(references)
    filtered = client.get("/console/?account_id=U3002")
    assert "U3002" in filtered.text and "U3001" not in filtered.text


def test_the_case_timeline_names_the_staff_member_who_acted(app, client, agent, clock):

    exchange_account(app, "U3003")
    report(app.test_client(), "U3003")
    sign_in(client, agent, clock)
    case_url = re.search(r'href="(/console/incidents/[0-9a-f-]{36})"', client.get("/console/").text).group(1)
    page = client.get(case_url)
    moved = client.post(f"{case_url}/status", data={"csrf_token": csrf_of(page.text), "to": "in_progress",
                                                    "reason": "taking the case"})
    assert moved.status_code == 303
    timeline = client.get(case_url).text
    assert "Status: in progress" in timeline and "agent-1" in timeline  # the event's name, not its key
    assert f"staff:{agent.id}" not in timeline


def test_while_locked_the_sign_in_page_answers_alike_for_a_right_and_a_wrong_password(client, agent, clock):
    """Issue 17 item 11: the same status and words for every failure while the authenticator is locked."""
    wrong = "000000" if agent.code(clock.now) != "000000" else "111111"
    statuses = [sign_in(client, agent, clock, code=wrong).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    form = client.get("/console/sign-in")
    wrong_password = client.post("/console/sign-in", data={
        "csrf_token": csrf_of(form.text), "name": agent.name, "password": "not the password at all",
        "code": agent.code(clock.now), "next": "/console/"})
    right_password = sign_in(client, agent, clock)
    assert wrong_password.status_code == right_password.status_code == 429
    assert "Sign-in is paused" in right_password.text
    assert _error_of(wrong_password.text) == _error_of(right_password.text)


def _error_of(html: str) -> str:
    """The error the sign-in form shows."""
    return re.search(r'role="alert"[^>]*>(.*?)<', html, re.S).group(1).strip()


def test_a_chinese_owners_case_offers_chinese_replies_first_and_says_where_its_severity_came_from(app, client,
                                                                                                 agent, clock):

    exchange_account(app, "U3004")
    report(app.test_client(), "U3004", language="zh-CN")
    sign_in(client, agent, clock)
    case_url = re.search(r'href="(/console/incidents/[0-9a-f-]{36})"', client.get("/console/").text).group(1)
    page = client.get(case_url).text
    options = re.findall(r'<option value="[a-z_]+:(en|zh-CN)"', page)
    assert options and options[0] == "zh-CN" and "en" in options  # both offered, the owner's language first
    assert "from the owner's report (no risk engine score)" in page
    assert re.search(r"<td>—</td>", client.get("/console/").text)  # no score of 0 beside a critical case


def test_canned_replies_follow_the_language_of_the_owners_latest_report_as_notifications_do(app, client, agent,
                                                                                             clock):

    exchange_account(app, "U3014")
    report(app.test_client(), "U3014")
    clock.advance(minutes=1)
    report(app.test_client(), "U3014", language="zh-CN")  # joins the open case
    sign_in(client, agent, clock)
    case_url = re.search(r'href="(/console/incidents/[0-9a-f-]{36})"', client.get("/console/").text).group(1)
    options = re.findall(r'<option value="[a-z_]+:(en|zh-CN)"', client.get(case_url).text)
    assert options and options[0] == "zh-CN" and "en" in options


def test_a_chain_without_an_explorer_names_the_setting_that_gives_it_one(app, client, agent, clock):

    exchange_account(app, "U3005")
    report(app.test_client(), "U3005")  # an Ethereum hash, on an instance with no Ethereum explorer
    app.extensions["lockdesk"].ports.tracer.run_due()
    sign_in(client, agent, clock)
    case_url = re.search(r'href="(/console/incidents/[0-9a-f-]{36})"', client.get("/console/").text).group(1)
    page = client.get(case_url).text
    assert 'data-testid="trace-error"' in page
    error = re.search(r"data-testid=\"trace-error\">([^<]*)<", page).group(1)
    assert "Tracing for Ethereum is not set up" in error and "ETH_RPC_URL" in error and "ESPLORA_URL" not in error


def test_the_timeline_names_each_case_link_holder_as_the_console_does_never_as_the_owner(app, client, agent, clock):
    """A reporter is not the owner until a verification says so: the timeline names reporters by their number
    on the case (as the message form does) and the registered contact's link as that."""
    import uuid

    from incidents.access import issue_incident_token

    exchange_account(app, "U3004")
    first = client.post("/api/v1/reports", json=report_body("U3004"))
    second = client.post("/api/v1/reports", json=report_body("U3004", description="me too"))
    incident_id = first.json["incident"]["id"]
    assert second.json["incident"]["id"] == incident_id
    with app.extensions["lockdesk"].sessions() as session:
        contact_token = issue_incident_token(session, incident_id=uuid.UUID(incident_id), report_id=None)
        session.commit()
    for token, words in ((second.json["access_token"], "from the second reporter"),
                         (contact_token, "from the registered contact")):
        written = client.post(f"/api/v1/incidents/{incident_id}/messages", headers=bearer(token),
                              json={"body": words})
        assert written.status_code == 201, written.json
    sign_in(client, agent, clock)
    for language, names in (("en", ("reporter 1", "reporter 2",
                                    "the account's registered contact (through the case link)")),
                            ("zh-CN", ("报告人 1", "报告人 2", "账户的登记联系人（通过工单链接）"))):
        page = client.get(f"/console/incidents/{incident_id}", headers={"Accept-Language": language}).text
        timeline = html.unescape(page[page.index('class="timeline'):])
        for name in names:
            assert name in timeline, (language, name)
        assert "the owner (through the case link)" not in timeline and "账户所有人（通过工单链接）" not in timeline
        # The conversation names each message's writer the same way, and its events say what happened, not who.
        authors = [html.unescape(found) for found in re.findall(r'data-testid="author">([^<]+)<', page)]
        assert authors == [names[1], {"en": "the account's registered contact", "zh-CN": "账户的登记联系人"}[language]]
        assert {"en": "Message received", "zh-CN": "收到消息"}[language] in timeline
        assert "The owner wrote" not in page and "Owner ·" not in page


def test_an_event_recorded_under_a_reports_id_before_tokens_named_reporters_still_names_that_reporter(app, client):
    """The audit chain is never rewritten: events intake recorded as `reporter:<report id>` read as that report's
    reporter; a token's id as its holder; anything else as no one known."""
    import uuid

    from incidents import reporters
    from incidents.models import AccessToken, Report

    exchange_account(app, "U3005")
    answers = [client.post("/api/v1/reports", json=report_body("U3005")) for _ in range(2)]
    with app.extensions["lockdesk"].sessions() as session:
        second = session.get(Report, uuid.UUID(client.get(
            f"/api/v1/incidents/{answers[1].json['incident']['id']}",
            headers=bearer(answers[1].json["access_token"])).json["report"]["id"]))
        token_id = session.scalar(select(AccessToken.id).where(AccessToken.report_id == second.id))
        assert reporters.identify(session, f"reporter:{second.id}") == reporters.ReporterRef(number=2)
        assert reporters.identify(session, f"reporter:{token_id}") == reporters.ReporterRef(number=2)
        assert reporters.identify(session, f"reporter:{uuid.uuid4()}") is None
        assert reporters.identify(session, "staff:someone") is None
