"""Who a reporter's actor name (`reporter:<id>`) stands for on a case: which of its reports, numbered as the
console numbers them (oldest first), or the account's registered contact.

The id is a report's where intake recorded the report, or an access token's where the holder of a case link
acted (a verification, a message, a file, taking the report back). A token bound to no report is a link sent
to the account's registered contact; a token bound to a report is that reporter's.
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
    report = session.get(Report, actor_id)
    if report is None:
        token = session.get(AccessToken, actor_id)
        if token is None:
            return None
        if token.report_id is None:
            return ReporterRef(registered_contact=True)
        report = session.get(Report, token.report_id)
        if report is None:
            return None
    return ReporterRef(number=_number(session, report))


def _number(session: Session, report: Report) -> int:
    """The report's place among its case's reports, oldest first (the console's "reporter N")."""
    earlier = session.scalar(select(func.count()).select_from(Report).where(
        Report.incident_id == report.incident_id, Report.created_at < report.created_at))
    return int(earlier or 0) + 1

