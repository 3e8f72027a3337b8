"""POST /api/v1/_bench/floor: the bench's floor, registered only when BENCH_FLOOR is set.

The same stack as intake (gunicorn, Flask, the request session, the database) doing the least a
committed write can: one INSERT of a tiny row and one commit. The bench compares intake to it.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from app.db import utcnow
from app.extensions import get_session

blp = Blueprint("bench_floor", __name__, url_prefix="/api/v1/_bench")

FLOOR_ROWS = sa.table("bench_floor", sa.column("created_at"))


@blp.post("/floor")
def post_floor():
    """Insert one tiny row and commit."""
    session = get_session()
    session.execute(sa.insert(FLOOR_ROWS).values(created_at=utcnow()))
    session.commit()
    return jsonify(ok=True), 201
