"""Letters drafted from a finished trace: to each exchange reached, to each stablecoin issuer."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict, NotFound
from chain.letters import freeze_request_letter
from chain.letters_issuer import issuer_request_letter
from chain.models import Trace

LETTER_LANGUAGES = ("en", "zh-CN")


@dataclass(frozen=True)
class FreezeRequest:
    """A drafted letter to one receiving exchange, in one language."""

    exchange: str
    text: str
    language: str = "en"


@dataclass(frozen=True)
class IssuerRequest:
    """A drafted request to one stablecoin issuer, in one language."""

    issuer: str
    language: str
    addresses: list[str]
    text: str


def _finished(session: Session, trace_id: uuid.UUID) -> Trace:
    """The trace, which must have finished: letters quote what it found."""
    trace = session.get(Trace, trace_id)
    if trace is None:
        raise NotFound(f"trace {trace_id} not found")
    if trace.status != "done":
        raise Conflict(f"trace {trace_id} is {trace.status}; letters need a finished trace")
    return trace


def draft_freeze_requests(session: Session, *, trace_id: uuid.UUID, now: datetime | None = None,
                          languages: tuple[str, ...] = LETTER_LANGUAGES) -> list[FreezeRequest]:
    """Per exchange the traced funds reached: the freeze-request letter in each of `languages` (by default
    English and Chinese), in that order; only the languages asked are drafted."""
    trace = _finished(session, trace_id)
    exchanges = sorted({f["entity"] or f["label"] for f in trace.findings or []
                        if f["category"] == "exchange"})
    return [FreezeRequest(name, freeze_request_letter(
        exchange=name, chain=trace.chain, transaction=trace.transaction or {},
        graph=trace.graph or {}, findings=trace.findings or [], now=now or utcnow(), language=language),
        language) for name in exchanges for language in languages]


def draft_issuer_requests(session: Session, *, trace_id: uuid.UUID,
                          now: datetime | None = None) -> list[IssuerRequest]:
    """Per issuer whose tokens still sit at reached addresses: the request in English and Chinese."""
    trace = _finished(session, trace_id)
    held: dict[str, list[dict]] = {}
    for finding in trace.findings or []:
        if finding["category"] == "stablecoin":
            held.setdefault(finding["entity"], []).append(finding)
    return [IssuerRequest(holdings[0]["issuer"], language, [h["address"] for h in holdings],
                          issuer_request_letter(issuer=name, chain=trace.chain,
                                                transaction=trace.transaction or {},
                                                graph=trace.graph or {}, holdings=holdings,
                                                now=now or utcnow(), language=language))
            for name, holdings in sorted(held.items()) for language in LETTER_LANGUAGES]
