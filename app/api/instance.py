"""The instance's public key (API.md "Handing the case on"): what its signatures are checked with."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.api.parsing import Blueprint
from app.extensions import runtime

blp = Blueprint("instance", __name__, url_prefix="/api/v1", description="This instance")


class PublicKeyOut(Schema):
    """The Ed25519 public key of SIGNING_KEY."""

    key_id = fields.String()
    algorithm = fields.String(metadata={"enum": ["ed25519"]})
    public_key = fields.String(metadata={"description": "base64 of the raw 32-byte public key"})


@blp.route("/instance/public-key", methods=["GET"])
@blp.response(200, PublicKeyOut)
def public_key():
    """The key that signs audit checkpoints and evidence (public)."""
    key = runtime().ports.signing_key
    return {"key_id": key.key_id, "algorithm": "ed25519", "public_key": key.public_key_b64}
