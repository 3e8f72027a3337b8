"""The evidence bundle's archive: files, a manifest of their SHA-256 hashes, its Ed25519 signature; and the check.

The check needs nothing but the zip and a public key: anyone the bundle is handed to (the police, another
exchange) can run it offline.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
# Every member gets this time: the same files always make the same archive bytes.
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_TEXT = (".json", ".sig", ".svg", ".txt")


@dataclass(frozen=True)
class Signer:
    """This instance's signing key and the id peers know its public half by."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key_b64(self) -> str:
        """The raw 32-byte public key as base64."""
        return base64.b64encode(self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class BundleCheck:
    """The outcome of checking a bundle: valid, or the first file (or the signature) that does not hold."""

    valid: bool
    first_bad: str | None = None
    reason: str | None = None
    manifest: dict[str, Any] | None = None


def manifest_bytes(*, incident: str, created_at: datetime, key_id: str, audit_head: str | None,
                   files: dict[str, bytes], extra: dict[str, Any] | None = None) -> bytes:
    """manifest.json's bytes: the case, the key, the audit head and every file's path, SHA-256 and size."""
    listed = [{"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
              for path, data in files.items()]
    body = {"incident": incident, "created_at": created_at.isoformat().replace("+00:00", "Z"), "key_id": key_id,
            "audit_head": audit_head, "files": listed, **(extra or {})}
    return json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True).encode()


def write_archive(files: dict[str, bytes], *, manifest: bytes, signer: Signer) -> bytes:
    """The zip: the manifest, its signature (base64), then the files in the manifest's order."""
    signature = base64.b64encode(signer.private_key.sign(manifest))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in ((MANIFEST, manifest), (SIGNATURE, signature), *files.items()):
            # Photos and PDFs are compressed already: deflating them again cost half the bundle's CPU for nothing.
            kind = zipfile.ZIP_DEFLATED if path.endswith(_TEXT) else zipfile.ZIP_STORED
            archive.writestr(zipfile.ZipInfo(path, date_time=_FIXED_TIME), data, compress_type=kind)
    return buffer.getvalue()


def check_archive(data: bytes, *, public_key: Ed25519PublicKey) -> BundleCheck:
    """Check the signature over the manifest, then every listed file's hash and size, in the manifest's order."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            return BundleCheck(False, MANIFEST if MANIFEST not in names else SIGNATURE, "missing")
        manifest = archive.read(MANIFEST)
        signature = base64.b64decode(archive.read(SIGNATURE), validate=True)
    except (zipfile.BadZipFile, zlib.error, ValueError, KeyError, OSError) as error:
        return BundleCheck(False, MANIFEST, f"unreadable archive: {error}")
    try:
        public_key.verify(signature, manifest)
    except InvalidSignature:
        return BundleCheck(False, SIGNATURE, "the signature does not match manifest.json for this key")
    listed = json.loads(manifest)
    for entry in listed["files"]:
        found = _read_member(archive, entry["path"])
        if found is None:
            return BundleCheck(False, entry["path"], "missing", listed)
        if len(found) != entry["size"] or hashlib.sha256(found).hexdigest() != entry["sha256"]:
            return BundleCheck(False, entry["path"], "its SHA-256 does not match the manifest", listed)
    unlisted = sorted(names - {MANIFEST, SIGNATURE} - {entry["path"] for entry in listed["files"]})
    if unlisted:
        return BundleCheck(False, unlisted[0], "not listed in the manifest", listed)
    return BundleCheck(True, manifest=listed)


def _read_member(archive: zipfile.ZipFile, path: str) -> bytes | None:
    """A member's bytes; a member whose stored CRC fails (tampered deflated bytes) reads as tampered, not absent."""
    try:
        return archive.read(path)
    except KeyError:
        return None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        return b""  # unreadable (a changed byte in its compressed form): reported as not matching its hash


def load_public_key(value: str) -> Ed25519PublicKey:
    """A raw 32-byte Ed25519 public key given as base64."""
    raw = base64.b64decode(value, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)
