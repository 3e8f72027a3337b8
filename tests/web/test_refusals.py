"""Every refusal the domain can give a page is told from the catalogue, in the page's language: the rules of
app/web/refusals.py cover each message the code can raise (found by reading the code), each rule speaks
Chinese on a Chinese page, and the enum values inside a message are the page's words."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.errors import Conflict, DomainError, InvalidInput
from app.web.refusals import ALWAYS_TOLD_BY_SLUG, RULES, by_kind, matching_rule, refusal_text

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("incidents", "verification", "chain", "app")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Failures of an adapter (the exchange, explorers, mail, SMS, peers' signatures, idempotency keys) are not
# refusals a person meets on a page: they are retried, shown as a trace's error, or are the API's own.
ADAPTER_ERRORS = {"AccountNotFound", "BadSignature", "BlobStoreUnavailable", "DeliveryFailed", "DomainError", "ExchangeError",
                  "ExchangeRejected", "ExchangeUnavailable", "ExplorerError", "ExplorerUnavailable", "FormInput",
                  "IdempotencyMismatch", "InFlight", "MailDeliveryFailed", "PeerRefused", "SignInRefused",
                  "SmsDeliveryFailed", "TamperedFile", "TransactionNotFound", "Unauthorized", "WebhookUnreachable"}
# Code no page calls: the JSON API's own input checks, the command line, the peer-to-peer and back-office APIs.
NOT_ON_PAGES = ("app/api/", "app/edge.py", "app/idempotency.py", "app/auth.py", "app/production.py",
                "incidents/staff.py", "chain/label_import.py", "incidents/signatures.py", "incidents/handoff/httpsig.py",
                "incidents/handoff/receiving.py", "incidents/exchange/", "incidents/anomaly_batch.py",
                # the outbox's rows move in the workers only; a refused move there is a fault, never a page's
                "incidents/outbox/")


def _domain_error_classes() -> dict[str, type]:
    for package in PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
            importlib.import_module(info.name)
    found, todo = {}, [DomainError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


def _text(node) -> str | None:
    """A message as written, each {expression} of an f-string standing as a sample value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "sample" for part in node.values)
    return None


def domain_messages() -> list[tuple[str, str]]:
    """(where, detail) of every refusal the code builds with a written message, as its `detail` reads."""
    classes = _domain_error_classes()
    found = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            if where.startswith(NOT_ON_PAGES):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                name = getattr(getattr(node, "func", None), "id", None)
                if not isinstance(node, ast.Call) or name not in classes or name in ADAPTER_ERRORS:
                    continue
                args = [_text(arg) for arg in node.args]
                if issubclass(classes[name], InvalidInput):
                    field, message = (("file", args[1]) if name == "BadFile" else (args + [None, None])[:2])
                    detail = f"{field}: {message}" if field and message else None
                else:
                    detail = args[0] if args else None
                if detail:
                    found.add((f"{where}:{node.lineno}", detail))
                    SLUG_OF[(f"{where}:{node.lineno}", detail)] = classes[name].slug
    return sorted(found)


# (where, detail) → the slug of the refusal raised there: some kinds are told by their slug, whatever they say.
SLUG_OF: dict[tuple[str, str], str] = {}
MESSAGES = domain_messages()
# Sample values for the keyword arguments a refusal's class requires (its numbers are told beside its words).
SAMPLES = {"remaining_attempts": 3, "retry_after": None}


def default_refusals() -> list[tuple[str, DomainError]]:
    """(class name, instance) of every refusal class with a default message: raised without one, its message is
    that default, which the scan of written messages above cannot see."""
    found = []
    for name, cls in sorted(_domain_error_classes().items()):
        parameters = inspect.signature(cls.__init__).parameters
        detail = parameters.get("detail")
        if name in ADAPTER_ERRORS or detail is None or detail.default is inspect.Parameter.empty:
            continue
        required = {key: SAMPLES[key] for key, parameter in parameters.items()
                    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is inspect.Parameter.empty}
        found.append((name, cls(**required)))
    return found


DEFAULTS = default_refusals()


def test_the_code_was_read():
    assert len(MESSAGES) > 80 and any("the checklist is not complete" == detail for _where, detail in MESSAGES)


@pytest.mark.parametrize(("where", "detail"), MESSAGES, ids=[where for where, _detail in MESSAGES])
def test_every_refusal_the_code_raises_has_a_rule(where, detail):
    # A wrong or used code is told by its slug (attempts left, when the next code comes), never by its message.
    assert matching_rule(detail) is not None or SLUG_OF[(where, detail)] in ALWAYS_TOLD_BY_SLUG, \
        f"{where}: add a rule for {detail!r} to app/web/refusals.py"


def test_the_refusals_with_a_default_message_were_found():
    assert {"WrongCode", "TooManyAttempts", "TotpKeptForPhoneHolder"} <= {name for name, _error in DEFAULTS}


@pytest.mark.parametrize(("name", "error"), DEFAULTS, ids=[name for name, _error in DEFAULTS])
def test_a_refusal_raised_with_its_default_message_is_told_by_its_own_words_in_both_languages(app, name, error):
    assert matching_rule(error.detail) is not None or error.slug in ALWAYS_TOLD_BY_SLUG, \
        f"{name}: add a rule for its default message {error.detail!r} to app/web/refusals.py"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        chinese, chinese_kind = refusal_text(error), by_kind(error)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english, english_kind = refusal_text(error), by_kind(error)
    assert english != english_kind and chinese != chinese_kind  # its own words, not merely its kind's
    assert CJK.search(chinese) and chinese != english and error.detail not in chinese


AT = datetime(2026, 12, 3, 3, 0, 10, tzinfo=UTC)


def test_a_wrong_code_says_the_attempts_left_and_a_lock_how_long_on_any_page(app):
    from verification.errors import TooManyAttempts, WrongCode

    locked = TooManyAttempts("Too many attempts; the authenticator is locked.", retry_after=900)
    said = {}
    for language in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": language}):
            said[language] = (refusal_text(WrongCode(remaining_attempts=3), at=AT), refusal_text(locked, at=AT))
    assert said["en"] == ("That code is not correct. Attempts left: 3.",
                          "Too many wrong codes. You can enter a new code in 15 minutes (at 03:15 UTC).")
    assert said["zh-CN"] == ("验证码不正确。剩余尝试次数：3。",
                             "错误的验证码过多。您可以在 15 分钟后（03:15 UTC）输入新的验证码。")


def test_every_refusal_is_told_in_chinese_on_a_chinese_page(app):
    untold = []
    for where, detail in MESSAGES:
        error = Conflict(detail, missing=["password_reset"])
        with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
            chinese = refusal_text(error)
        with app.test_request_context(headers={"Accept-Language": "en"}):
            english = refusal_text(error)
        if not CJK.search(chinese) or chinese == english or chinese == detail:
            untold.append((where, chinese))
    assert untold == []


def test_the_enum_values_inside_a_refusal_are_the_pages_words(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        said = refusal_text(Conflict("the checklist is not complete", missing=["password_reset", "two_factor_rebound"]))
        assert "password_reset" not in said and "重置" in said
        said = refusal_text(Conflict("the account is already frozen"))
        assert "frozen" not in said and "已冻结" in said
    with app.test_request_context(headers={"Accept-Language": "en"}):
        said = refusal_text(Conflict("the incident is awaiting_user; only a closed case can be reopened"))
        assert "awaiting_user" not in said and "Awaiting the owner" in said


def test_a_refusal_no_rule_knows_is_told_by_its_kind_never_in_the_domains_english(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        for error in (Conflict("something new went wrong"), InvalidInput("x", "is odd"), DomainError("new")):
            said = refusal_text(error)
            assert said == by_kind(error) and CJK.search(said) and "new" not in said


def test_each_rule_is_a_whole_message_pattern():
    # Rules are tried with fullmatch: an anchor would be noise, and a rule matching nothing at all would swallow
    # an empty message.
    assert [pattern for pattern, _render in RULES if pattern.startswith("^") or pattern.endswith("$")] == []
    assert [pattern for pattern, _render in RULES if re.compile(pattern).fullmatch("")] == []
    assert matching_rule("the incident is closed; and more") is None  # rules match whole messages only


def test_a_message_or_file_refusal_is_told_once_from_the_catalogue_with_its_limits(app):
    from incidents.conversation.messages import MAX_BODY
    from incidents.conversation.sniffing import FileTooLarge
    from kernel.errors import IllegalTransition

    with app.test_request_context(headers={"Accept-Language": "en"}):
        too_large = FileTooLarge("the file is larger than 10485760 bytes", max_bytes=10 * 1024 * 1024)
        assert refusal_text(too_large) == "The file is larger than 10 MiB."
        assert refusal_text(Conflict("the case already holds 20 files", max_per_incident=20)) == \
            "This case already holds the most files it can take (20)."
        assert refusal_text(InvalidInput("body", "must not be empty")) == \
            f"Write a message of 1 to {MAX_BODY} characters."
        # A case resolved long ago has its own words (no longer shadowed by "closed to new messages").
        assert refusal_text(IllegalTransition("the case was resolved more than 7 days ago; file a new report")) == \
            "This case was resolved more than 7 days ago. File a new report if you need help."
