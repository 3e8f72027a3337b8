"""marshmallow fields shared by the API schemas."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import current_app, has_app_context
from marshmallow import ValidationError, fields, validate

from app.db import utcnow


class FullMatch(validate.Regexp):
    """A pattern the whole value must match: `$` alone would let a trailing newline through."""

    def __call__(self, value: str) -> str:
        """The value, when the pattern matches all of it."""
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


EVM_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
BITCOIN_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
CHAIN_NAME = FullMatch(r"^[a-z0-9][a-z0-9_-]{0,31}$", error="must be a chain name such as ethereum")
ACCOUNT_ID = FullMatch(r"^[A-Za-z0-9_.@+-]{1,64}$", error="must be 1-64 of A-Z a-z 0-9 _ . @ + -")
PLAIN_DECIMAL = r"^[0-9]{1,30}(\.[0-9]{1,9})?$"
LANGUAGES = ("en", "zh-CN")
# Client times before this are not evidence of anything this service handles (Bitcoin's first block).
EARLIEST_CLIENT_TIME = datetime(2009, 1, 1, tzinfo=UTC)


class Timestamp(fields.DateTime):
    """ISO 8601 UTC with a Z on the way out; an explicit offset required on the way in."""

    def _serialize(self, value, attr, obj, **kwargs):
        """Render in UTC with Z."""
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        """Parse, refusing times without an offset and times outside [2009, now + the webhook tolerance]."""
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ValidationError("must carry a time zone, e.g. 2026-11-20T22:00:00Z")
        try:
            moment = parsed.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 lies before year 1 in UTC
            raise ValidationError(self.window_message()) from exc
        if not EARLIEST_CLIENT_TIME <= moment <= utcnow() + self.tolerance():
            raise ValidationError(self.window_message())
        return moment

    @staticmethod
    def tolerance() -> timedelta:
        """How far ahead of this server's clock a client's clock may run (WEBHOOK_TOLERANCE_SECONDS)."""
        seconds = current_app.config.get("WEBHOOK_TOLERANCE_SECONDS", 300) if has_app_context() else 300
        return timedelta(seconds=int(seconds))

    def window_message(self) -> str:
        """The refusal naming the window."""
        return (f"must lie between {EARLIEST_CLIENT_TIME:%Y-%m-%dT%H:%M:%SZ} and "
                f"{int(self.tolerance().total_seconds())} s from now")


class DecimalString(fields.String):
    """An exact non-negative amount given and shown as a decimal string."""

    def __init__(self, **kwargs):
        """Document the accepted form (plain digits, optional fraction) in the OpenAPI schema."""
        kwargs["metadata"] = {"pattern": PLAIN_DECIMAL, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        """Only ASCII digits with an optional fraction: no exponent, spaces, signs or other scripts' digits."""
        text = super()._deserialize(value, attr, data, **kwargs)
        if re.fullmatch(PLAIN_DECIMAL, text) is None:
            raise ValidationError("must be a plain decimal such as \"1500.25\": up to 30 digits, "
                                  "optionally a point and up to 9 more")
        return str(Decimal(text))


def transaction_hash_is_valid(chain: str, tx_hash: str) -> bool:
    """Bitcoin and TRON ids are 64 hex digits; every other (EVM) chain's are 0x and 64 hex digits."""
    pattern = BITCOIN_HASH if chain in ("bitcoin", "tron") else EVM_HASH
    return bool(pattern.fullmatch(tx_hash))
