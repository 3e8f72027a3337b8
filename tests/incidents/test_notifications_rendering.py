"""The owner's words: both languages carry the anti-phishing code, the warning and exactly one link."""
import pytest

from incidents.notifications import (
    CATALOGUE,
    OWNER_NOTICES,
    render_owner_email,
    render_owner_sms,
    resolve_language,
)

LINK = "https://lockdesk.example/repudiations/abc.def"


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("notice", sorted(set(OWNER_NOTICES.values())))
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
@pytest.mark.parametrize("notice", sorted(set(OWNER_NOTICES.values())))
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
