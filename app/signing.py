"""The instance's Ed25519 key (SIGNING_KEY: base64 of the 32-byte seed): it signs what leaves the database."""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "ed25519"


def public_key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key with its public half and key id."""

    private: Ed25519PrivateKey

    @classmethod
    def from_setting(cls, value: str) -> SigningKey:
        """Read SIGNING_KEY; a value that is not base64 of 32 bytes stops the start with a clear message."""
        try:
            seed = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("SIGNING_KEY must be base64 of a 32-byte Ed25519 seed") from exc
        if len(seed) != 32:
            raise ValueError("SIGNING_KEY must be base64 of a 32-byte Ed25519 seed")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key_b64(self) -> str:
        """The public key as API.md shows it."""
        return base64.b64encode(self.public_key).decode()

    @property
    def key_id(self) -> str:
        """This key's id."""
        return public_key_id(self.public_key)

    def sign(self, message: bytes) -> str:
        """A base64 Ed25519 signature of the message."""
        return base64.b64encode(self.private.sign(message)).decode()


def signature_holds(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """Whether a base64 signature of the message was made by the key with this base64 public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
