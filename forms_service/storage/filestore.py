"""Where uploaded and generated files live: a local folder by default."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from forms_service.core.files import PRIVATE_MODE, create_private_dir


class FileStore(Protocol):
    """Content-addressed storage of files (uploads, scans, generated PDFs)."""

    def put(self, content: bytes, *, suffix: str = "") -> str:
        """Store `content` and return its key (stable for the same content)."""

    def get(self, key: str) -> bytes:
        """Return the content stored under `key`; KeyError when absent."""

    def exists(self, key: str) -> bool:
        """Whether `key` is stored."""


class LocalFileStore:
    """Files in a local directory, named by their SHA-256, written atomically.

    Uploads and scans hold personal data: folders are made 0700 and files 0600 (like
    var/secrets.json), whatever the process's umask.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        create_private_dir(root)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, content: bytes, *, suffix: str = "") -> str:
        """Store `content` under its digest (plus `suffix`)."""
        key = hashlib.sha256(content).hexdigest() + suffix
        path = self._path(key)
        if path.exists():
            return key
        create_private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent)  # 0600 (mkstemp's own mode)
        os.fchmod(fd, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        """Read a stored file."""
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        """Whether a file is stored."""
        try:
            return self._path(key).is_file()
        except KeyError:
            return False
