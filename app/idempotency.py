"""Idempotency-Key for retried POSTs: same key + same body → the first answer; other body → 422; in flight → 409."""
from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Response, make_response, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import FieldCipher, utcnow
from kernel.errors import Conflict, DomainError, InvalidInput
from app.extensions import runtime
from incidents.audit import canonical_json
from app.idempotency_record import IdempotencyRecord, transition

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")
RETENTION = timedelta(hours=24)
# A claim left by a crashed request stops blocking retries after this long.
STALE_CLAIM = timedelta(seconds=60)
REPLAYED_HEADERS = ("Location", "Content-Type")


class IdempotencyMismatch(DomainError):
    """The key was used with another body."""

    status, slug, title = 422, "idempotency-mismatch", "Idempotency key reused with another body"


class InFlight(Conflict):
    """The first request with this key has not finished."""

    slug, title = "in-flight", "The original request is still in flight"


def idempotent(scope: str) -> Callable:
    """Decorate a POST view so an Idempotency-Key header makes retries safe."""
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get("Idempotency-Key")
            if key is None:
                return view(*args, **kwargs)
            if not KEY_PATTERN.fullmatch(key):
                raise InvalidInput("Idempotency-Key", "must be 1-255 of A-Z a-z 0-9 _ . : -")
            return _run_once(scope, key, lambda: make_response(view(*args, **kwargs)))
        return wrapper
    return decorator


def _run_once(scope: str, key: str, call: Callable[[], Response]) -> Response:
    """Claim the key, run the view, keep a successful answer; release the claim otherwise."""
    body_hash = request_fingerprint()
    with runtime().sessions() as session:
        stored = claim(session, scope=scope, key=key, request_hash=body_hash)
        if stored is not None:
            return stored
    try:
        response = call()
    except BaseException:
        _release(scope, key)
        raise
    with runtime().sessions() as session:
        if 200 <= response.status_code < 300:
            remember(session, scope=scope, key=key, response=response)
        else:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.scope == scope,
                                                            IdempotencyRecord.key == key))
            session.commit()
    return response


def request_fingerprint() -> str:
    """Hash of the body as data (key order and spacing do not matter), raw bytes if it is not JSON."""
    parsed = request.get_json(silent=True)
    material = canonical_json(parsed).encode() if parsed is not None else request.get_data()
    return hashlib.sha256(material).hexdigest()


def claim(session: Session, *, scope: str, key: str, request_hash: str,
          now: datetime | None = None) -> Response | None:
    """Take the key for this request (None), or answer from the first use of it."""
    now = now or utcnow()
    record = session.get(IdempotencyRecord, (scope, key))
    if record is not None and record.expires_at <= now:
        session.delete(record)
        session.flush()
        record = None
    if record is None:
        try:
            session.add(IdempotencyRecord(scope=scope, key=key, request_hash=request_hash,
                                          created_at=now, expires_at=now + RETENTION))
            session.commit()
            return None
        except IntegrityError:
            session.rollback()
            record = session.get(IdempotencyRecord, (scope, key))
    return _answer_existing(session, record, request_hash, now)


def _answer_existing(session: Session, record: IdempotencyRecord, request_hash: str,
                     now: datetime) -> Response | None:
    """Replay, refuse as mismatch, or refuse as in flight."""
    if record.request_hash != request_hash:
        raise IdempotencyMismatch("this Idempotency-Key was used with a different body")
    if record.status == "done":
        body = FieldCipher.active().decrypt(record.response_body)
        response = Response(body, status=record.response_status)
        for name, value in (record.response_headers or {}).items():
            response.headers[name] = value
        response.headers["Idempotent-Replayed"] = "true"
        return response
    if now - record.created_at < STALE_CLAIM:
        raise InFlight("the first request with this Idempotency-Key is still being processed")
    record.created_at = now
    session.commit()
    return None


def remember(session: Session, *, scope: str, key: str, response: Response) -> None:
    """Keep the answer (encrypted: it may carry a token shown once), unless one is kept already: a retry that
    took over a stale claim may finish first, and replays give the first answer kept, never a later one."""
    record = session.get(IdempotencyRecord, (scope, key))
    if record is None or record.status == "done":  # released or answered meanwhile: what is kept stands
        session.rollback()
        return
    transition(record, "done", response_status=response.status_code,
               response_body=FieldCipher.active().encrypt(response.get_data(as_text=True)),
               response_headers={name: response.headers[name] for name in REPLAYED_HEADERS
                                 if name in response.headers})
    session.commit()


def _release(scope: str, key: str) -> None:
    """Drop a claim whose request failed, so a corrected retry may run."""
    with runtime().sessions() as session:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.scope == scope,
                                                        IdempotencyRecord.key == key))
        session.commit()


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete answers older than the retention period; the worker calls this."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow())))
    session.commit()
    return result.rowcount or 0
