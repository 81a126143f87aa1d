"""The local file store keeps uploads and scans private: folders 0700, files 0600 (issue 18)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_service.storage.filestore import LocalFileStore


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask of most shells and services (022): what made var/files world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_folders_and_files_are_their_owners_only(tmp_path: Path) -> None:
    root = tmp_path / "var" / "files"
    store = LocalFileStore(root)
    key = store.put(b"%PDF-1.7 an IBAN inside", suffix=".pdf")
    stored = root / key[:2] / key
    assert stored.read_bytes() == b"%PDF-1.7 an IBAN inside"
    assert _mode(stored) == 0o600
    assert _mode(stored.parent) == 0o700
    assert _mode(root) == 0o700
    assert _mode(root.parent) == 0o700  # var/ made for the store is private too


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_folder_keeps_the_mode_its_operator_chose(tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir(mode=0o750)
    os.chmod(root, 0o750)  # noqa: S103 - the mode an operator chose, kept
    store = LocalFileStore(root)
    key = store.put(b"scan")
    assert _mode(root) == 0o750
    assert _mode(root / key[:2]) == 0o700
    assert store.get(key) == b"scan" and store.exists(key)
