"""The conversation end to end in headless Chromium: the owner uploads a PNG from the case page, staff see it in
the console and ask, the owner replies, the status moves 处理中 ⇄ 待反馈; in English and in Chinese."""
from __future__ import annotations

import pytest

from tests.conversation.conftest import png
from tests.factories import exchange_account, make_staff
from tests.web.browser import DESKTOP, PHONE, shot, staff_sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORDS = {
    "en": {"sent": "Your message was sent.", "awaiting": "Awaiting your reply", "staff_awaiting": "Awaiting the owner", "progress": "In progress",
           "waiting": "Our team is waiting for your reply."},
    "zh-CN": {"sent": "您的消息已发送。", "awaiting": "待反馈", "staff_awaiting": "待用户反馈", "progress": "处理中", "waiting": "我们的团队正在等待您的回复。"},
}


@pytest.mark.parametrize("language", list(WORDS))
def test_owner_uploads_a_png_staff_ask_and_the_owner_replies(live, chromium, tmp_path, language):  # noqa: F811
    words, tag = WORDS[language], "conversation-" + language.lower()
    app = live.app
    exchange_account(app, "U1001")
    agent = make_staff(app, "agent", "agent-1")
    picture = tmp_path / "withdrawal.png"
    picture.write_bytes(png(320, 200))

    owner = chromium.new_context(viewport=PHONE, locale=language, is_mobile=True, has_touch=True).new_page()
    owner.goto(f"{live.url}/report")
    owner.fill("#account_id", "U1001")
    owner.check("#kind-stolen_account")
    owner.fill("#email", "owner@example.com")
    submit(owner, "form[action$='/report'] button[type=submit]")
    owner.goto(owner.input_value("#access-link"))
    owner.fill("#message-body", "Screenshot of the withdrawal I did not make")
    owner.set_input_files("#message-file", str(picture))
    submit(owner, "form[action$='/messages'] button[type=submit]")
    assert words["sent"] in owner.inner_text("main")
    assert "withdrawal.png" in owner.inner_text("[data-testid=thread]")
    shot(owner, f"{tag}-01-owner-sent")

    desk = chromium.new_context(viewport=DESKTOP, locale=language).new_page()
    staff_sign_in(desk, live, agent)
    submit(desk, "table.queue a")
    thread = desk.inner_text("[data-testid=thread]")
    assert "Screenshot of the withdrawal" in thread and "withdrawal.png" in thread
    with desk.expect_download() as download:
        desk.click("[data-testid=thread] a[download]")
    assert download.value.suggested_filename == "withdrawal.png"
    desk.fill("#message-body", "Please upload a photo of your ID with today's date.")
    submit(desk, "form[action$='/messages'] button[type=submit]")
    assert desk.inner_text("[data-testid=ticket-status]") == words["staff_awaiting"]
    assert desk.locator("[data-testid=awaiting-since]").count() == 1
    shot(desk, f"{tag}-02-staff-asked")

    owner.reload()
    assert owner.inner_text("[data-testid=ticket-status]") == words["awaiting"]
    assert words["waiting"] in owner.inner_text("[data-testid=awaiting-reply]")
    owner.fill("#message-body", "Here is my ID photo")
    owner.set_input_files("#message-file", str(picture))
    submit(owner, "form[action$='/messages'] button[type=submit]")
    assert owner.inner_text("[data-testid=ticket-status]") == words["progress"]
    shot(owner, f"{tag}-03-owner-replied")

    desk.reload()
    assert desk.inner_text("[data-testid=ticket-status]") == words["progress"]
    assert desk.locator("[data-testid=thread] [data-testid=message]").count() == 3
    shot(desk, f"{tag}-04-console-thread")
    desk.context.close()
    owner.context.close()
