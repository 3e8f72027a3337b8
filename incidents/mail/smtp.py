"""SMTP delivery with the standard library: `smtp://host:port` (STARTTLS with `?starttls=1`) or `smtps://`."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from incidents.mail import EmailMessage, MailDeliveryFailed, MailReceipt

DEFAULT_TIMEOUT = 10.0
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect, read from SMTP_URL."""

    host: str
    port: int
    use_ssl: bool = False
    use_starttls: bool = False
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpSettings:
    """smtp://host:port, smtp://user:pass@host:port?starttls=1 or smtps://user:pass@host:port."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://host:port or smtps://user:pass@host:port")
    use_ssl = parts.scheme == "smtps"
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in TRUE_WORDS
    return SmtpSettings(host=parts.hostname, port=parts.port or (465 if use_ssl else 25), use_ssl=use_ssl,
                        use_starttls=starttls and not use_ssl,
                        username=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password else None)


class SmtpMailer:
    """One connection per message; refusals become MailDeliveryFailed (4xx retryable, 5xx not)."""

    def __init__(self, url: str, *, sender: str, timeout: float = DEFAULT_TIMEOUT):
        self._settings = parse_smtp_url(url)
        self._sender = sender
        self._timeout = timeout

    def send(self, message: EmailMessage) -> MailReceipt:
        """Build the MIME message and hand it to the server."""
        mime = self._mime(message)
        try:
            with self._connect() as client:
                if self._settings.username:
                    client.login(self._settings.username, self._settings.password or "")
                client.send_message(mime)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailDeliveryFailed("the server refused the recipient", is_retryable=_temporary(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailDeliveryFailed(f"the server answered {exc.smtp_code}",
                                     is_retryable=400 <= exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailDeliveryFailed(f"the mail server is unreachable: {type(exc).__name__}") from exc
        return MailReceipt(transport="smtp", message_id=mime["Message-ID"])

    def _mime(self, message: EmailMessage) -> MimeMessage:
        """A UTF-8 plain-text message with its language declared."""
        mime = MimeMessage()
        mime["From"], mime["To"], mime["Subject"] = self._sender, message.to, message.subject
        mime["Message-ID"] = make_msgid(domain="lockdesk")
        mime.set_content(message.text, charset="utf-8")
        # After set_content, which drops every Content-* header it did not write.
        mime["Content-Language"] = message.language
        return mime

    def _connect(self) -> smtplib.SMTP:
        """An open connection, upgraded to TLS when configured."""
        settings = self._settings
        if settings.use_ssl:
            return smtplib.SMTP_SSL(settings.host, settings.port, timeout=self._timeout,
                                    context=ssl.create_default_context())
        client = smtplib.SMTP(settings.host, settings.port, timeout=self._timeout)
        if settings.use_starttls:
            client.starttls(context=ssl.create_default_context())
        return client


def _temporary(error: smtplib.SMTPRecipientsRefused) -> bool:
    """Whether every refusal of the recipients was a temporary (4xx) one."""
    return all(400 <= code < 500 for code, _message in error.recipients.values())
