"""The one place that reads the settings, picks the outside-system adapters and puts them in the ports.

Exchange (EXCHANGE_ADAPTER), SMS gateway (SMS_GATEWAY), mailer (SMTP_URL), chain explorers (ETH_RPC_URL,
EVM_RPC_URLS, ESPLORA_URL, ETHERSCAN_API_URL/KEY, TRON_API_URL/KEY) and attachment store (ATTACHMENT_STORE).
No other module builds one of them from the settings; the rest of the application takes them from the ports.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from app.config import DEFAULT_SENDER, setting
from chain.explorers.esplora import EsploraExplorer
from chain.explorers.etherscan import EtherscanClient
from chain.explorers.evm import EvmExplorer, native_asset
from chain.explorers.http import HttpClient
from chain.explorers.port import Explorer
from chain.explorers.tron import TronExplorer
from exchange_sim.local import LocalExchange
from incidents.conversation.store import BlobStore, FileBlobStore
from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.http import HttpExchange, HttpSettings
from incidents.exchange.port import ExchangePort
from incidents.mail import Mailer
from incidents.mail.log import LogMailer
from incidents.mail.smtp import SmtpMailer
from verification.sms import SmsGateway
from verification.sms.log import LogSmsGateway
from verification.sms.twilio import TwilioSmsGateway

EXCHANGE_DEFAULTS: dict[str, Any] = {
    "EXCHANGE_CONNECT_TIMEOUT": 2.0,
    "EXCHANGE_READ_TIMEOUT": 5.0,
    "EXCHANGE_MAX_ATTEMPTS": 3,
    "EXCHANGE_BUDGET_SECONDS": 10.0,
    "EXCHANGE_BREAKER_FAILURES": 5,
    "EXCHANGE_BREAKER_RESET_SECONDS": 30.0,
}


# --- the exchange ---------------------------------------------------------------------------------------------

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


# --- text messages and mail -----------------------------------------------------------------------------------

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


def build_mailer(config: Mapping[str, Any]) -> Mailer:
    """SMTP when SMTP_URL is set, else the log transport (MAIL_LOG_PATH or stderr)."""
    url = config.get("SMTP_URL")
    sender = config.get("MAIL_FROM") or DEFAULT_SENDER
    if url:
        return SmtpMailer(url, sender=sender, timeout=setting(config, "SMTP_TIMEOUT_SECONDS", 10.0))
    return LogMailer(path=setting(config, "MAIL_LOG_PATH", "") or None)


# --- chain explorers ------------------------------------------------------------------------------------------

def build_explorers(config: Mapping[str, Any]) -> dict[str, Explorer]:
    """Explorers for every chain the settings configure, by chain name (none configured: an empty dict).

    ETH_RPC_URL and EVM_RPC_URLS (EVM JSON-RPC), ESPLORA_URL (bitcoin), ETHERSCAN_API_URL/KEY (history
    for ethereum), TRON_API_URL/TRON_API_KEY (a TronGrid-compatible API).
    """
    etherscan = None
    if config.get("ETHERSCAN_API_URL"):
        etherscan = EtherscanClient.for_url(config["ETHERSCAN_API_URL"], config.get("ETHERSCAN_API_KEY"))
    finality = int(config.get("EVM_FINALITY_DEPTH", 12))
    explorers: dict[str, Explorer] = {
        name: EvmExplorer.over_http(url, chain=name, native_asset=native_asset(name), finality_depth=finality,
                                    etherscan=etherscan if name == "ethereum" else None)
        for name, url in evm_urls(config).items()}
    if config.get("ESPLORA_URL"):
        explorers["bitcoin"] = EsploraExplorer(HttpClient(config["ESPLORA_URL"]))
    if config.get("TRON_API_URL"):
        explorers["tron"] = TronExplorer.over_http(config["TRON_API_URL"], config.get("TRON_API_KEY"))
    return explorers


def evm_urls(config: Mapping[str, Any]) -> dict[str, str]:
    """ETH_RPC_URL for ethereum plus EVM_RPC_URLS (a JSON object name -> URL, or a dict)."""
    urls: dict[str, str] = {}
    extra = config.get("EVM_RPC_URLS") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError as exc:
            raise ValueError("EVM_RPC_URLS must be a JSON object of chain name to URL") from exc
    if not isinstance(extra, dict):
        raise ValueError("EVM_RPC_URLS must be a JSON object of chain name to URL")
    urls.update({str(name).lower(): str(url) for name, url in extra.items() if url})
    if config.get("ETH_RPC_URL"):
        urls["ethereum"] = config["ETH_RPC_URL"]
    return urls


# --- attachments ----------------------------------------------------------------------------------------------

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
    """Build every adapter of this application once and put each in its port."""
    runtime = app.extensions["lockdesk"]
    ports = runtime.ports
    ports.exchange = build_exchange(app.config, runtime.sessions)
    ports.sms = build_sms_gateway(app.config)
    ports.mailer = build_mailer(app.config)
    ports.explorers = build_explorers(app.config)
    ports.blob_store = build_blob_store(app.config, app.instance_path)
