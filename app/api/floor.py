"""The bench's reference endpoints, registered only when BENCH_FLOOR is set.

Both run on the same stack as intake (gunicorn, Flask, the request session, the database):

- POST /api/v1/_bench/floor does the least a committed write can: one INSERT of a tiny row and one commit.
  The bench compares intake to it.
- POST /api/v1/_bench/bare-report does the least a report that freezes can: the report and its freeze
  command on record (one INSERT of two tiny rows, one commit), the signed freeze call to the exchange, the
  answer on record (one UPDATE, one commit). No validation, rate limit, audit trail, encryption or
  follow-ups. It is the ceiling the bench measures intake against: what any intake, however lean, has to pay
  on this stack, the exchange's own work on the shared cores included.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from app.db import utcnow
from kernel.errors import InvalidInput
from app.extensions import get_session, runtime

blp = Blueprint("bench_floor", __name__, url_prefix="/api/v1/_bench")

FLOOR_ROWS = sa.table("bench_floor", sa.column("id"), sa.column("created_at"))
_RECORD_TWO = (sa.insert(FLOOR_ROWS)
               .values([{"created_at": sa.bindparam("report_at")}, {"created_at": sa.bindparam("command_at")}])
               .returning(FLOOR_ROWS.c.id))
_RECORD_ANSWER = sa.update(FLOOR_ROWS).where(FLOOR_ROWS.c.id == sa.bindparam("row_id")).values(
    created_at=sa.bindparam("at"))


@blp.post("/floor")
def post_floor():
    """Insert one tiny row and commit."""
    session = get_session()
    session.execute(sa.insert(FLOOR_ROWS).values(created_at=utcnow()))
    session.commit()
    return jsonify(ok=True), 201


@blp.post("/bare-report")
def post_bare_report():
    """Record a report and its command, freeze the account at the exchange, record the answer; the answer
    has the report's shape (`incident.containment`) so the bench's load generator counts it the same way."""
    body = request.get_json(silent=True)
    account_id = body.get("account_id") if isinstance(body, dict) else None
    if not isinstance(account_id, str) or not 0 < len(account_id) <= 64:
        raise InvalidInput("account_id", "an account id of 1 to 64 characters is required")
    session = get_session()
    now = utcnow()
    command_id = max(session.execute(_RECORD_TWO, {"report_at": now, "command_at": now}).scalars())
    session.commit()
    reference = uuid.uuid4().hex
    change = runtime().ports.exchange.freeze(account_id, scope="full", reason="bench ceiling",
                                                reference=reference, idempotency_key=f"bare-{reference}")
    session.execute(_RECORD_ANSWER, {"row_id": command_id, "at": change.changed_at})
    session.commit()
    return jsonify(incident={"id": reference, "containment": change.state}), 201
