"""The local file store: a file stored from disk has the key and content of the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

from forms_service.storage.filestore import LocalFileStore


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
