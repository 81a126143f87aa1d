"""Where uploaded and generated files live: a local folder by default."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from forms_service.core.files import PRIVATE_MODE, create_private_dir

#: Bytes read at a time from a file being stored.
_CHUNK = 1024 * 1024


class FileStore(Protocol):
    """Content-addressed storage of files (uploads, scans, generated PDFs)."""

    def put(self, content: bytes, *, suffix: str = "") -> str:
        """Store `content` and return its key (stable for the same content)."""

    def put_file(self, path: Path, *, suffix: str = "") -> str:
        """Store the file at `path` (read in chunks, never whole in memory); its key."""

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

    def put_file(self, path: Path, *, suffix: str = "") -> str:
        """Store the file at `path` under its digest: hashed and copied in chunks."""
        digest = hashlib.sha256()
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                digest.update(chunk)
        key = digest.hexdigest() + suffix
        target = self._path(key)
        if target.exists():
            return key
        create_private_dir(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent)  # 0600 (mkstemp's own mode)
        with os.fdopen(fd, "wb") as handle, path.open("rb") as source:
            shutil.copyfileobj(source, handle, _CHUNK)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
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
