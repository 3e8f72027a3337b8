"""The mailer's and the SMS gateway's failures share one base, so the notifications outbox handles both in one
place: whether trying later may help travels with the failure."""
from __future__ import annotations

from incidents.mail import MailDeliveryFailed
from kernel.errors import DeliveryFailed, DomainError
from verification.sms import SmsDeliveryFailed


def test_mail_and_sms_failures_are_delivery_failures_that_say_whether_a_retry_helps():
    for kind, slug in ((MailDeliveryFailed, "mail-delivery-failed"), (SmsDeliveryFailed, "sms-delivery-failed")):
        retried, refused = kind("the transport is down"), kind("no such number", is_retryable=False)
        assert isinstance(retried, DeliveryFailed) and isinstance(retried, DomainError)
        assert (retried.is_retryable, refused.is_retryable) == (True, False)
        assert (retried.detail, retried.slug, retried.status) == ("the transport is down", slug, 502)
