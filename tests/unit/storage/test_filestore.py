"""The local file store: private folders and files (issue 18), files stored from disk."""

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


def test_a_file_stored_by_path_is_the_same_as_its_bytes(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    content = os.urandom(3 * 1024 * 1024 + 17)  # several chunks and a remainder
    source = tmp_path / "batch.tiff"
    source.write_bytes(content)
    key = store.put_file(source, suffix=".tiff")
    assert key == store.put(content, suffix=".tiff")
    assert store.get(key) == content
    assert store.put_file(source, suffix=".tiff") == key  # stored once
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == [key]
