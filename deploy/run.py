"""The one definition of how each part of a deployment runs: `python -m deploy.run PART [extra args]`.

The image's entry point and `make stack` (which CI's end-to-end test starts) both exec these, so what
CI proves is the command the image runs. Tuning comes from the environment: BIND, WEB_CONCURRENCY,
WEB_THREADS, CELERY_QUEUE, CELERY_CONCURRENCY, CELERY_BEAT_SCHEDULE.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable

FLASK = ["flask", "--app", "app"]
CELERY = ["celery", "-A", "app.jobs:celery_app"]


def _env(name: str, default: str) -> str:
    """A tuning setting."""
    return os.environ.get(name) or default


PARTS: dict[str, Callable[[], list[str]]] = {
    # Migrations are their own step, run once per release before the new version serves (never on every start).
    "migrate": lambda: [*FLASK, "db", "upgrade"],
    # gthread: a report waits on the exchange inside the request; threads keep the other requests moving.
    "web": lambda: ["gunicorn", "-c", "python:app.gunicorn_config", "--worker-class", "gthread",
                    "--workers", _env("WEB_CONCURRENCY", "2"), "--threads", _env("WEB_THREADS", "8"),
                    "--bind", _env("BIND", "0.0.0.0:8000"), "app:create_app()"],  # access lines: JSON, by the config
    # The outbox loop without Celery.
    "worker": lambda: [*FLASK, "worker"],
    "celery-worker": lambda: [*CELERY, "worker", "-Q", _env("CELERY_QUEUE", "lockdesk"), "--pool", "threads",
                              "--concurrency", _env("CELERY_CONCURRENCY", "4"), "--without-gossip",
                              "--without-mingle", "-l", "INFO"],
    "celery-beat": lambda: [*CELERY, "beat", "-s", _env("CELERY_BEAT_SCHEDULE", "/tmp/celerybeat-schedule"),
                            "-l", "INFO"],
}


def command(part: str, extra: list[str]) -> list[str]:
    """The argv of a part, with the caller's extra arguments after it (gunicorn's app stays last)."""
    argv = PARTS[part]()
    if part == "web":
        return [*argv[:-1], *extra, argv[-1]]
    return [*argv, *extra]


def main() -> None:
    """Replace this process with the part (so signals reach it directly)."""
    if len(sys.argv) < 2 or sys.argv[1] not in PARTS:
        sys.exit(f"usage: python -m deploy.run {{{','.join(PARTS)}}} [arguments…]")
    argv = command(sys.argv[1], sys.argv[2:])
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
