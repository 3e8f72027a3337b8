"""Secrets for the embedded setup: generated once into the instance folder when the environment gives none.

Several processes may start at once (gunicorn workers, a Celery worker beside them): the file is
created under an exclusive lock, written to a temporary file and renamed into place, so a reader sees
the whole file or none, and every process ends up with the same keys.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

GENERATORS: dict[str, Callable[[], str]] = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "FIELD_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    "ANOMALY_WEBHOOK_SECRET": lambda: secrets.token_urlsafe(32),
    # The instance's Ed25519 key: base64 of the 32-byte seed (API.md "Handing the case on").
    "SIGNING_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
}
FILE_NAME = "secrets.json"


def missing(config: Mapping[str, Any]) -> list[str]:
    """The secrets the settings do not give (production refuses to generate them)."""
    return [name for name in GENERATORS if not config.get(name)]


def fill_missing(config: dict, instance_path: str) -> list[str]:
    """Give every unset secret a value kept in instance/secrets.json (mode 0600); the names filled in."""
    names = missing(config)
    if not names:
        return []
    stored = ensure_stored(Path(instance_path), names)
    for name in names:
        config[name] = stored[name]
    return names


def ensure_stored(folder: Path, names: list[str]) -> dict[str, str]:
    """The stored secrets, with any of `names` not stored yet generated once and written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    with open(folder / f".{FILE_NAME}.lock", "a") as lock:
        # Only one process reads, generates and writes at a time; the others then read what it wrote.
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(path.read_text()) if path.exists() else {}
        absent = [name for name in names if name not in stored]
        if absent:
            stored.update({name: GENERATORS[name]() for name in absent})
            _write_atomically(path, stored)
    return stored


def _write_atomically(path: Path, values: dict[str, str]) -> None:
    """Write a 0600 temporary file beside `path`, flush it to disk and rename it over `path`."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
            json.dump(values, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def split_keys(value: str) -> list[str]:
    """Comma-separated keys, newest first (rotation keeps the old ones after the new)."""
    return [key.strip() for key in value.split(",") if key.strip()]
