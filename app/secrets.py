"""Secrets for the embedded setup: generated once into the instance folder when the environment gives none."""
from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

GENERATORS = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "FIELD_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    "ANOMALY_WEBHOOK_SECRET": lambda: secrets.token_urlsafe(32),
    # The instance's Ed25519 key: base64 of the 32-byte seed (API.md "Handing the case on").
    "SIGNING_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
}


def fill_missing(config: dict, instance_path: str) -> None:
    """Give every unset secret a value kept in instance/secrets.json (mode 0600)."""
    missing = [name for name in GENERATORS if not config.get(name)]
    if not missing:
        return
    path = Path(instance_path) / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    for name in missing:
        stored.setdefault(name, GENERATORS[name]())
        config[name] = stored[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(stored, handle, indent=2)


def split_keys(value: str) -> list[str]:
    """Comma-separated keys, newest first (rotation keeps the old ones after the new)."""
    return [key.strip() for key in value.split(",") if key.strip()]
