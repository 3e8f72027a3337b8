"""Twilio's Messages REST API over plain `requests` (no vendor SDK needed for one POST)."""
from __future__ import annotations

import requests

from verification.sms import SmsDeliveryFailed, SmsReceipt

DEFAULT_API_BASE = "https://api.twilio.com"
# (connect, read) seconds: a slow vendor must not hold a request thread for long.
DEFAULT_TIMEOUT = (3.05, 10.0)
# 4xx answers that describe the moment, not the message (a 400 for a bad number is final).
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


class TwilioSmsGateway:
    """Sends through `POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json`."""

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str,
                 api_base: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None):
        self._sid = account_sid
        self._from = from_number
        self._url = f"{(api_base or DEFAULT_API_BASE).rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._timeout = timeout
        self._session = session or requests.Session()
        self._session.auth = (account_sid, auth_token)

    def send(self, *, to: str, body: str) -> SmsReceipt:
        """Post the message; transport errors and non-2xx answers become SmsDeliveryFailed."""
        try:
            response = self._session.post(self._url, data={"To": to, "From": self._from, "Body": body},
                                          timeout=self._timeout)
        except requests.RequestException as exc:
            raise SmsDeliveryFailed(f"Twilio unreachable: {type(exc).__name__}") from exc
        if not response.ok:
            raise SmsDeliveryFailed(_vendor_error(response), is_retryable=is_retryable_status(response.status_code))
        return SmsReceipt(gateway="twilio", message_id=_message_sid(response))


def is_retryable_status(status: int) -> bool:
    """Whether Twilio may accept the same message later: its 5xx, a timeout or a rate limit, never another 4xx."""
    return status >= 500 or status in RETRYABLE_CLIENT_ERRORS


def _vendor_error(response: requests.Response) -> str:
    """Twilio's status and error code only: its message may quote the phone number."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    return f"Twilio answered HTTP {response.status_code}" + (f" (error {code})" if code else "")


def _message_sid(response: requests.Response) -> str | None:
    """The message SID from Twilio's JSON answer, if it is JSON."""
    try:
        return response.json().get("sid")
    except (ValueError, AttributeError):
        return None
