"""The staff queue: filtered incident lists with keyset pagination (page time independent of depth)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput, NotFound
from incidents.models import Incident

SORTS = ("sla_due_at", "-created_at")


@dataclass(frozen=True)
class Page:
    """One page of a list and the cursor of the next."""

    items: list
    next_cursor: str | None


@dataclass(frozen=True)
class IncidentFilter:
    """What the queue is narrowed to."""

    status: str | None = None
    containment: str | None = None
    account_id: str | None = None
    queue: str | None = None
    # Only cases still being worked (open, in progress, awaiting the owner): the console's default view.
    active_only: bool = False


ACTIVE_STATUSES = ("open", "in_progress", "awaiting_user")
# `<microseconds since 1970>.<tie-breaker>`: every string of this form is a position in the list, so the
# interface can say exactly which cursors it takes (16 digits of microseconds reach the year 2286).
INCIDENT_CURSOR = r"^[0-9]{1,16}\.[0-9]{1,18}$"
REQUEST_CURSOR = r"^[0-9]{1,16}\.[0-9a-f]{32}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(values: list) -> str:
    """The cursor of the position after a sort key: a time (or its ISO text) and a number or UUID."""
    moment, tie = values
    when = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    second = str(tie) if isinstance(tie, int) else uuid.UUID(str(tie)).hex
    return f"{(when.astimezone(UTC) - _EPOCH) // _MICROSECOND}.{second}"


def cursor_values(cursor: str, pattern: str = INCIDENT_CURSOR) -> list:
    """The time and tie-breaker text a cursor carries; a malformed one names the `cursor` field."""
    if re.fullmatch(pattern, cursor) is None:
        raise InvalidInput("cursor", "is not a cursor this list gave out")
    micros, second = cursor.split(".")
    return [_EPOCH + int(micros) * _MICROSECOND, second]


def decode_cursor(cursor: str) -> list:
    """Read an incident list's cursor back (a sort time and an incident number)."""
    when, number = cursor_values(cursor)
    return [when, int(number)]


def list_incidents(session: Session, *, filters: IncidentFilter, sort: str = "sla_due_at",
                   limit: int = 50, cursor: str | None = None) -> Page:
    """A page of incidents sorted by SLA due time (or newest first), after the cursor."""
    query = _filtered(select(Incident), filters)
    descending = sort.startswith("-")
    column = Incident.created_at if sort == "-created_at" else Incident.sla_due_at
    if cursor:
        when, number = decode_cursor(cursor)
        if descending:
            query = query.where(column <= when, or_(column < when, and_(column == when, Incident.number < number)))
        else:
            query = query.where(column >= when, or_(column > when, and_(column == when, Incident.number > number)))
    order = (column.desc(), Incident.number.desc()) if descending else (column.asc(), Incident.number.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([getattr(last, column.key), last.number])
    return Page(items=items, next_cursor=next_cursor)


def _filtered(query: Select, filters: IncidentFilter) -> Select:
    """Apply the equality filters that were given."""
    for name in ("status", "containment", "account_id", "queue"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Incident, name) == value)
    if filters.active_only:
        query = query.where(Incident.status.in_(ACTIVE_STATUSES))
    return query


def get_incident(session: Session, *, incident_id) -> Incident:
    """Load one incident by its public id."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id))
    if incident is None:
        raise NotFound("no such incident")
    return incident
