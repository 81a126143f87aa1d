"""Files the service creates that hold personal data: readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path

#: Owner read and write, as var/secrets.json: the databases hold names, addresses and IBANs.
PRIVATE_MODE = 0o600


def create_private_file(path: Path) -> None:
    """Create an empty file at `path` (and its folder) with PRIVATE_MODE, unless it exists.

    An existing file keeps its mode: an operator may have chosen another one on purpose.
    SQLite opens an empty file as a new database and gives its WAL and shared-memory files
    the database file's mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
