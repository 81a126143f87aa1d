"""Files the service creates that hold personal data: readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path

#: Owner read and write, as var/secrets.json: the databases hold names, addresses and IBANs.
PRIVATE_MODE = 0o600
#: Folders of such files: their owner only may list, enter or add to them.
PRIVATE_DIR_MODE = 0o700


def create_private_dir(path: Path) -> None:
    """Create folder `path` and each missing parent with PRIVATE_DIR_MODE.

    `Path.mkdir(parents=True, mode=…)` gives the parents it makes the umask's mode (0755
    usually): each missing level is made here instead. Existing folders keep their mode.
    """
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process
        # mkdir's mode passes through the umask, which may take more (never adds): set it.
        os.chmod(folder, PRIVATE_DIR_MODE)


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
