"""The one JSON reader of every API route: duplicate keys refused, text that cannot be stored refused.

Each blueprint of the API is a `Blueprint` of this module, so every body and query argument any schema
loads has passed here (and query arguments through `app.edge` before that).
"""
from __future__ import annotations

import json
from typing import Any

import flask_smorest
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from app.edge import json_text_faults, refuse


class DuplicateKey(ValueError):
    """A JSON object names the same member twice."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members, refusing a name given twice (RFC 8259 leaves the meaning open; RFC 7493 forbids it)."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise DuplicateKey(key)
        members[key] = value
    return members


def loads_strict(raw: bytes | str) -> Any:
    """Parse JSON text whose objects name each member once."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")  # UnicodeDecodeError: webargs answers 400 for the body
    return json.loads(raw, object_pairs_hook=_unique_members)


class EdgeParser(FlaskParser):
    """webargs' Flask parser with the strict JSON reading above."""

    def _raw_load_json(self, req: Request) -> Any:
        """The body as JSON: 400 naming a key given twice, 422 naming a string that cannot be stored."""
        if not is_json_request(req):
            return core.missing
        try:
            data = loads_strict(req.get_data(cache=True))
        except DuplicateKey as exc:
            name = exc.key.encode("unicode_escape").decode("ascii")
            abort(400, messages={"json": {name: ["is given more than once; give each member once"]}})
        faults = json_text_faults(data)
        if faults:
            refuse("json", faults)
        return data


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint reading its arguments through `EdgeParser`."""

    ARGUMENTS_PARSER = EdgeParser()
