"""gunicorn settings Lockdesk wants from whoever serves it: `gunicorn -c python:app.gunicorn_config …`.

Only process hooks live here; bind, workers and threads stay on the command line.
"""
from __future__ import annotations

from app.heap import freeze_startup_objects


def post_worker_init(_worker) -> None:
    """Once a worker has built the application, keep its start-up objects out of full collections."""
    freeze_startup_objects()
