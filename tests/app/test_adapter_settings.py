"""Adapter settings that cannot work stop the start with the setting named (README, Settings), instead of
failing on the first report or the first text message."""
import re

import pytest

from app import create_app
from incidents.exchange.http import HttpExchange
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
    assert isinstance(ports["exchange"], HttpExchange) and isinstance(ports["sms"], TwilioSmsGateway)
