"""The one place that picks the outside-system adapters from the settings and puts them in the ports."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from incidents.conversation.store import BlobStore, FileBlobStore
from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.http import HttpExchange, HttpSettings
from exchange_sim.local import LocalExchange
from incidents.exchange.port import ExchangePort
from verification.sms import SmsGateway
from verification.sms.log import LogSmsGateway
from verification.sms.twilio import TwilioSmsGateway

T = TypeVar("T")

EXCHANGE_DEFAULTS: dict[str, Any] = {
    "EXCHANGE_CONNECT_TIMEOUT": 2.0,
    "EXCHANGE_READ_TIMEOUT": 5.0,
    "EXCHANGE_MAX_ATTEMPTS": 3,
    "EXCHANGE_BUDGET_SECONDS": 10.0,
    "EXCHANGE_BREAKER_FAILURES": 5,
    "EXCHANGE_BREAKER_RESET_SECONDS": 30.0,
}


def setting(config: Mapping[str, Any], name: str, default: T, cast: Callable[[Any], T] | None = None) -> T:
    """A setting from the app config, else the environment, else the default."""
    value = config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    return (cast or type(default))(value)


def build_exchange(config: Mapping[str, Any], sessions: sessionmaker[Session]) -> ExchangePort:
    """The exchange adapter named by EXCHANGE_ADAPTER (`local` or `http`)."""
    kind = config.get("EXCHANGE_ADAPTER") or "local"
    if kind == "local":
        return LocalExchange(sessions)
    if kind == "http":
        breaker = CircuitBreaker(failure_threshold=_exchange_setting(config, "EXCHANGE_BREAKER_FAILURES"),
                                 reset_after=_exchange_setting(config, "EXCHANGE_BREAKER_RESET_SECONDS"))
        return HttpExchange(http_settings(config), breaker=breaker)
    raise ValueError(f"EXCHANGE_ADAPTER must be local or http, not {kind!r}")


def http_settings(config: Mapping[str, Any]) -> HttpSettings:
    """The signed REST client's settings; the base URL, key and secret are required."""
    required = ("EXCHANGE_API_BASE", "EXCHANGE_API_KEY", "EXCHANGE_API_SECRET")
    missing = [name for name in required if not config.get(name)]
    if missing:
        raise ValueError(f"EXCHANGE_ADAPTER=http needs {', '.join(missing)}")
    return HttpSettings(
        base_url=config["EXCHANGE_API_BASE"], api_key=config["EXCHANGE_API_KEY"],
        secret=config["EXCHANGE_API_SECRET"],
        connect_timeout=_exchange_setting(config, "EXCHANGE_CONNECT_TIMEOUT"),
        read_timeout=_exchange_setting(config, "EXCHANGE_READ_TIMEOUT"),
        max_attempts=_exchange_setting(config, "EXCHANGE_MAX_ATTEMPTS"),
        budget_seconds=_exchange_setting(config, "EXCHANGE_BUDGET_SECONDS"))


def _exchange_setting(config: Mapping[str, Any], name: str) -> Any:
    """An exchange tuning setting with its default."""
    return setting(config, name, EXCHANGE_DEFAULTS[name])


def build_sms_gateway(config: Mapping[str, Any]) -> SmsGateway:
    """The SMS gateway named by SMS_GATEWAY (`log` or `twilio`)."""
    kind = config.get("SMS_GATEWAY") or "log"
    if kind == "log":
        return LogSmsGateway(path=config.get("SMS_LOG_PATH") or None)
    if kind == "twilio":
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM") if not config.get(name)]
        if missing:
            raise ValueError(f"SMS_GATEWAY=twilio needs {', '.join(missing)}")
        return TwilioSmsGateway(account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
                                from_number=config["TWILIO_FROM"], api_base=config["TWILIO_API_BASE"])
    raise ValueError(f"SMS_GATEWAY must be log or twilio, not {kind!r}")


def build_blob_store(config: Mapping[str, Any], instance_path: str) -> BlobStore:
    """The attachment store named by ATTACHMENT_STORE (`file` under the instance folder, or `s3`)."""
    kind = setting(config, "ATTACHMENT_STORE", "file")
    if kind == "file":
        return FileBlobStore(os.path.join(instance_path, "attachments"))
    if kind == "s3":
        from incidents.conversation.s3 import S3BlobStore, S3Settings

        bucket = setting(config, "S3_BUCKET", "")
        if not bucket:
            raise ValueError("ATTACHMENT_STORE=s3 needs S3_BUCKET")
        return S3BlobStore(S3Settings(
            bucket=bucket, endpoint_url=setting(config, "S3_ENDPOINT_URL", "") or None,
            region=setting(config, "S3_REGION", "") or None,
            access_key_id=setting(config, "S3_ACCESS_KEY_ID", "") or None,
            secret_access_key=setting(config, "S3_SECRET_ACCESS_KEY", "") or None))
    raise ValueError(f"ATTACHMENT_STORE must be file or s3, not {kind!r}")


def init_app(app: Flask) -> None:
    """Build the adapters for this application and register them as ports."""
    runtime = app.extensions["lockdesk"]
    runtime.ports.exchange = build_exchange(app.config, runtime.sessions)
    runtime.ports.sms = build_sms_gateway(app.config)
    runtime.ports.blob_store = build_blob_store(app.config, app.instance_path)
