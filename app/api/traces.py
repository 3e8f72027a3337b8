"""Traces (API.md "Traces"): follow a transaction's money, draw it, draft the freeze letters."""
from __future__ import annotations

import uuid

from flask import Response, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.fields import CHAIN_NAME, transaction_hash_is_valid
from app.api.parsing import Blueprint
from app.api.schemas import TraceOut
from app.auth import current_principal, require_incident_access
from app.casefile import transactions_of
from kernel.errors import Forbidden
from app.extensions import get_session, runtime
from app.jobs_tracing import wake_tracer
from chain import service as chain_service
from chain.drafts import LETTER_LANGUAGES
from incidents.queue import get_incident

blp = Blueprint("traces", __name__, url_prefix="/api/v1", description="Fund-flow traces")


class TraceIn(Schema):
    """What to trace."""

    chain = fields.String(required=True, validate=CHAIN_NAME)
    tx_hash = fields.String(required=True, validate=validate.Length(min=1, max=80),
                            metadata={"pattern": r"^(0x)?[0-9a-fA-F]{64}$",
                                      "description": "EVM chains: 0x and 64 hex digits; bitcoin and "
                                                     "tron: 64 hex digits"})
    depth = fields.Integer(load_default=3, strict=True, validate=validate.Range(0, 5))
    incident_id = fields.UUID(load_default=None)

    @validates_schema
    def hash_fits_chain(self, data, **_kwargs):
        """Refuse a malformed hash before anything is queued or fetched."""
        if "chain" in data and "tx_hash" in data and not transaction_hash_is_valid(data["chain"], data["tx_hash"]):
            raise ValidationError("is not a transaction hash of this chain", field_name="tx_hash")



class FreezeLetterOut(Schema):
    """The drafted letter to one receiving exchange, in one language (English first, then Chinese)."""

    exchange = fields.String()
    language = fields.String(metadata={"enum": ["en", "zh-CN"]})
    text = fields.String()


class FreezeLettersArgs(Schema):
    """Which language's letters: English unless asked (the answer API.md's first clients read), or both."""

    language = fields.String(load_default="en", validate=validate.OneOf(["en", "zh-CN", "all"]))


class FreezeLettersOut(Schema):
    """The letters for a finished trace."""

    items = fields.List(fields.Nested(FreezeLetterOut))


class IssuerLetterOut(Schema):
    """The request to one stablecoin issuer, in one language."""

    issuer = fields.String(metadata={"enum": ["tether", "circle"]})
    language = fields.String(metadata={"enum": ["en", "zh-CN"]})
    addresses = fields.List(fields.String())
    text = fields.String()


class IssuerLettersOut(Schema):
    """Per issuer whose tokens still sit at reached addresses, its request in English and Chinese."""

    items = fields.List(fields.Nested(IssuerLetterOut))


def authorize_trace_request(data: dict) -> str:
    """Staff trace anything; a reporter only the hashes of its own incident."""
    principal = current_principal()
    if principal.kind == "staff":
        if data["incident_id"] is not None:
            get_incident(get_session(), incident_id=data["incident_id"])  # 404 for an incident that is not there
        return principal.actor
    if data["incident_id"] != principal.incident_id:
        raise Forbidden("a reporter may trace the transactions of its own incident only")
    incident = get_incident(get_session(), incident_id=principal.incident_id)
    own = {(tx["chain"], tx["hash"].lower()) for tx in transactions_of(incident)}
    if (data["chain"], data["tx_hash"].lower()) not in own:
        raise Forbidden("a reporter may trace the transactions of its own incident only")
    return principal.actor


def readable_trace(trace_id: uuid.UUID):
    """Load a trace the caller may read (staff: any; reporter: those of its incident)."""
    trace = chain_service.get_trace(get_session(), trace_id=trace_id)
    principal = current_principal()
    if principal.kind != "staff":
        if trace.incident_id is None:
            raise Forbidden("this trace belongs to no incident of yours")
        require_incident_access(trace.incident_id)
    return trace


@blp.route("/traces", methods=["POST"])
@blp.arguments(TraceIn())
@blp.response(202, TraceOut)
def post_trace(data):
    """Queue a trace; malformed hashes and unconfigured chains are refused before any network call."""
    actor = authorize_trace_request(data)
    trace = chain_service.request_trace(get_session(), chain=data["chain"], tx_hash=data["tx_hash"],
                                        depth=data["depth"], incident_id=data["incident_id"], requested_by=actor,
                                        configured_chains=set(runtime().ports.explorers))
    wake_tracer()
    return trace, 202, {"Location": url_for("traces.get_trace", trace_id=trace.id)}


@blp.route("/traces/<uuid:trace_id>", methods=["GET"])
@blp.response(200, TraceOut)
def get_trace(trace_id: uuid.UUID):
    """A trace: the transaction, the fund-flow graph, findings with advice."""
    return readable_trace(trace_id)


@blp.route("/traces/<uuid:trace_id>/graph.svg", methods=["GET"])
@blp.response(200, content_type="image/svg+xml")
def get_trace_graph(trace_id: uuid.UUID):
    """The fund-flow picture."""
    readable_trace(trace_id)
    svg = chain_service.get_trace_svg(get_session(), trace_id=trace_id)
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@blp.route("/traces/<uuid:trace_id>/freeze-request", methods=["GET"])
@blp.arguments(FreezeLettersArgs(), location="query")
@blp.response(200, FreezeLettersOut)
def get_freeze_request(args, trace_id: uuid.UUID):
    """The letters asking each receiving exchange to freeze the funds, with the evidence: one per exchange in
    the language asked (English by default), or `language=all` for English then Chinese per exchange."""
    readable_trace(trace_id)
    wanted = args["language"]
    languages = LETTER_LANGUAGES if wanted == "all" else (wanted,)
    return {"items": chain_service.draft_freeze_requests(get_session(), trace_id=trace_id, languages=languages)}


@blp.route("/traces/<uuid:trace_id>/issuer-freeze-request", methods=["GET"])
@blp.response(200, IssuerLettersOut)
def get_issuer_freeze_request(trace_id: uuid.UUID):
    """The requests asking USDT/USDC issuers to freeze the tokens still held, with the evidence."""
    readable_trace(trace_id)
    return {"items": chain_service.draft_issuer_requests(get_session(), trace_id=trace_id)}
