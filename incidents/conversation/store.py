"""The port files are kept behind, and its embedded adapter: one file per blob under a folder."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from kernel.errors import DomainError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,199}\Z")


class BlobMissing(Exception):
    """No blob is stored under the key."""


class BlobStoreUnavailable(DomainError):
    """The file store did not answer as it should; nothing was stored."""

    status, slug, title = 503, "unavailable", "File store unavailable"


class BlobStore(Protocol):
    """Where the encrypted bytes of attachments live; keys are chosen by the caller."""

    def put(self, key: str, data: bytes) -> None:
        """Store the bytes under the key (overwriting)."""

    def get(self, key: str) -> bytes:
        """The bytes under the key; BlobMissing when there are none."""

    def delete(self, key: str) -> None:
        """Remove the key's bytes; nothing happens when there are none."""

    def exists(self, key: str) -> bool:
        """Whether bytes are stored under the key."""


def checked_key(key: str) -> str:
    """A key that cannot climb out of the store's folder or bucket prefix."""
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class FileBlobStore:
    """Blobs as files under a folder (the embedded default, under the instance folder)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        """The file of a key."""
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Write to a temporary file and rename it: a reader never sees half a blob."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Read the key's file."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc

    def delete(self, key: str) -> None:
        """Remove the key's file."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether the key's file exists."""
        return self._path(key).is_file()
