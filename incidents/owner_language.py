"""The language the owner is written to in: the language of a report whose holder proved the account is theirs,
else of the newest report (English for a case the risk engine opened, with no report).

Anyone who knows the account ID can report it, so the newest report may be the thief's, typed in another language
than the owner's; once a holder passed a verification on the case, its report is the owner's.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.access import reporter_token_id
from incidents.models import AccessToken, Report
from verification.models import Verification

@dataclass(frozen=True)
class OwnerReports:
    """What a message to the owner needs of an incident's reports: the owner's language. (Its case link names no
    report: whoever filed one, even the first, may be the thief.)"""

    language: str


def owner_language(session: Session, *, incident_id: uuid.UUID) -> str:
    """The owner's language on one incident."""
    found = owner_reports(session, incident_ids={incident_id}).get(incident_id)
    return found.language if found else "en"


def owner_reports(session: Session, *, incident_ids: set[uuid.UUID]) -> dict[uuid.UUID, OwnerReports]:
    """The owner's language of several incidents, in three queries (incidents without a report are left out)."""
    if not incident_ids:
        return {}
    verified = _verified_reports(session, incident_ids)
    query = (select(Report.id, Report.incident_id, Report.language).where(Report.incident_id.in_(incident_ids))
             .order_by(Report.created_at))
    newest: dict[uuid.UUID, str] = {}
    newest_verified: dict[uuid.UUID, str] = {}
    for report_id, incident_id, language in session.execute(query):
        newest[incident_id] = language or "en"
        if report_id in verified:
            newest_verified[incident_id] = language or "en"
    return {incident_id: OwnerReports(newest_verified.get(incident_id, language))
            for incident_id, language in newest.items()}


def _verified_reports(session: Session, incident_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The reports whose holders (a token bound to the report) passed a verification on these incidents."""
    actors = session.scalars(select(Verification.started_by).where(Verification.incident_id.in_(incident_ids),
                                                                   Verification.status == "passed"))
    token_ids = {token_id for actor in actors if (token_id := reporter_token_id(actor)) is not None}
    if not token_ids:
        return set()
    return set(session.scalars(select(AccessToken.report_id).where(AccessToken.id.in_(token_ids),
                                                                   AccessToken.report_id.is_not(None))))
