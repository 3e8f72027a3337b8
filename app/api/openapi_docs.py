"""The OpenAPI document tells the truth about errors and auth: problem+json per status, bearer where required.

flask-smorest documents its own error schema as application/json under a catch-all `default`;
the API answers RFC 9457 problem documents (application/problem+json) with specific statuses.
This apispec plugin rewrites each operation's error responses to the statuses the route can answer,
each with the `Problem` schema, and marks the operations that need a bearer token. It also says what the
schemas alone cannot: a route answering staff and reporters differently documents both views, and a
transaction hash's form depends on its chain.
"""
from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin
from marshmallow import fields

from app.api.fields import BARE_HASH_CHAINS
from app.auth import is_public
from app.errors import PROBLEM_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Routes whose 200 differs by caller: the staff view or the reporter's redacted one.
TWO_VIEWS = {
    ("get", "/api/v1/incidents/{incident_id}"): ("IncidentOut", "ReporterIncidentOut"),
    ("get", "/api/v1/unfreeze-requests/{request_id}"): ("UnfreezeRequestOut", "OwnerUnfreezeRequestOut"),
}
BITCOIN_HASH = "^[0-9a-fA-F]{64}$"
EVM_HASH = "^0x[0-9a-fA-F]{64}$"
# Schemas whose hash field must fit the chain field: (chain field, hash field).
HASH_BY_CHAIN = {"TransactionIn": ("chain", "hash"), "TraceIn": ("chain", "tx_hash")}
BODY_METHODS = frozenset({"post", "put", "patch"})
# Statuses beyond the generic ones that particular routes answer (API.md).
EXTRA: tuple[tuple[str, re.Pattern[str], tuple[int, ...]], ...] = (
    ("post", re.compile(r"^/api/v1/reports$"), (409, 429)),
    ("post", re.compile(r"^/api/v1/anomalies$"), (401,)),
    ("post", re.compile(r"^/api/v1/anomalies/batch$"), (401, 409, 413)),
    ("post", re.compile(r"/transitions$"), (409,)),
    ("post", re.compile(r"/freeze$"), (409,)),
    ("post", re.compile(r"/verifications$"), (409,)),
    ("post", re.compile(r"/sms$"), (409, 429)),
    ("post", re.compile(r"/(sms/check|totp)$"), (409, 410, 429)),
    ("post", re.compile(r"/manual-review$"), (409,)),
    ("post", re.compile(r"/unfreeze-requests$"), (409,)),
    ("post", re.compile(r"/checklist/"), (409,)),
    ("post", re.compile(r"/decisions$"), (409, 429)),
    ("get", re.compile(r"/freeze-request$"), (409,)),
    ("post", re.compile(r"^/api/v1/traces$"), (404,)),
    ("post", re.compile(r"^/api/v1/repudiations"), (404, 410)),
    ("post", re.compile(r"^/api/v1/peer/freeze-requests"), (401, 404)),
    ("post", re.compile(r"/freeze-requests$"), (409,)),
    ("post", re.compile(r"/peer-hold/release$"), (409,)),
    ("get", re.compile(r"/evidence-bundle$"), (500, 503)),
)


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses a route can answer: body, query, path, auth and route-specific ones."""
    statuses: set[int] = set()
    if method in BODY_METHODS:
        statuses |= {400, 413, 415, 422}
    if "422" in operation.get("responses", {}):
        statuses.add(422)  # query arguments are validated too
    if "{" in path:
        statuses.add(404)
    if not is_public(path):
        statuses |= {401, 403}
    for extra_method, pattern, extra in EXTRA:
        if method == extra_method and pattern.search(path):
            statuses |= set(extra)
    return statuses


def problem_response(status: int) -> dict[str, Any]:
    """A documented problem+json answer."""
    return {"description": HTTPStatus(status).phrase, "content": {PROBLEM_TYPE: {"schema": PROBLEM_REF}}}


class ProblemDocs(BasePlugin):
    """Rewrite error responses to problem+json and declare bearer security where a token is needed."""

    def init_spec(self, spec: APISpec) -> None:
        """Keep the spec to register the Problem schema once."""
        self.spec = spec

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **_kwargs: Any) -> None:
        """Per operation: drop the catch-all and flask-smorest's error refs, add problem answers and security."""
        openapi_path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path or "")
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            for key in [key for key in responses if not isinstance(key, str)]:
                responses[str(key)] = responses.pop(key)  # flask-smorest keys its 422 by int
            statuses = error_statuses(openapi_path, method, operation)
            responses.pop("default", None)
            for status in statuses:
                responses[str(status)] = problem_response(status)
            if not is_public(openapi_path):
                operation["security"] = [{"bearer": []}]
            if (method, openapi_path) in TWO_VIEWS:
                views = [{"$ref": f"#/components/schemas/{name}"} for name in TWO_VIEWS[method, openapi_path]]
                responses["200"] = {"description": "The staff view, or the reporter's redacted view",
                                    "content": {"application/json": {"schema": {"anyOf": views}}}}


def install(spec: APISpec) -> None:
    """Register the Problem schema and the plugin on the API's spec, before the blueprints are documented."""
    from app.api.schemas import IncidentOut, ProblemOut

    spec.components.schema("Problem", schema=ProblemOut)
    spec.components.schema("IncidentOut", schema=IncidentOut)  # the staff view of TWO_VIEWS
    plugin = ProblemDocs()
    plugin.init_spec(spec)
    spec.plugins.append(plugin)


def finish(spec: APISpec, *, traced_chains: frozenset[str]) -> None:
    """Once every blueprint is documented: a hash's form by its chain (bitcoin, tron: 64 hex digits; every other,
    EVM, chain: 0x and 64), and a trace's chain among those this deployment has an explorer for."""
    schemas = spec.components.schemas
    for name, (chain, tx_hash) in HASH_BY_CHAIN.items():
        bare = {"properties": {chain: {"enum": list(BARE_HASH_CHAINS)}, tx_hash: {"pattern": BITCOIN_HASH}}}
        evm = {"properties": {chain: {"not": {"enum": list(BARE_HASH_CHAINS)}}, tx_hash: {"pattern": EVM_HASH}}}
        schemas[name]["oneOf"] = [bare, evm]
    chain_field = schemas["TraceIn"]["properties"]["chain"]
    chain_field["description"] = "a chain this deployment has an explorer for"
    if traced_chains:  # JSON Schema has no empty enum: without explorers every trace is refused (422)
        chain_field["enum"] = sorted(traced_chains)


# Text a string field takes (app.edge): no NUL or other control characters besides tab and line breaks.
TEXT_PATTERN = "^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def text_rule(_converter, field: fields.Field, ret: dict | None = None, **_kwargs: Any) -> dict[str, Any]:
    """A string field without a pattern or fixed values of its own says which characters it takes."""
    ret = ret or {}
    if not isinstance(field, fields.String) or "pattern" in ret or "enum" in ret or "format" in ret:
        return {}
    return {"pattern": TEXT_PATTERN}
