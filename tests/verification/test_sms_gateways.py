"""SMS adapters: the log gateway's JSON lines and the Twilio gateway against a real HTTP server."""
from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

import pytest

from verification.messages import resolve_language, sms_code_text
from verification.sms import SmsDeliveryFailed, mask_phone
from verification.sms.log import LogSmsGateway
from verification.sms.twilio import TwilioSmsGateway
from tests.verification.twilio_peer import FROM, SID, TOKEN, FakeTwilio



@pytest.fixture
def twilio_server():
    FakeTwilio.received, FakeTwilio.answer_status = [], 201
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_twilio_gateway_posts_the_form_with_basic_auth(twilio_server):
    """API.md: POST {base}/2010-04-01/Accounts/{sid}/Messages.json, basic auth, To/From/Body."""
    gateway = TwilioSmsGateway(account_sid=SID, auth_token=TOKEN, from_number=FROM, api_base=twilio_server)
    receipt = gateway.send(to="+15555550001", body="Lockdesk 验证码：123456")
    assert receipt.gateway == "twilio" and receipt.message_id == "SM" + "0" * 32
    assert FakeTwilio.received == [{"To": "+15555550001", "From": FROM, "Body": "Lockdesk 验证码：123456"}]


def test_twilio_gateway_turns_a_refusal_into_our_error_without_the_message(twilio_server):
    """Adapters convert vendor errors to our exceptions; the code never appears in the error."""
    FakeTwilio.answer_status = 400
    gateway = TwilioSmsGateway(account_sid=SID, auth_token=TOKEN, from_number=FROM, api_base=twilio_server)
    with pytest.raises(SmsDeliveryFailed) as caught:
        gateway.send(to="+1", body="code 987654")
    assert "21211" in caught.value.detail and "987654" not in caught.value.detail


def test_twilio_gateway_with_wrong_credentials_fails_cleanly(twilio_server):
    """A 401 from the vendor is a delivery failure, not a crash."""
    gateway = TwilioSmsGateway(account_sid=SID, auth_token="wrong", from_number=FROM, api_base=twilio_server)
    with pytest.raises(SmsDeliveryFailed, match="401"):
        gateway.send(to="+15555550001", body="x")
    assert FakeTwilio.received == []


def test_twilio_gateway_unreachable_is_our_error():
    """A connection refused (nothing listens) becomes SmsDeliveryFailed."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = TwilioSmsGateway(account_sid=SID, auth_token=TOKEN, from_number=FROM,
                               api_base=f"http://127.0.0.1:{port}", timeout=(1, 1))
    with pytest.raises(SmsDeliveryFailed, match="unreachable"):
        gateway.send(to="+15555550001", body="x")


def test_log_gateway_writes_one_json_line_per_message(tmp_path):
    """DESIGN.md §5: the embedded gateway writes JSON lines to SMS_LOG_PATH."""
    path = tmp_path / "sms.jsonl"
    clock = lambda: datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # noqa: E731
    gateway = LogSmsGateway(str(path), clock=clock)
    gateway.send(to="+15555550001", body="first")
    gateway.send(to="+15555550002", body="第二条")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["to"], line["body"]) for line in lines] == [("+15555550001", "first"), ("+15555550002", "第二条")]
    assert lines[0]["at"] == "2026-11-21T12:00:00Z" and lines[0]["gateway"] == "log"


def test_log_gateway_writes_to_a_stream_by_default():
    """Without a path, stderr (here a stand-in stream)."""
    stream = io.StringIO()
    LogSmsGateway(stream=stream).send(to="+15555550001", body="hello")
    assert json.loads(stream.getvalue())["body"] == "hello"


def test_log_gateway_reports_an_unwritable_path(tmp_path):
    """An OSError becomes SmsDeliveryFailed."""
    with pytest.raises(SmsDeliveryFailed):
        LogSmsGateway(str(tmp_path / "missing" / "sms.jsonl")).send(to="+1", body="x")


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "en"), ("zh-CN", "zh-CN"), ("zh-cn", "zh-CN"), ("zh-Hans", "zh-CN"), ("zh", "zh-CN"),
    ("fr", "en"), (None, "en"), ("", "en"),
])
def test_messages_fall_back_to_english(language, expected):
    """DESIGN.md §1: everything a user reads exists in English and Simplified Chinese."""
    assert resolve_language(language) == expected


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_code_text_carries_the_anti_phishing_code_and_a_warning(language):
    """DESIGN.md flow 7: the anti-phishing code, and never share the code."""
    text = sms_code_text(code="123456", minutes=10, language=language, anti_phishing_code="BLUEFOX")
    assert "123456" in text and "BLUEFOX" in text
    assert ("Never share" in text) if language == "en" else ("切勿" in text)


def test_the_code_text_without_an_anti_phishing_code_has_no_placeholder():
    """An account without an anti-phishing code still gets a clean text."""
    text = sms_code_text(code="123456", minutes=10, language="en", anti_phishing_code=None)
    assert "anti-phishing" not in text and "{" not in text


@pytest.mark.parametrize(("phone", "masked"), [("+15555550001", "+1*****0001"), ("+8613800138000", "+8*****8000")])
def test_phone_numbers_are_masked(phone, masked):
    """API.md: destination shown as '+1*****0001'."""
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (404, False), (401, False), (408, True),
                                                   (429, True), (500, True), (503, True)])
def test_twilio_gateway_marks_only_a_passing_refusal_retryable(twilio_server, status, retryable):
    """A 4xx refuses the message itself (a bad number): sending it again cannot help; 5xx, 408 and 429 can pass."""
    FakeTwilio.answer_status = status
    gateway = TwilioSmsGateway(account_sid=SID, auth_token=TOKEN, from_number=FROM, api_base=twilio_server)
    with pytest.raises(SmsDeliveryFailed) as caught:
        gateway.send(to="+15555550001", body="x")
    assert caught.value.is_retryable is retryable
