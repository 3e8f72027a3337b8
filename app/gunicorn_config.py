"""gunicorn settings Lockdesk wants from whoever serves it: `gunicorn -c python:app.gunicorn_config …`.

Only process hooks and logging live here; bind, workers and threads stay on the command line.
"""
from __future__ import annotations

import os

from app.heap import freeze_startup_objects

# gunicorn's own error and access lines go through the root logger, which writes JSON (app.observability).
logconfig_dict = {"version": 1, "disable_existing_loggers": False, "root": {"level": "INFO", "handlers": []},
                  "loggers": {"gunicorn.error": {"level": "INFO", "propagate": True, "handlers": []},
                              "gunicorn.access": {"level": "INFO", "propagate": True, "handlers": []}}}
# The answer's X-Request-Id ties an access line to the application's lines of the same request.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


def on_starting(server) -> None:
    """In the master, before any worker forks: JSON logs, the worker count, the embedded secrets made once."""
    from flask import Flask

    from app import config, production, secrets
    from app.observability import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    # Production mode refuses in-memory rate limits when more than one process serves requests.
    os.environ["LOCKDESK_WEB_PROCESSES"] = str(server.cfg.workers)
    instance = Flask("app", instance_path=os.environ.get("LOCKDESK_INSTANCE_PATH") or None).instance_path
    settings = config.from_environment(instance)
    if not production.is_production(settings):
        # Generated once here, so the workers all read the same file rather than race to write it.
        secrets.fill_missing(settings, instance)


def post_worker_init(_worker) -> None:
    """Once a worker has built the application, keep its start-up objects out of full collections."""
    freeze_startup_objects()
