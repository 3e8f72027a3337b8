"""Each message to the owner says what happened and what to do next, in English and Chinese; a promised unfreeze
time is never in the past (an approval given after the earliest time unfreezes at once)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incidents.notice_words import render_owner_email, render_owner_sms
from incidents.notifications import _when

NEXT_STEP = {
    ("frozen", "en"): "ask for the unfreeze", ("frozen", "zh-CN"): "申请解冻",
    ("verification_passed", "en"): "ask for the unfreeze", ("verification_passed", "zh-CN"): "申请解冻",
    ("unfrozen", "en"): "shows until when", ("unfrozen", "zh-CN"): "截止时间",
    ("reopened", "en"): "next step", ("reopened", "zh-CN"): "下一步",
}


@pytest.mark.parametrize(("notice", "language"), sorted(NEXT_STEP))
def test_the_owners_message_says_what_to_do_next(notice, language):
    mail = render_owner_email(notice=notice, language=language, reference="INC-2026-000009", anti_phishing_code="X",
                              link="https://lockdesk.example/r/1", case_link="https://lockdesk.example/i/9")
    assert NEXT_STEP[(notice, language)] in mail.text and "https://lockdesk.example/i/9" in mail.text
    sms = render_owner_sms(notice=notice, language=language, reference="INC-2026-000009", anti_phishing_code="X",
                           link="https://lockdesk.example/r/1", case_link="https://lockdesk.example/i/9")
    assert "https://lockdesk.example/i/9" in sms.text


def test_a_promised_unfreeze_time_is_never_before_the_approval():
    approved = datetime(2026, 12, 3, 12, 57, tzinfo=UTC)
    assert _when("2026-12-03T12:50:00Z", not_before=approved) == "2026-12-03 12:57 UTC"
    assert _when("2026-12-03T14:50:00Z", not_before=approved) == "2026-12-03 14:50 UTC"
    assert _when(None, not_before=approved) == ""
