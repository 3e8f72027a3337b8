"""The SMTP adapter against a real SMTP server (aiosmtpd) on 127.0.0.1: delivery, sign-in, and each way a
server can refuse, told apart as worth retrying (4xx, unreachable) or not (5xx)."""
from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from incidents.mail import EmailMessage, MailDeliveryFailed
from incidents.mail.smtp import SmtpMailer, parse_smtp_url
from tests.services import free_port

MESSAGE = EmailMessage(to="owner@example.com", subject="您的账户已冻结", text="我们已冻结您的账户。防钓鱼码：BLUE-HERON",
                       language="zh-CN")


class Server:
    """An SMTP server's handler that accepts, or answers what a test tells it to."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.rcpt_answer: str | None = None
        self.data_answer = "250 Message accepted"

    async def handle_RCPT(self, _server, _session, envelope, address, _options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope):
        if self.data_answer.startswith("250"):
            self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return self.data_answer


def only_the_bench_user(_server, _session, _envelope, _mechanism, auth_data) -> AuthResult:
    """Accept one login."""
    accepted = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"lockdesk", b"p@ss word")
    return AuthResult(success=accepted, handled=False)  # the server answers 535 itself on a failure


@pytest.fixture
def server():
    """A plain SMTP server that also offers AUTH (without TLS: loopback only)."""
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=only_the_bench_user,
                            auth_require_tls=False)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def mailer(server: Server, credentials: str = "") -> SmtpMailer:
    return SmtpMailer(f"smtp://{credentials}127.0.0.1:{server.port}", sender="Lockdesk <security@lockdesk.test>",
                      timeout=5)


def test_a_message_arrives_in_utf_8_with_its_language_and_id(server):
    receipt = mailer(server).send(MESSAGE)
    (arrived,) = server.messages
    assert arrived["To"] == "owner@example.com" and arrived["Subject"] == MESSAGE.subject
    assert arrived["Content-Language"] == "zh-CN" and arrived.get_content_charset() == "utf-8"
    assert arrived.get_content().strip() == MESSAGE.text
    assert receipt.transport == "smtp" and receipt.message_id == arrived["Message-ID"]


def test_the_adapter_signs_in_with_the_url_s_credentials(server):
    mailer(server, "lockdesk:p%40ss%20word@").send(MESSAGE)
    assert len(server.messages) == 1


def test_a_refused_sign_in_is_not_retried(server):
    with pytest.raises(MailDeliveryFailed) as refused:
        mailer(server, "lockdesk:guess@").send(MESSAGE)
    assert refused.value.is_retryable is False and "535" in refused.value.detail
    assert server.messages == []


@pytest.mark.parametrize(("stage", "answer", "retryable", "told"), [
    ("rcpt_answer", "550 5.1.1 No such user", False, "refused the recipient"),
    ("rcpt_answer", "450 4.2.1 Mailbox busy, try later", True, "refused the recipient"),
    ("data_answer", "554 5.7.1 Rejected as spam", False, "answered 554"),
    ("data_answer", "451 4.3.0 Local error, try later", True, "answered 451"),
])
def test_a_refusal_is_retried_only_when_it_is_temporary(server, stage, answer, retryable, told):
    setattr(server, stage, answer)
    with pytest.raises(MailDeliveryFailed) as refused:
        mailer(server).send(MESSAGE)
    assert refused.value.is_retryable is retryable and told in refused.value.detail
    assert server.messages == []


def test_an_unreachable_server_is_worth_trying_again():
    with pytest.raises(MailDeliveryFailed) as failed:
        SmtpMailer(f"smtp://127.0.0.1:{free_port()}", sender="security@lockdesk.test", timeout=2).send(MESSAGE)
    assert failed.value.is_retryable is True and "unreachable" in failed.value.detail


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", ("mail.example.com", 25, False, False, None, None)),
    ("smtp://mail.example.com:587?starttls=yes", ("mail.example.com", 587, False, True, None, None)),
    ("smtps://user%40corp:s%3Acret@mail.example.com", ("mail.example.com", 465, True, False, "user@corp", "s:cret")),
    ("smtps://mail.example.com?starttls=1", ("mail.example.com", 465, True, False, None, None)),
])
def test_smtp_urls_name_host_port_tls_and_credentials(url, expected):
    parsed = parse_smtp_url(url)
    assert (parsed.host, parsed.port, parsed.use_ssl, parsed.use_starttls, parsed.username,
            parsed.password) == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
def test_a_url_that_is_not_smtp_is_refused_at_start(url):
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url(url)
