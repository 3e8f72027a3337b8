"""Liveness, readiness and metrics, outside the versioned API."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import get_session, runtime
from app.observability import metrics_response

blp = Blueprint("operations", __name__)


@blp.get("/healthz")
def healthz():
    """The process answers."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """The database answers and the background worker is alive."""
    checks = {"database": _database_ok(), "worker": _worker_ok()}
    ready = all(checks.values())
    return jsonify(status="ready" if ready else "not-ready", checks=checks), 200 if ready else 503


@blp.get("/metrics")
def metrics():
    """Prometheus exposition."""
    return metrics_response()


def _database_ok() -> bool:
    """One round trip to the database."""
    try:
        get_session().execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means not ready; the reason is in the database log
        return False


def _worker_ok() -> bool:
    """The worker port says it is alive (no worker configured counts as ready: nothing to wait for)."""
    worker = runtime().ports.worker
    return worker is None or worker.is_alive()
