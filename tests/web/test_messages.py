"""Every refusal an owner's page can meet is told in one plain sentence, in English and in Chinese."""
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.db import DomainError, RateLimited
from app.web.messages import FormInput, explain
from incidents.ownership import AccountDetailsPending
from verification.errors import (
    CodeAlreadyUsed,
    CodeExpired,
    IllegalTransition,
    TooManyAttempts,
    TotpKeptForPhoneHolder,
    WrongCode,
)
from verification.sms import SmsDeliveryFailed

CJK = re.compile(r"[\u4e00-\u9fff]")

REFUSALS = [
    (WrongCode(remaining_attempts=4), "That code is not correct. Attempts left: 4."),
    (CodeAlreadyUsed("used"), "That code has already been used. Wait for the next code in your authenticator app."),
    (CodeExpired("expired"), "That code, or this verification, has expired. Ask for a new code or start again."),
    (TooManyAttempts(retry_after=900), "Too many wrong codes. Try again in 15 minutes."),
    (TooManyAttempts(retry_after=61), "Too many wrong codes. Try again in 2 minutes."),  # rounded up, never 1 too few
    (TooManyAttempts(retry_after=5), "Too many wrong codes. Try again in 1 minute."),
    (TooManyAttempts(retry_after=None),
     "Too many wrong codes. Start a new verification, or wait for our team to contact you."),
    (TotpKeptForPhoneHolder(), "Too many wrong authenticator codes were entered for this account. Enter the text "
                               "message code first, then the authenticator code."),
    (RateLimited("wait", retry_after=42), "A new code cannot be sent yet. Try again in 42 seconds."),
    (RateLimited("wait", retry_after=1), "A new code cannot be sent yet. Try again in 1 second."),
    (AccountDetailsPending("pending", retry_after=30),
     "We are still receiving your account's details from the exchange. Try again in a minute."),
    (SmsDeliveryFailed("gateway said no"), "The text message could not be sent. Try again in a minute."),
    (IllegalTransition("passed already"), "This step is no longer possible in the current state of your case."),
    (DomainError("the exchange is busy"), "This cannot be done right now (the exchange is busy)."),
]


def told(app, error: DomainError, language: str) -> str:
    """What a page in `language` says for the error."""
    with app.test_request_context(headers={"Accept-Language": language}):
        return explain(error)


@pytest.mark.parametrize(("error", "sentence"), REFUSALS, ids=lambda item: getattr(item, "slug", None))
def test_each_refusal_is_one_plain_sentence(app, error, sentence):
    assert told(app, error, "en") == sentence


@pytest.mark.parametrize("error", [error for error, _sentence in REFUSALS],
                         ids=lambda error: f"{error.slug}-{error.extra.get('retry_after')}")
def test_each_refusal_is_told_in_chinese_on_a_chinese_page(app, error):
    chinese = told(app, error, "zh-CN")
    assert chinese != told(app, error, "en") and CJK.search(chinese)
    for number in re.findall(r"\d+", told(app, error, "en")):
        assert number in chinese  # the counts and waits survive the translation


def test_what_the_owner_typed_wrong_is_told_as_it_was_written():
    assert explain(FormInput("请检查您的电话号码")) == "请检查您的电话号码"


CATALOG = Path(__file__).resolve().parents[2] / "app" / "translations" / "zh" / "LC_MESSAGES"


def test_every_message_of_the_pages_has_a_chinese_translation_and_the_compiled_catalog_is_current():
    with open(CATALOG / "messages.po", "rb") as source:
        written = read_po(source)
    with open(CATALOG / "messages.mo", "rb") as compiled_file:
        compiled = read_mo(compiled_file)
    untranslated = [message.id for message in written if message.id and not all(
        message.string if isinstance(message.string, tuple) else (message.string,))]
    assert untranslated == []
    assert _pairs(written) == _pairs(compiled), "the .mo is older than the .po: run `make translations`"


def _pairs(catalog) -> dict:
    """Message id → translation, plural forms as tuples (the .mo reader gives lists)."""
    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value
    return {plain(message.id): plain(message.string) for message in catalog if message.id}
