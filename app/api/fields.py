"""marshmallow fields shared by the API schemas."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate

EVM_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
BITCOIN_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
CHAIN_NAME = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,31}$", error="must be a chain name such as ethereum")
ACCOUNT_ID = validate.Regexp(r"^[A-Za-z0-9_.@+-]{1,64}$", error="must be 1-64 of A-Z a-z 0-9 _ . @ + -")
LANGUAGES = ("en", "zh-CN")


class Timestamp(fields.DateTime):
    """ISO 8601 UTC with a Z on the way out; an explicit offset required on the way in."""

    def _serialize(self, value, attr, obj, **kwargs):
        """Render in UTC with Z."""
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        """Parse, refusing times without an offset."""
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ValidationError("must carry a time zone, e.g. 2026-11-20T22:00:00Z")
        return parsed.astimezone(UTC)


class DecimalString(fields.String):
    """An exact non-negative amount given and shown as a decimal string."""

    def __init__(self, **kwargs):
        """Document the accepted form (plain digits, optional fraction) in the OpenAPI schema."""
        kwargs["metadata"] = {"pattern": r"^[0-9]{1,30}(\.[0-9]{1,9})?$", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        """Check the text is a finite, non-negative decimal of sane size."""
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValidationError("must be a decimal number as a string, e.g. \"1500.25\"") from exc
        if not amount.is_finite() or amount < 0 or len(text) > 40:
            raise ValidationError("must be a finite, non-negative decimal")
        return str(amount)


def transaction_hash_is_valid(chain: str, tx_hash: str) -> bool:
    """Bitcoin and TRON ids are 64 hex digits; every other (EVM) chain's are 0x and 64 hex digits."""
    pattern = BITCOIN_HASH if chain in ("bitcoin", "tron") else EVM_HASH
    return bool(pattern.fullmatch(tx_hash))
