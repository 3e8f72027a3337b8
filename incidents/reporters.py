"""Who a reporter's actor name (`reporter:<id>`) stands for on a case: which of its reports, numbered as the
console numbers them (oldest first), or the account's registered contact.

The id is an access token's (`access.reporter_actor`): a token bound to a report is that reporter's, one bound to
no report a link sent to the account's registered contact. Events recorded before intake named its reporter by
its token named it by the report's id; the chain is never rewritten, so such an id is read as the report's.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.access import reporter_token_id
from incidents.models import AccessToken, Report


@dataclass(frozen=True)
class ReporterRef:
    """A reporter on its case: the report's number there, or the registered contact (no number)."""

    number: int | None = None
    registered_contact: bool = False


def identify(session: Session, actor: str | None) -> ReporterRef | None:
    """The reporter behind a `reporter:<id>` actor; None for another actor or an id of nothing on record."""
    actor_id = reporter_token_id(actor)
    if actor_id is None:
        return None
    token = session.get(AccessToken, actor_id)
    if token is not None and token.report_id is None:
        return ReporterRef(registered_contact=True)
    report = session.get(Report, token.report_id if token is not None else actor_id)
    return ReporterRef(number=_number(session, report)) if report is not None else None


def _number(session: Session, report: Report) -> int:
    """The report's place among its case's reports, oldest first (the console's "reporter N")."""
    earlier = session.scalar(select(func.count()).select_from(Report).where(
        Report.incident_id == report.incident_id, Report.created_at < report.created_at))
    return int(earlier or 0) + 1

