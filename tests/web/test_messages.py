"""Every refusal an owner's page can meet is told in one plain sentence, in English and in Chinese."""
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from kernel.errors import DomainError, IllegalTransition, RateLimited
from app.web.messages import FormInput, explain
from incidents.ownership import AccountDetailsPending
from verification.errors import (
    CodeAlreadyUsed,
    CodeExpired,
    TooManyAttempts,
    TotpKeptForPhoneHolder,
    WrongCode,
)
from verification.sms import SmsDeliveryFailed

CJK = re.compile(r"[\u4e00-\u9fff]")

# A fixed moment 10 s into a 30 s authenticator step, so the waits below are exact.
AT = datetime(2026, 12, 3, 3, 0, 10, tzinfo=UTC)

REFUSALS = [
    (WrongCode(remaining_attempts=4), None, "That code is not correct. Attempts left: 4."),
    (CodeAlreadyUsed("used"), "totp",
     "That code has already been used. Your authenticator app shows a new code in about 20 seconds: enter that one."),
    (CodeAlreadyUsed("used"), "sms", "That code has already been used. Ask for a new code by text message."),
    (CodeExpired("expired"), None, "That code, or this verification, has expired. Ask for a new code or start again."),
    (TooManyAttempts(retry_after=900), "totp",
     "Too many wrong codes. You can enter a new code in 15 minutes (at 03:15 UTC)."),
    (TooManyAttempts(retry_after=61), "totp",  # rounded up, never 1 too few
     "Too many wrong codes. You can enter a new code in 2 minutes (at 03:01 UTC)."),
    (TooManyAttempts(retry_after=5), "totp",
     "Too many wrong codes. You can enter a new code in 1 minute (at 03:00 UTC)."),
    (TooManyAttempts(retry_after=None), "sms",
     "Too many wrong codes: this code is blocked. Start a new verification below to get a new code."),
    (TotpKeptForPhoneHolder(), "totp", "Too many wrong authenticator codes were entered for this account. Enter "
                                       "the text message code first, then the authenticator code."),
    (RateLimited("wait", retry_after=42), "sms", "A new code cannot be sent yet. Try again in 42 seconds."),
    (RateLimited("wait", retry_after=1), "sms", "A new code cannot be sent yet. Try again in 1 second."),
    (AccountDetailsPending("pending", retry_after=30), None,
     "The exchange cannot be reached right now, so we cannot read your account's details. Try again in a minute "
     "(at 03:01 UTC)."),
    (SmsDeliveryFailed("gateway said no"), "sms", "The text message could not be sent. Try again in a minute."),
    (IllegalTransition("passed already"), None, "This step is no longer possible in the current state of your case."),
    (DomainError("the exchange is busy"), None,  # no rule knows it: told by its kind, never in the domain's English
     "This step is not possible in the case's current state. Reload the page to see it."),
]


def told(app, error: DomainError, language: str, factor: str | None = None) -> str:
    """What a page in `language` says for the error."""
    with app.test_request_context(headers={"Accept-Language": language}):
        return explain(error, factor=factor, at=AT)


@pytest.mark.parametrize(("error", "factor", "sentence"), REFUSALS, ids=lambda item: getattr(item, "slug", None))
def test_each_refusal_says_what_to_do_next_and_when(app, error, factor, sentence):
    assert told(app, error, "en", factor) == sentence


@pytest.mark.parametrize(("error", "factor"), [(error, factor) for error, factor, _sentence in REFUSALS],
                         ids=lambda item: f"{item.slug}-{item.extra.get('retry_after')}"
                         if isinstance(item, DomainError) else str(item))
def test_each_refusal_is_told_in_chinese_on_a_chinese_page(app, error, factor):
    chinese = told(app, error, "zh-CN", factor)
    assert chinese != told(app, error, "en", factor) and CJK.search(chinese)
    for number in re.findall(r"\d+", told(app, error, "en", factor)):
        assert number in chinese  # the counts, waits and times survive the translation


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


# Every value of the case's enums a page shows, with the words table that names it.
DOMAIN = Path(__file__).resolve().parents[2]
EVENT = re.compile(r'"((?:incident|report|anomaly|exchange|verification|unfreeze|notice|message|attachment|evidence|'
                   r'notification|peer|staff)\.[a-z_]+(?:\.[a-z_]+)*)"')


# Quoted dotted names that are columns, not audit events.
NOT_EVENTS = {"staff.id"}


def _enum_words():
    """(table name, value) for every enum value the console and the owner's pages print."""
    from incidents.anomalies import DEFAULT_WEIGHTS
    from incidents.checklist import ITEMS
    from incidents.intake import REPORT_KINDS, SEVERITY_BY_KIND
    from incidents.review import REQUEST_STATUSES
    from incidents.states import CONTAINMENT_TRANSITIONS, INCIDENT_TRANSITIONS

    yield from (("STAFF_STATUS", value) for value in INCIDENT_TRANSITIONS)
    yield from (("TICKET_STATUS", value) for value in INCIDENT_TRANSITIONS)
    yield from (("CONTAINMENT", value) for value in CONTAINMENT_TRANSITIONS)
    yield from (("SEVERITY", value) for value in set(SEVERITY_BY_KIND.values()) | {"high"})
    yield from (("INCIDENT_KIND", value) for value in (*REPORT_KINDS, "anomaly"))
    yield from (("QUEUE", value) for value in ("support", "risk"))
    yield from (("ROLE", value) for value in ("agent", "risk_officer", "admin"))
    yield from (("ANOMALY_TYPE", value) for value in DEFAULT_WEIGHTS)
    yield from (("CHECKLIST_ITEM", value) for value in ITEMS)
    yield from (("CHECKLIST_OWNER_STEP", value) for value in ITEMS)
    yield from (("UNFREEZE_STATUS", value) for value in REQUEST_STATUSES)
    yield from (("OUTCOME", value) for value in ("account_unknown", "false_report", "unfrozen"))
    for folder in ("incidents", "verification", "chain"):
        for path in sorted((DOMAIN / folder).rglob("*.py")):
            yield from (("EVENT_NAME", action) for action in EVENT.findall(path.read_text())
                        if action not in NOT_EVENTS)
    yield from (("EVENT_NAME", f"incident.status.{to}") for to in INCIDENT_TRANSITIONS if to != "open")
    yield from (("EVENT_NAME", f"incident.containment.{to}") for to in CONTAINMENT_TRANSITIONS if to != "none")
    from verification.states import TRANSITIONS as VERIFICATION_TRANSITIONS  # steps.transition: f"verification.{to}"
    yield from (("EVENT_NAME", f"verification.{to}") for moves in VERIFICATION_TRANSITIONS.values() for to in moves)
    from incidents.handoff.models import RECEIVED_STATUSES, SENT_STATUSES
    yield from (("EVENT_NAME", f"peer.freeze_request.{status}") for status in (*SENT_STATUSES, *RECEIVED_STATUSES))


def test_every_enum_value_and_event_name_a_page_prints_has_words_in_both_languages(app):
    from app.web import words

    wanted = sorted(set(_enum_words()))
    assert len(wanted) > 100  # the scan found the audit events of the domain packages
    missing = [(table, value) for table, value in wanted if getattr(words, table).get(value) is None]
    assert missing == [], "these would be printed as raw keys"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        untranslated = [(table, value) for table, value in wanted
                        if not CJK.search(str(getattr(words, table)[value]))]
    assert untranslated == []
