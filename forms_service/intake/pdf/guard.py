"""Checks an uploaded PDF must pass before it is parsed: kind, size, completeness, nesting."""

from __future__ import annotations

import re
from dataclasses import dataclass

from forms_service.errors import FormsError


class PdfRejected(FormsError):
    """An uploaded file that cannot be read as a returned form."""

    status = 422
    code = "pdf_invalid"

    def __init__(self, reason: str, *, field: str | None = "file") -> None:
        super().__init__(reason, field=field)


class NotAPdf(PdfRejected):
    """The file is not a PDF at all."""

    status = 415
    code = "not_a_pdf"


class PdfTooLarge(PdfRejected):
    """The file is over the size limit."""

    status = 413
    code = "too_large"


class EncryptedPdf(PdfRejected):
    """The file is protected by a password we do not have."""

    code = "pdf_encrypted"


class CorruptPdf(PdfRejected):
    """The file is truncated or damaged beyond reading."""

    code = "pdf_corrupt"


class PdfBomb(PdfRejected):
    """The file is built to exhaust the reader (pages, nesting, fields, streams)."""

    code = "pdf_too_complex"


@dataclass(frozen=True)
class PdfLimits:
    """What a returned PDF may contain before it is refused unread.

    Attributes:
        max_bytes: size of the file.
        max_pages: pages declared by the page tree.
        max_depth: nesting of arrays and dictionaries in the file's plain objects.
        max_fields: form fields and widgets walked.
        max_stream_bytes: decoded size of one appearance stream.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 100
    max_depth: int = 64
    max_fields: int = 5000
    max_stream_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"PdfLimits.{name} must be a positive whole number")


_HEADER = re.compile(rb"%PDF-\d\.\d")
#: Brackets that open or close a nesting level, and the keyword after which raw bytes follow.
_TOKENS = re.compile(rb"<<|>>|\[|\]|(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_ENDSTREAM = b"endstream"


def preflight(content: bytes, limits: PdfLimits) -> None:
    """Refuse a file that is not a PDF, too large, truncated or nested too deep.

    Cheap checks on the bytes only, run before any parser sees the file.

    Raises:
        PdfTooLarge, NotAPdf, CorruptPdf, PdfBomb.
    """
    if len(content) > limits.max_bytes:
        raise PdfTooLarge(f"The file is larger than {limits.max_bytes // (1024 * 1024)} MB.")
    if not content.strip():
        raise NotAPdf("The file is empty.")
    if _HEADER.search(content[:1024]) is None:
        raise NotAPdf("The file is not a PDF document.")
    if b"%%EOF" not in content[-2048:]:
        raise CorruptPdf("The file is incomplete (it was cut off while being saved or sent).")
    depth = nesting_depth(content)
    if depth > limits.max_depth:
        raise PdfBomb(
            f"The file nests objects {depth} levels deep (the limit is {limits.max_depth})."
        )


def nesting_depth(content: bytes) -> int:
    """The deepest nesting of arrays and dictionaries outside streams (an upper bound)."""
    depth = deepest = 0
    position = 0
    while True:
        match = _TOKENS.search(content, position)
        if match is None:
            return deepest
        token = match.group()
        position = match.end()
        if token in (b"<<", b"["):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b">>", b"]"):
            depth = max(0, depth - 1)
        else:
            end = content.find(_ENDSTREAM, position)
            if end < 0:
                return deepest
            position = end + len(_ENDSTREAM)
