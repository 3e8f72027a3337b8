"""Production mode (API.md "Production mode"): a start that would run on demo parts stops, naming them.

`LOCKDESK_ENV` is `production` unless it says `development` (what `make run`, the tests and the
bench set). In production every setting below that still points at a demo part is refused at once,
all of them in one message, so a deployment is never quietly half a demo.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

DEVELOPMENT, PRODUCTION = "development", "production"
ENVIRONMENTS = (DEVELOPMENT, PRODUCTION)
TRUE = ("1", "true", "yes")


class ProductionRefused(RuntimeError):
    """The settings name demo parts a production start must not run on."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("LOCKDESK_ENV=production refuses to start:\n" + "\n".join(f"  - {p}" for p in problems)
                         + "\n(set LOCKDESK_ENV=development to run the demo setup)")


def environment(config: Mapping[str, Any]) -> str:
    """`development` or `production` (the default); anything else is a mistake worth stopping for."""
    value = str(config.get("LOCKDESK_ENV") or PRODUCTION).strip().lower()
    if value not in ENVIRONMENTS:
        raise ValueError(f"LOCKDESK_ENV must be development or production, not {value!r}")
    return value


def is_production(config: Mapping[str, Any]) -> bool:
    """Whether this process runs in production mode."""
    return environment(config) == PRODUCTION


def web_processes(config: Mapping[str, Any]) -> int:
    """How many processes serve requests: gunicorn's worker count (set by its hook) or WEB_CONCURRENCY."""
    raw = os.environ.get("LOCKDESK_WEB_PROCESSES") or os.environ.get("WEB_CONCURRENCY")
    return int(raw) if raw else 1


def problems(config: Mapping[str, Any], *, generated: Iterable[str]) -> list[str]:
    """Each reason a production start must stop, naming its setting; empty when none.

    `generated` names the secrets (app.secrets.GENERATORS: SECRET_KEY, FIELD_ENCRYPTION_KEY,
    ANOMALY_WEBHOOK_SECRET, SIGNING_KEY) the environment did not give: a generated one lives in one
    container's instance folder only, so replicas disagree and a restart loses what it encrypted or signed.
    """
    found: list[str] = []
    if (config.get("EXCHANGE_ADAPTER") or "local") == "local":
        found.append("EXCHANGE_ADAPTER=local: the embedded exchange simulator would be frozen, not the real "
                     "exchange (set EXCHANGE_ADAPTER=http and EXCHANGE_API_BASE/KEY/SECRET)")
    if (config.get("SMS_GATEWAY") or "log") == "log":
        found.append("SMS_GATEWAY=log: verification codes would be written in clear text to a log "
                     "(set SMS_GATEWAY=twilio)")
    if not config.get("SMTP_URL"):
        found.append("SMTP_URL is not set: mail would be written to the log (MAIL_LOG_PATH or stderr) instead of sent")
    for name in sorted(set(generated)):
        found.append(f"{name} was generated into the instance folder, not given: each container would have "
                     f"its own and lose it on restart (set {name})")
    if str(config.get("DATABASE_URL") or "").startswith("sqlite"):
        found.append("DATABASE_URL is SQLite: production needs PostgreSQL (postgresql+psycopg://…)")
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if storage.startswith("memory://") and web_processes(config) > 1:
        found.append(f"RATELIMIT_STORAGE_URI={storage} with {web_processes(config)} processes: each process would "
                     "count on its own (set RATELIMIT_STORAGE_URI=redis://…)")
    if str(config.get("BENCH_FLOOR") or "").lower() in TRUE:
        found.append("BENCH_FLOOR is set: the bench's measuring endpoints must not be served")
    return found


def enforce(config: Mapping[str, Any], *, generated: Iterable[str]) -> None:
    """Stop a production start that names demo parts; nothing in development."""
    if not is_production(config):
        return
    found = problems(config, generated=generated)
    if found:
        raise ProductionRefused(found)
