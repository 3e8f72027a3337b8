"""HTTP Message Signatures (RFC 9421, ed25519, label sig1) with a Content-Digest (RFC 9530) between peers.

The canonicalisation is the `http-message-signatures` library's; this module only chooses what is covered
and tells a peer precisely why its message was refused.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.structures import CaseInsensitiveDict

from kernel.errors import DomainError
from incidents.handoff.archive import Signer

LABEL = "sig1"
COVERED = ("@method", "@target-uri", "content-digest")
MAX_AGE_SECONDS = 300


class PeerRefused(DomainError):
    """A peer message whose signature or digest does not hold; `reason` says which check failed."""

    status, slug, title = 401, "unauthorized", "Peer signature refused"


@dataclass
class Message:
    """A request as the library reads it: method, absolute URL, header fields."""

    method: str
    url: str
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)


def sign_request(method: str, url: str, body: bytes, *, signer: Signer, created: datetime) -> dict[str, str]:
    """The headers of a signed JSON request: Content-Type, Content-Digest, Signature-Input, Signature."""
    message = Message(method.upper(), url, CaseInsensitiveDict({"Content-Type": "application/json"}))
    resolver = MappingKeyResolver(public_keys={}, private_keys={signer.key_id: signer.private_key})
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=resolver).sign(
        message, key_id=signer.key_id, created=created, label=LABEL, include_alg=True,
        covered_component_ids=("@method", "@target-uri"), body=body)
    return dict(message.headers.items())


@dataclass(frozen=True)
class PeerKey:
    """A public key a peer signs with (two during a rotation), and the peer's name."""

    peer: str
    key: Ed25519PublicKey


class _UnknownKey(InvalidSignature):
    """No configured peer has this key id."""


class _Stale(InvalidSignature):
    """The signature was made too long ago (or in the future)."""


class _Resolver(HTTPSignatureKeyResolver):
    """Public keys of the configured peers, by key id."""

    def __init__(self, keys: Mapping[str, PeerKey]):
        self._keys = keys

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        """The key, or a refusal naming the unknown key id."""
        if key_id not in self._keys:
            raise _UnknownKey(f"unknown key id {key_id!r}")
        return self._keys[key_id].key

    def resolve_private_key(self, key_id: str):
        """Never used: a verifier signs nothing."""
        raise KeyError(key_id)


class _Verifier(HTTPMessageVerifier):
    """The library's verifier, telling an old signature apart from a bad one."""

    def validate_created_and_expires(self, sig_input, max_age=None):
        """The library's time checks, their failure marked as staleness."""
        try:
            super().validate_created_and_expires(sig_input, max_age=max_age)
        except _Stale:
            raise
        except InvalidSignature as error:
            raise _Stale(str(error)) from error


def verify_request(method: str, url: str, headers: Mapping[str, str], body: bytes, *,
                   keys: Mapping[str, PeerKey]) -> PeerKey:
    """The peer whose key signed this request; PeerRefused with the reason otherwise."""
    message = Message(method.upper(), url, CaseInsensitiveDict(dict(headers)))
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=_Resolver(keys))
    try:
        # The library adds its clock skew to the age allowed: take it off, so 300 s is the limit.
        max_age = timedelta(seconds=MAX_AGE_SECONDS) - verifier.max_clock_skew
        results = verifier.verify(message, max_age=max_age, require_components=COVERED)
    except _Stale as error:
        raise PeerRefused(f"the signature is older than {MAX_AGE_SECONDS} s or not yet valid: {error}",
                          reason="signature-expired") from error
    except _UnknownKey as error:
        raise PeerRefused(str(error), reason="unknown-key") from error
    except InvalidSignature as error:
        raise PeerRefused(f"the signature does not hold: {error}", reason="bad-signature") from error
    try:
        ContentDigest.verify_components(results[0].covered_components, body)
    except InvalidSignature as error:
        raise PeerRefused("Content-Digest does not match the body", reason="digest-mismatch") from error
    return keys[results[0].parameters["keyid"]]
