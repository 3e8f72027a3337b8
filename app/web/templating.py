"""What every template can use: dates in UTC, the SLA clock, state words, the language switch."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import gettext as _
from markupsafe import Markup

from app.extensions import get_session
from app.web import LOCALES, now, page_locale, reasons, words
from app.web.chain_words import chain_name
from incidents import reporters
from incidents.access import REPORTER
from incidents.exchange.wire import parse_time
from incidents.models import Staff

LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}


def utc(value: datetime | str | None) -> str:
    """A time (or an ISO 8601 text of one, as the exchange's records keep it) as `2026-11-21 22:00 UTC`."""
    if isinstance(value, str):
        try:
            value = parse_time(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def duration(delta: timedelta) -> str:
    """A span as hours and minutes, in the page's language."""
    minutes = max(int(abs(delta.total_seconds()) // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def sla_clock(due: datetime | None) -> dict:
    """How long is left until a deadline (or how long it is overdue)."""
    if due is None:
        return {"due": None, "left": "", "is_overdue": False}
    left = due - now()
    return {"due": due, "left": duration(left), "is_overdue": left.total_seconds() < 0}


def time_left(at: datetime | None) -> str:
    """How long until a time, as hours and minutes (no less than a minute while it is ahead)."""
    if at is None:
        return ""
    left = at - now()
    return duration(max(left, timedelta(minutes=1)) if left.total_seconds() > 0 else timedelta(0))


def short_hash(value: str | None) -> str:
    """A long hash or address shortened for narrow screens (the full one stays in a title)."""
    if not value or len(value) <= 20:
        return value or ""
    return f"{value[:10]}…{value[-8:]}"


def language_links() -> list[dict]:
    """The switch: one link per language that sets the choice and comes back to this page."""
    here = request.full_path.rstrip("?") if request.query_string else request.path
    current = page_locale()
    return [{"code": code, "name": LANGUAGE_NAMES[code], "is_current": code == current,
             "url": "/language?" + urlencode({"to": code, "next": here})} for code in LOCALES]


def html_lang() -> str:
    """The page's `lang` attribute."""
    return "zh-CN" if page_locale() == "zh_CN" else "en"


def inline_svg(svg: str) -> Markup:
    """The fund-flow picture, whose every label chain.graph escaped, placed in the page."""
    return Markup(svg)  # noqa: S704 - built by chain.graph.render_svg, which escapes all text


def actor_name(actor: str | None) -> str:
    """`staff:<id>` as the staff member's name (looked up once per request); other actors as they are."""
    if actor and actor.startswith(REPORTER):
        return _reporter_name(actor)
    if not actor or not actor.startswith("staff:"):
        return words.word(words.ACTOR, actor)
    names = g.setdefault("staff_names", {})
    if actor not in names:
        try:
            staff = get_session().get(Staff, uuid.UUID(actor.removeprefix("staff:")))
        except ValueError:
            staff = None
        names[actor] = staff.name if staff else actor
    return names[actor]


def _reporter_name(actor: str) -> str:
    """A case link's holder as the console names them: "reporter N" (the report's place on its case) or the
    account's registered contact; never "the owner", which only a passed verification can show."""
    names = g.setdefault("reporter_names", {})
    if actor not in names:
        who = reporters.identify(get_session(), actor)
        if who is None:
            names[actor] = _("a reporter (through a case link)")
        elif who.registered_contact:
            names[actor] = _("the account's registered contact (through the case link)")
        else:
            names[actor] = _("reporter %(number)s", number=who.number)
    return names[actor]


NOT_SET_UP = "no explorer configured"


def not_set_up(trace) -> bool:
    """Whether a trace failed only because no explorer is configured for its chain (nothing is wrong)."""
    return bool(trace.error) and trace.error.startswith(NOT_SET_UP)


# The setting that gives a chain its explorer (app/config.py); other EVM chains are named in EVM_RPC_URLS.
EXPLORER_SETTING = {"ethereum": "ETH_RPC_URL", "bitcoin": "ESPLORA_URL", "tron": "TRON_API_URL"}


def trace_error(trace) -> str:
    """A trace's error in the page's words where it is a known one; the explorer's own text otherwise."""
    if not_set_up(trace):
        return _("Tracing for %(chain)s is not set up: this instance has no explorer for that chain. An "
                 "administrator sets %(setting)s.", chain=chain_name(trace.chain), setting=EXPLORER_SETTING.get(
                     trace.chain, 'EVM_RPC_URLS ({"%s": "https://…"})' % trace.chain))
    return _("The explorer answered with an error: %(error)s", error=trace.error)


def event_name(action: str) -> str:
    """An audit event's name in the page's words (the raw key where the catalogue has none)."""
    return words.word(words.EVENT_NAME, action)


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.add_template_filter(utc)
    app.add_template_filter(short_hash)
    app.add_template_filter(actor_name)
    app.add_template_global(sla_clock)
    app.add_template_global(time_left)
    app.add_template_global(not_set_up)
    app.add_template_global(trace_error)
    app.add_template_global(event_name)
    app.add_template_global(language_links)
    app.add_template_global(html_lang)
    app.add_template_global(inline_svg)
    app.add_template_global(words.word)
    app.add_template_global(words, "words")
    app.add_template_global(reasons.reason, "said_reason")

    @app.context_processor
    def _review_settings():
        return {"min_wait_minutes": app.config.get("UNFREEZE_MIN_WAIT_MINUTES", 120)}
