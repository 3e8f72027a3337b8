"""The conversation on both case pages through the test client, without JavaScript, in English and Chinese."""
from __future__ import annotations

import io
import re

import pytest

from tests.conversation.conftest import png
from tests.factories import exchange_account
from tests.web.conftest import csrf_of, run_follow_ups
from tests.web.pages import sign_in
from tests.web.pages import incident_of, report
from tests.web.pages import owner_case, owner_writes, staff_writes


@pytest.fixture(autouse=True)
def accounts(app):
    """The account the owners report on."""
    exchange_account(app, "U1001")


def test_the_owner_sends_a_png_staff_see_it_ask_and_the_owner_replies(app, agent, clock):
    owner, incident_id = owner_case(app)
    page = owner_writes(owner, incident_id, "Screenshot of the withdrawal", file=("withdrawal.png", png()))
    assert "Your message was sent." in page and "withdrawal.png" in page
    staff = app.test_client()
    sign_in(staff, agent, clock)
    console = staff.get(f"/console/incidents/{incident_id}").text
    assert "Screenshot of the withdrawal" in console and "withdrawal.png" in console
    link = re.search(r'href="(/console/attachments/[0-9a-f-]{36})"', console).group(1)
    assert staff.get(link).headers["Content-Type"] == "image/png"
    console = staff_writes(staff, incident_id, "Please send a photo of your ID with today's date.")
    assert 'data-testid="awaiting-since"' in console and "Awaiting the owner since" in console
    page = owner.get(f"/i/{incident_id}").text
    assert "Please send a photo of your ID" in page and 'data-testid="awaiting-reply"' in page
    assert owner_writes(owner, incident_id, "Here it is").count('data-testid="message"') == 3
    assert "In progress" in staff.get(f"/console/incidents/{incident_id}").text


def test_the_conversation_speaks_chinese(app, agent, clock):
    owner, incident_id = owner_case(app, language="zh-CN")
    page = owner_writes(owner, incident_id, "这是截图", file=("截图.png", png()), language="zh-CN")
    assert "与我们团队的消息" in page and "您的消息已发送。" in page and "截图.png" in page
    staff = app.test_client()
    staff.get("/language?to=zh_CN&next=/console/")
    sign_in(staff, agent, clock)
    console = staff_writes(staff, incident_id, "请上传身份证照片")
    assert "等待用户回复" in console or "待反馈" in console
    assert "内部备注（仅工作人员可见）" in console


def test_an_internal_note_never_reaches_the_owners_page(app, agent, clock):
    owner, incident_id = owner_case(app)
    staff = app.test_client()
    sign_in(staff, agent, clock)
    console = staff_writes(staff, incident_id, "Caller sounded nervous", visibility="internal")
    assert "internal note" in console
    assert "Caller sounded nervous" not in owner.get(f"/i/{incident_id}").text


def test_a_second_reporter_sees_none_of_the_first_reporters_messages_or_files(app):
    first, incident_id = owner_case(app)
    owner_writes(first, incident_id, "first reporter private words", file=("mine.png", png()))
    second, same_incident = owner_case(app)
    assert same_incident == incident_id
    page = second.get(f"/i/{incident_id}").text
    assert "first reporter private words" not in page and "mine.png" not in page
    link = re.search(r'href="(/i/[0-9a-f-]{36}/attachments/[0-9a-f-]{36})"', first.get(f"/i/{incident_id}").text)
    assert first.get(link.group(1)).status_code == 200
    assert second.get(link.group(1)).status_code == 404


def test_a_bad_file_on_the_page_is_explained_and_nothing_is_sent(app, instance):
    owner, incident_id = owner_case(app, language="zh-CN")
    page = owner_writes(owner, incident_id, "my file", file=("setup.png", b"MZ\x90\x00" + b"\x00" * 100),
                        language="zh-CN")
    assert "不接受此类文件" in page and 'data-testid="message"' not in page
    assert not (instance / "attachments").exists()


def test_an_empty_message_is_refused_before_the_file_is_stored(app, instance):
    owner, incident_id = owner_case(app)
    page = owner_writes(owner, incident_id, "   ", file=("a.png", png()))
    assert "Write a message of 1 to 4000 characters." in page
    assert not (instance / "attachments").exists()


def test_a_reply_template_fills_the_console_box_without_javascript(app, agent, clock):
    _owner, incident_id = owner_case(app)
    staff = app.test_client()
    sign_in(staff, agent, clock)
    page = staff.get(f"/console/incidents/{incident_id}?reply_template=police_report:zh-CN").text
    assert re.search(r'<textarea id="message-body"[^>]*>如果您已向警方报案', page)
    assert "EN · Ask for a police report" in page


def test_manual_review_asks_the_owner_for_documents_and_shows_them_beside_the_decision(app, officer, clock):
    exchange_account(app, "U3003", bound_days_ago=1)  # factors bound yesterday: not trusted
    client = app.test_client()
    sent = report(client, account_id="U3003")
    incident_id, token = incident_of(client.get(sent.headers["Location"]).text)
    client.get(f"/i/{incident_id}?t={token}")
    run_follow_ups(app)
    page = client.get(f"/i/{incident_id}")
    client.post(f"/i/{incident_id}/verification", data={"csrf_token": csrf_of(page.text)})
    page = client.get(f"/i/{incident_id}").text
    assert 'data-testid="documents-needed"' in page
    owner_writes(client, incident_id, "My passport", file=("passport.jpg", png()))
    staff = app.test_client()
    sign_in(staff, officer, clock)
    console = staff.get(f"/console/incidents/{incident_id}").text
    documents = console[console.index('data-testid="owner-documents"'):]
    assert "passport.jpg" in documents[:documents.index("</div>")]
    assert 'name="decision"' in console


def post_file(client, incident_id, path, name="a.png", language="en"):
    """Post a message with a file from the case page at `path`; the raw answer (no redirect followed)."""
    page = client.get(path, headers={"Accept-Language": language})
    form = {"csrf_token": csrf_of(page.text), "body": "one more file", "visibility": "public",
            "file": (io.BytesIO(png()), name)}
    return client.post(f"{path}/messages", data=form, content_type="multipart/form-data",
                       headers={"Accept-Language": language})


def test_a_flood_of_owner_uploads_is_paused_saying_for_how_long_and_leading_back_to_the_case(app):
    app.config["ATTACHMENT_RATE_LIMIT"] = "2 per 10 minutes"
    owner, incident_id = owner_case(app, language="zh-CN")
    assert [post_file(owner, incident_id, f"/i/{incident_id}").status_code for _ in range(2)] == [303, 303]
    paused = post_file(owner, incident_id, f"/i/{incident_id}", language="zh-CN")
    assert paused.status_code == 429 and 0 < int(paused.headers["Retry-After"]) <= 600
    assert "text/html" in paused.headers["Content-Type"]
    assert "尝试次数过多。请在 10 分钟后重试。" in paused.text
    assert f'href="/i/{incident_id}" data-testid="back-to-case"' in paused.text
    assert owner_writes(owner, incident_id, "words alone are not counted").count('data-testid="message"') == 3
    other, same_incident = owner_case(app)  # a second reporter of the account: its own session, its own count
    assert same_incident == incident_id and post_file(other, incident_id, f"/i/{incident_id}").status_code == 303


def test_a_refused_form_leads_back_to_the_case_only_for_whom_the_case_page_opens(app, agent, clock):
    owner, incident_id = owner_case(app)
    form = {"body": "no token"}  # without the CSRF token: refused (400) before the view runs
    refused = owner.post(f"/i/{incident_id}/messages", data=form)
    assert refused.status_code == 400 and f'href="/i/{incident_id}" data-testid="back-to-case"' in refused.text
    stranger = app.test_client().post(f"/i/{incident_id}/messages", data=form)
    assert stranger.status_code == 400 and 'data-testid="back-to-case"' not in stranger.text
    console = f"/console/incidents/{incident_id}"
    signed_out = app.test_client().post(f"{console}/messages", data=form)
    assert signed_out.status_code == 400 and 'data-testid="back-to-case"' not in signed_out.text
    staff = app.test_client()
    sign_in(staff, agent, clock)
    signed_in = staff.post(f"{console}/messages", data=form)
    assert signed_in.status_code == 400 and f'href="{console}" data-testid="back-to-case"' in signed_in.text


def test_a_flood_of_console_uploads_is_paused_per_staff_member(app, agent, officer, clock):
    app.config["ATTACHMENT_RATE_LIMIT"] = "1 per 10 minutes"
    _owner, incident_id = owner_case(app)
    first, second = app.test_client(), app.test_client()
    sign_in(first, agent, clock)
    sign_in(second, officer, clock)
    console = f"/console/incidents/{incident_id}"
    assert post_file(first, incident_id, console).status_code == 303
    paused = post_file(first, incident_id, console)
    assert paused.status_code == 429 and "Too many attempts. Try again in 10 minutes." in paused.text
    assert f'href="{console}" data-testid="back-to-case"' in paused.text
    assert post_file(second, incident_id, console).status_code == 303  # another member, another count
    assert first.get(console).text.count("a.png") == 2  # the two accepted files, nothing of the refused one
