"""Mailroom batches sent over HTTP: each file on disk, handed on by path, never read whole."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import request
from werkzeug.datastructures import FileStorage

from forms_service.intake.mailroom.service import BatchTooLarge, Upload, refuse_too_large
from forms_service.web.context import runtime


@contextmanager
def spooled(files: Iterable[FileStorage]) -> Iterator[list[Upload]]:
    """The uploaded files copied in chunks to a private temporary folder, as Uploads by path.

    Werkzeug has already spooled each large part to a temporary file; this copies it once
    more to a path the page counter (PDFium, Pillow) and the file store read from disk. The
    folder is removed when the block ends, once the mailroom has stored the files.
    """
    with tempfile.TemporaryDirectory(prefix="forms-batch-") as folder:
        uploads = []
        for position, storage in enumerate(files):
            path = Path(folder) / f"{position:04d}"
            storage.save(path)
            uploads.append(Upload(storage.filename or "scan", path=path))
        yield uploads


def too_large() -> BatchTooLarge:
    """The refusal of a batch request over the mailroom's limit, with its size and the limit.

    Its `reason` is English (the API's); `refusals.said` gives it in the screen's language.
    """
    return refuse_too_large(request.content_length or 0, runtime().mailroom.max_batch_bytes)
