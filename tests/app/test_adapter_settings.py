"""Adapter settings that cannot work stop the start with the setting named (README, Settings), instead of
failing on the first report or the first text message."""
import re

import pytest

from app import create_app
from app.adapters import build_explorers, build_mailer
from chain.explorers.esplora import EsploraExplorer
from chain.explorers.evm import EvmExplorer
from chain.explorers.tron import TronExplorer
from incidents.conversation.store import FileBlobStore
from incidents.exchange.http import HttpExchange
from incidents.mail.log import LogMailer
from incidents.mail.smtp import SmtpMailer
from verification.sms.twilio import TwilioSmsGateway


@pytest.fixture
def start(settings, instance, monkeypatch):
    """Start the application with some settings changed; stop it after the test."""
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    started = []

    def run(**changes):
        application = create_app({**settings, **changes})
        started.append(application)
        return application.extensions["lockdesk"].ports
    yield run
    for application in started:
        application.extensions["lockdesk"].engine.dispose()


@pytest.mark.parametrize(("changes", "refusal"), [
    ({"EXCHANGE_ADAPTER": "ftp"}, "EXCHANGE_ADAPTER must be local or http, not 'ftp'"),
    ({"EXCHANGE_ADAPTER": "http", "EXCHANGE_API_BASE": "https://exchange.example"},
     "EXCHANGE_ADAPTER=http needs EXCHANGE_API_KEY, EXCHANGE_API_SECRET"),
    ({"SMS_GATEWAY": "pigeon"}, "SMS_GATEWAY must be log or twilio, not 'pigeon'"),
    ({"SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC123"}, "SMS_GATEWAY=twilio needs TWILIO_AUTH_TOKEN, TWILIO_FROM"),
])
def test_an_adapter_that_cannot_work_stops_the_start_naming_the_setting(start, changes, refusal):
    with pytest.raises(ValueError, match=re.escape(refusal)):
        start(**changes)


def test_complete_settings_build_the_http_exchange_and_the_twilio_gateway(start):
    ports = start(EXCHANGE_ADAPTER="http", EXCHANGE_API_BASE="https://exchange.example", EXCHANGE_API_KEY="key",
                  EXCHANGE_API_SECRET="secret", SMS_GATEWAY="twilio",
                  TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="token", TWILIO_FROM="+15550100")
    assert isinstance(ports.exchange, HttpExchange) and isinstance(ports.sms, TwilioSmsGateway)


@pytest.mark.parametrize(("changes", "refusal"), [
    ({"ATTACHMENT_STORE": "floppy"}, "ATTACHMENT_STORE must be file or s3, not 'floppy'"),
    ({"ATTACHMENT_STORE": "s3"}, "ATTACHMENT_STORE=s3 needs S3_BUCKET"),
    ({"EVM_RPC_URLS": "polygon=http://127.0.0.1:2"}, "EVM_RPC_URLS must be a JSON object of chain name to URL"),
    ({"EVM_RPC_URLS": '["http://127.0.0.1:2"]'}, "EVM_RPC_URLS must be a JSON object of chain name to URL"),
])
def test_a_store_or_explorer_that_cannot_work_stops_the_start_naming_the_setting(start, monkeypatch, changes,
                                                                                  refusal):
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(ValueError, match=re.escape(refusal)):
        start(**changes)


def test_explorers_are_built_from_settings_chain_by_chain():
    explorers = build_explorers({"ETH_RPC_URL": "http://127.0.0.1:1",
                                 "EVM_RPC_URLS": '{"polygon": "http://127.0.0.1:2"}',
                                 "ESPLORA_URL": "http://127.0.0.1:3", "TRON_API_URL": "http://127.0.0.1:4"})
    assert sorted(explorers) == ["bitcoin", "ethereum", "polygon", "tron"]
    assert isinstance(explorers["polygon"], EvmExplorer) and explorers["polygon"].native_asset == "POL"
    assert explorers["ethereum"].native_asset == "ETH"
    assert isinstance(explorers["bitcoin"], EsploraExplorer) and isinstance(explorers["tron"], TronExplorer)
    assert build_explorers({}) == {}


def test_the_mailer_is_smtp_when_smtp_url_is_set_and_the_log_otherwise(tmp_path):
    assert isinstance(build_mailer({"SMTP_URL": "smtp://127.0.0.1:2525"}), SmtpMailer)
    assert isinstance(build_mailer({"MAIL_LOG_PATH": str(tmp_path / "mail.jsonl")}), LogMailer)


def test_the_adapters_built_once_are_the_ones_the_rest_of_the_application_uses(start):
    ports = start(ETH_RPC_URL="http://127.0.0.1:9")
    assert ports.notification_ports.mailer is ports.mailer and ports.notification_ports.sms is ports.sms
    assert ports.tracer.explorers is ports.explorers and set(ports.explorers) == {"ethereum"}
    assert isinstance(ports.blob_store, FileBlobStore)
