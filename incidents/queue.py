"""The staff queue: filtered incident lists with keyset pagination (page time independent of depth)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.db import InvalidInput, NotFound
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


def encode_cursor(values: list) -> str:
    """An opaque cursor for the position after the given sort key."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def cursor_values(cursor: str) -> list:
    """The two values of a sort key a cursor carries; a damaged one names the `cursor` field."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor", "is not a cursor this list gave out") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise InvalidInput("cursor", "is not a cursor this list gave out")
    return values


def decode_cursor(cursor: str) -> list:
    """Read an incident list's cursor back (a sort value and an incident number)."""
    values = cursor_values(cursor)
    if not isinstance(values[1], int):
        raise InvalidInput("cursor", "is not a cursor this list gave out")
    return values


def list_incidents(session: Session, *, filters: IncidentFilter, sort: str = "sla_due_at",
                   limit: int = 50, cursor: str | None = None) -> Page:
    """A page of incidents sorted by SLA due time (or newest first), after the cursor."""
    query = _filtered(select(Incident), filters)
    descending = sort.startswith("-")
    column = Incident.created_at if sort == "-created_at" else Incident.sla_due_at
    if cursor:
        value, number = decode_cursor(cursor)
        when = _parse_time(value)
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
        next_cursor = encode_cursor([getattr(last, column.key).isoformat(), last.number])
    return Page(items=items, next_cursor=next_cursor)


def _filtered(query: Select, filters: IncidentFilter) -> Select:
    """Apply the equality filters that were given."""
    for name in ("status", "containment", "account_id", "queue"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Incident, name) == value)
    return query


def _parse_time(value: str) -> datetime:
    """The time part of a cursor."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("cursor", "is not a cursor this list gave out") from exc


def get_incident(session: Session, *, incident_id) -> Incident:
    """Load one incident by its public id."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id))
    if incident is None:
        raise NotFound("no such incident")
    return incident
