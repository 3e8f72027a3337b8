"""Settings from the environment (API.md "Settings"), with defaults for the embedded setup."""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_WEBHOOK_SECRET = "lockdesk-demo-webhook-secret"
DEFAULT_SENDER = "Lockdesk <security@lockdesk.invalid>"  # MAIL_FROM when none is given

T = TypeVar("T")


def _int(name: str, default: int) -> int:
    """An integer setting."""
    return int(os.environ.get(name, default))


def _json(name: str, default: Any) -> Any:
    """A JSON setting."""
    raw = os.environ.get(name)
    return json.loads(raw) if raw else default


def _float(name: str, default: float) -> float:
    """A number setting."""
    return float(os.environ.get(name, default))


def from_environment(instance_path: str) -> dict[str, Any]:
    """Read every setting; anything not given gets the embedded default."""
    env = os.environ.get
    sqlite_path = Path(instance_path) / "lockdesk.sqlite"
    return {
        "LOCKDESK_ENV": env("LOCKDESK_ENV", "production"),
        "DATABASE_URL": env("DATABASE_URL", f"sqlite:///{sqlite_path}"),
        "SECRET_KEY": env("SECRET_KEY"),
        "FIELD_ENCRYPTION_KEY": env("FIELD_ENCRYPTION_KEY"),
        "SIGNING_KEY": env("SIGNING_KEY"),
        "AUDIT_CHECKPOINT_SECONDS": _float("AUDIT_CHECKPOINT_SECONDS", 300.0),
        "EXCHANGE_ADAPTER": env("EXCHANGE_ADAPTER", "local"),
        "EXCHANGE_API_BASE": env("EXCHANGE_API_BASE"),
        "EXCHANGE_API_KEY": env("EXCHANGE_API_KEY"),
        "EXCHANGE_API_SECRET": env("EXCHANGE_API_SECRET"),
        "EXCHANGE_CONNECT_TIMEOUT": _float("EXCHANGE_CONNECT_TIMEOUT", 2.0),
        "EXCHANGE_READ_TIMEOUT": _float("EXCHANGE_READ_TIMEOUT", 5.0),
        "EXCHANGE_MAX_ATTEMPTS": _int("EXCHANGE_MAX_ATTEMPTS", 3),
        "EXCHANGE_BUDGET_SECONDS": _float("EXCHANGE_BUDGET_SECONDS", 10.0),
        "EXCHANGE_BREAKER_FAILURES": _int("EXCHANGE_BREAKER_FAILURES", 5),
        "EXCHANGE_BREAKER_RESET_SECONDS": _float("EXCHANGE_BREAKER_RESET_SECONDS", 30.0),
        "DISPATCH_LEASE_SECONDS": _float("DISPATCH_LEASE_SECONDS", 60.0),
        "DISPATCH_BACKOFF_BASE_SECONDS": _float("DISPATCH_BACKOFF_BASE_SECONDS", 0.5),
        "DISPATCH_BACKOFF_CAP_SECONDS": _float("DISPATCH_BACKOFF_CAP_SECONDS", 300.0),
        "DISPATCH_BATCH_SIZE": _int("DISPATCH_BATCH_SIZE", 50),
        "WORKER_POLL_SECONDS": _float("WORKER_POLL_SECONDS", 0.5),
        "WORKER_CONCURRENCY": _int("WORKER_CONCURRENCY", 8),
        "CELERY_QUEUE": env("CELERY_QUEUE", "lockdesk"),
        "ANOMALY_WEBHOOK_SECRET": env("ANOMALY_WEBHOOK_SECRET"),
        "SMS_GATEWAY": env("SMS_GATEWAY", "log"),
        "SMS_LOG_PATH": env("SMS_LOG_PATH"),
        "TWILIO_ACCOUNT_SID": env("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": env("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM": env("TWILIO_FROM"),
        "TWILIO_API_BASE": env("TWILIO_API_BASE", "https://api.twilio.com"),
        "SMTP_URL": env("SMTP_URL"),
        "MAIL_FROM": env("MAIL_FROM", DEFAULT_SENDER),
        "ETH_RPC_URL": env("ETH_RPC_URL"),
        "EVM_RPC_URLS": _json("EVM_RPC_URLS", {}),
        "ESPLORA_URL": env("ESPLORA_URL"),
        "TRON_API_URL": env("TRON_API_URL"),
        "TRON_API_KEY": env("TRON_API_KEY"),
        "STABLECOIN_CONTRACTS": _json("STABLECOIN_CONTRACTS", {}),
        "ETHERSCAN_API_URL": env("ETHERSCAN_API_URL"),
        "ETHERSCAN_API_KEY": env("ETHERSCAN_API_KEY"),
        "CELERY_BROKER_URL": env("CELERY_BROKER_URL"),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
        "REPORT_RATE_LIMIT": env("REPORT_RATE_LIMIT", "10 per minute;100 per hour"),
        "REPORT_ACCOUNT_RATE_LIMIT": env("REPORT_ACCOUNT_RATE_LIMIT", "5 per minute;30 per hour"),
        "CASE_LINK_RATE_LIMIT": env("CASE_LINK_RATE_LIMIT", "3 per hour"),
        "FACTOR_TRUST_DAYS": _int("FACTOR_TRUST_DAYS", 7),
        "HIGH_RISK_SCORE": _int("HIGH_RISK_SCORE", 80),
        "HIGH_LOSS_AMOUNT": env("HIGH_LOSS_AMOUNT", "10000"),
        "UNFREEZE_MIN_WAIT_MINUTES": _int("UNFREEZE_MIN_WAIT_MINUTES", 120),
        "WITHDRAWAL_COOLDOWN_HOURS": _int("WITHDRAWAL_COOLDOWN_HOURS", 24),
        "SLA_HOURS": _int("SLA_HOURS", 24),
        "EVM_FINALITY_DEPTH": _int("EVM_FINALITY_DEPTH", 12),
        "ANOMALY_WEIGHTS": _json("ANOMALY_WEIGHTS", {}),
        "ANOMALY_WATCH_THRESHOLD": _int("ANOMALY_WATCH_THRESHOLD", 30),
        "ANOMALY_FREEZE_THRESHOLD": _int("ANOMALY_FREEZE_THRESHOLD", 80),
        "ANOMALY_WINDOW_MINUTES": _int("ANOMALY_WINDOW_MINUTES", 24 * 60),
        "WEBHOOK_TOLERANCE_SECONDS": _int("WEBHOOK_TOLERANCE_SECONDS", 300),
        "FREEZE_WAIT_MS": _int("FREEZE_WAIT_MS", 2000),
        "WORKER_ENABLED": env("WORKER_ENABLED", "1") not in ("0", "false", "no"),
        "OUTBOUND_WEBHOOK_URLS": _json("OUTBOUND_WEBHOOK_URLS", []),
        "OUTBOUND_WEBHOOK_SECRET": env("OUTBOUND_WEBHOOK_SECRET"),
        "RISK_QUEUE_EMAIL": env("RISK_QUEUE_EMAIL"),
        "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "EXCHANGE_NAME": env("EXCHANGE_NAME", "Lockdesk"),
        "PEER_EXCHANGES": _json("PEER_EXCHANGES", {}),
        "PEER_ACK_HOURS": _float("PEER_ACK_HOURS", 1.0),
        "PEER_CHAINS": [c.strip() for c in env("PEER_CHAINS", "ethereum,bitcoin").split(",") if c.strip()],
        "MAIL_LOG_PATH": env("MAIL_LOG_PATH"),
        "REPUDIATION_LINK_DAYS": _int("REPUDIATION_LINK_DAYS", 7),
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", 0),
        "LOG_LEVEL": env("LOG_LEVEL", "INFO"),
        "BENCH_FLOOR": env("BENCH_FLOOR"),
    }


def setting(config: Mapping[str, Any], name: str, default: T, cast: Callable[[Any], T] | None = None) -> T:
    """A setting from the app config, else the environment, else the default."""
    value = config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    return (cast or type(default))(value)
