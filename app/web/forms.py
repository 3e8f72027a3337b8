"""The report form read into the API's own schema, so the page and the API accept exactly the same reports."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from app.api.reports import ReportIn
from app.errors import flatten_messages

TRANSACTION_ROWS = 3
CHAINS = ("ethereum", "bitcoin", "polygon", "bsc", "arbitrum", "optimism", "base", "tron")
SIX_DIGITS = re.compile(r"^[0-9]{6}$")

HINTS = {
    "account_id": _l("Enter your account ID: 1 to 64 letters, digits or _ . @ + -"),
    "kind": _l("Choose what happened."),
    "description": _l("Keep the description under 4,000 characters."),
    "email": _l("Enter an email address such as name@example.com."),
    "phone": _l("Enter the phone number with its country code, such as +8613800000000."),
    "last_legitimate_activity_at": _l("Enter a date and time, such as 2026-11-20 22:00."),
    "loss_usd": _l("Enter an amount such as 1500.25."),
    "tx_chain": _l("Choose the chain of this transaction."),
    "tx_hash": _l("Enter the transaction hash: 0x and 64 hexadecimal characters (Bitcoin: 64 "
                  "hexadecimal characters)."),
    "transactions": _l("At most 20 transactions."),
}


@dataclass
class ReportForm:
    """What the owner typed, and per field what needs fixing."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] | None = None

    @property
    def is_valid(self) -> bool:
        """Whether the report can be filed."""
        return self.data is not None and not self.errors


def read_report_form(form: MultiDict, *, language: str) -> ReportForm:
    """Turn the posted form into a checked report body, or into field errors."""
    values = {name: (form.get(name) or "").strip() for name in form}
    rows = [row for row in range(TRANSACTION_ROWS) if values.get(f"tx_hash_{row}")]
    try:
        data = ReportIn().load(_body(values, language, rows))
    except ValidationError as error:
        return ReportForm(values=values, errors=_field_errors(error.messages, rows))
    return ReportForm(values=values, data=data)


def _body(values: dict[str, str], language: str, rows: list[int]) -> dict[str, Any]:
    """The JSON body the API would have received for this form."""
    body: dict[str, Any] = {"account_id": values.get("account_id", ""), "kind": values.get("kind", ""),
                            "description": values.get("description", ""), "language": language}
    contact = {name: values[name] for name in ("email", "phone") if values.get(name)}
    body["contact"] = contact
    if values.get("last_legitimate_activity_at"):
        # The field has no zone of its own: the page says the time is UTC.
        body["last_legitimate_activity_at"] = values["last_legitimate_activity_at"] + "Z"
    if values.get("loss_usd"):
        body["loss_usd"] = values["loss_usd"]
    body["transactions"] = [{"chain": values.get(f"tx_chain_{row}") or "ethereum", "hash": values[f"tx_hash_{row}"]}
                            for row in rows]
    return body


def _field_errors(messages: Any, rows: list[int]) -> dict[str, str]:
    """The schema's messages as one translated hint per form field."""
    errors: dict[str, str] = {}
    for path in flatten_messages(messages):
        name = _form_field(path, rows)
        hint_name = "tx_hash" if name.startswith("tx_hash") else "tx_chain" if name.startswith("tx_chain") else name
        errors[name] = str(HINTS.get(hint_name, HINTS["description"]))
    return errors


def _form_field(path: str, rows: list[int]) -> str:
    """contact.email → email; transactions.1.hash → tx_hash_<form row of the second filled hash>."""
    parts = path.split(".")
    if parts[0] == "contact" and len(parts) > 1:
        return parts[1]
    if parts[0] == "transactions" and len(parts) > 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
        return f"tx_{parts[2]}_{rows[int(parts[1])]}"
    return parts[0]


def read_code(form: MultiDict) -> str | None:
    """A six-digit one-time code from the form (spaces allowed), or None."""
    code = re.sub(r"\s+", "", form.get("code") or "")
    return code if SIX_DIGITS.fullmatch(code) else None
