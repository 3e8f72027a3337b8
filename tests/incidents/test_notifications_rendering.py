"""The owner's words: both languages carry the anti-phishing code, the warning and exactly one link."""
import pytest

from incidents.conversation.reporter_notices import OWNER_NOTICES_ELSEWHERE, REPORTER_NOTICES, render_for_reporter
from incidents.notifications import (
    CATALOGUE,
    OWNER_NOTICES,
    render_owner_email,
    render_owner_sms,
    resolve_language,
)

LINK = "https://lockdesk.example/repudiations/abc.def"
# Every notice the owner's channels get, the ones telling where a reporter's question waits included.
NOTICES = sorted(set(OWNER_NOTICES.values()) | set(OWNER_NOTICES_ELSEWHERE.values()))


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("notice", NOTICES)
@pytest.mark.parametrize("render", [render_owner_email, render_owner_sms])
def test_every_owner_message_has_the_code_the_warning_and_one_link(language, notice, render):
    message = render(notice=notice, language=language, reference="INC-2026-000007", anti_phishing_code="OTTER",
                     link=LINK)
    assert "OTTER" in message.text and message.text.count(LINK) == 1 and "INC-2026-000007" in message.text + message.subject
    assert message.language == language


def test_both_languages_have_every_entry():
    assert set(CATALOGUE["en"]) == set(CATALOGUE["zh-CN"])


@pytest.mark.parametrize("tag,expected", [("zh-CN", "zh-CN"), ("zh-Hans", "zh-CN"), ("en-GB", "en"), (None, "en"),
                                          ("fr", "en")])
def test_language_tags_resolve_to_a_catalogue(tag, expected):
    assert resolve_language(tag) == expected


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("notice", NOTICES)
@pytest.mark.parametrize("render", [render_owner_email, render_owner_sms])
def test_every_link_ends_where_a_phone_would_end_it(language, notice, render):
    case_link = "https://lockdesk.example/i/9?t=ldi_abc"
    message = render(notice=notice, language=language, reference="INC-2026-000007", anti_phishing_code="OTTER",
                     link=LINK, case_link=case_link)
    for link in (LINK, case_link):  # a linkifier takes what touches a link (a full stop, Chinese words) into it
        at = message.text.find(link)
        assert at >= 0, link
        after = message.text[at + len(link):at + len(link) + 1]
        assert after in ("", " ", "\n"), f"{link!r} is followed by {after!r}"


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("notice", sorted(REPORTER_NOTICES.values()))
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_a_reporters_message_carries_its_one_link_the_warning_and_nothing_of_the_account(language, notice, channel):
    link = "https://lockdesk.example/i/9?t=ldi_abc"
    message = render_for_reporter(channel=channel, notice=notice, language=language, reference="INC-2026-000007",
                                  link=link)
    assert message.text.count(link) == 1 and "INC-2026-000007" in message.text + message.subject
    assert "repudiations" not in message.text and message.language == language
    assert message.text[message.text.find(link) + len(link):][:1] in ("", " ", "\n")  # nothing touches the link
