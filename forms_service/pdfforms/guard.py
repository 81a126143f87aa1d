"""Checks an uploaded PDF must pass before it is parsed: kind, size, completeness, nesting."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from forms_service.core.errors import FormsError


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
        max_inflated_bytes: what all Flate streams of the file expand to, together.
        max_objects: objects the file declares (`N 0 obj` outside object streams).
        max_objects_per_mb: objects per MB of file: a real form's objects hold data, a flood
            of empty ones (`1 0 obj` a million times) is built to exhaust the reader.
        max_padding_bytes: bytes outside every stream beyond what its objects explain (a
            huge comment the readers lex byte by byte).
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 100
    max_depth: int = 64
    max_fields: int = 5000
    max_stream_bytes: int = 1024 * 1024
    max_inflated_bytes: int = 512 * 1024 * 1024
    max_objects: int = 100_000
    max_objects_per_mb: int = 40_000
    max_padding_bytes: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"PdfLimits.{name} must be a positive whole number")


_HEADER = re.compile(rb"%PDF-\d\.\d")
#: Brackets that open or close a nesting level, and the keyword after which raw bytes follow.
_TOKENS = re.compile(rb"<<|>>|\[|\]|(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_ENDSTREAM = b"endstream"
#: An object whose whole body is a reference to another ("6 0 obj 7 0 R endobj").
_BARE_REFERENCE = re.compile(rb"(?<!\d)(\d+)\s+\d+\s+obj\s+(\d+)\s+\d+\s+R\s*endobj")
_CHUNK = 1024 * 1024
_MB = 1024 * 1024
#: Objects below which the density is not judged: a small file is cheap whatever its layout.
_DENSITY_FLOOR = 10_000
#: Bytes outside streams one object may account for (its dictionary, its xref entry).
_BYTES_PER_OBJECT = 16 * 1024


def structure_check(content: bytes, limits: PdfLimits) -> None:
    """Refuse a file too large, or declaring too many objects in all or per MB.

    Byte counts only (a few milliseconds for 20 MB): safe to run in the web process before the
    file is handed to a bounded child for everything else.

    Raises:
        PdfTooLarge, PdfBomb.
    """
    if len(content) > limits.max_bytes:
        raise PdfTooLarge(f"The file is larger than {limits.max_bytes // _MB} MB.")
    objects = declared_objects(content)
    if objects > limits.max_objects:
        raise PdfBomb(f"The file declares {objects} objects (the limit is {limits.max_objects}).")
    per_mb = objects * _MB // max(1, len(content))
    if objects > _DENSITY_FLOOR and per_mb > limits.max_objects_per_mb:
        raise PdfBomb(
            f"The file packs {per_mb} objects per MB (the limit is "
            f"{limits.max_objects_per_mb}): it is built to exhaust the reader."
        )


def declared_objects(content: bytes) -> int:
    """How many objects the file declares outside object streams (an estimate from its tokens).

    `obj` also counts each `endobj`; a file of bare `endobj` tokens counts by those.
    """
    ends = content.count(b"endobj")
    return max(content.count(b"obj") - ends, ends)


def preflight(content: bytes, limits: PdfLimits) -> None:
    """Refuse a file that is not a PDF, too large, truncated, padded or nested too deep.

    Checks on the bytes only, run before any parser sees the file: first the byte counts of
    `structure_check`, then scans that walk the file's tokens.

    Raises:
        PdfTooLarge, NotAPdf, CorruptPdf (also for a loop of references), PdfBomb.
    """
    if len(content) > limits.max_bytes:
        raise PdfTooLarge(f"The file is larger than {limits.max_bytes // _MB} MB.")
    if not content.strip():
        raise NotAPdf("The file is empty.")
    if _HEADER.search(content[:1024]) is None:
        raise NotAPdf("The file is not a PDF document.")
    if b"%%EOF" not in content[-2048:]:
        raise CorruptPdf("The file is incomplete (it was cut off while being saved or sent).")
    structure_check(content, limits)
    depth, streams = _layout(content)
    padding = len(content) - sum(end - start for start, end in streams)
    padding -= declared_objects(content) * _BYTES_PER_OBJECT
    if padding > limits.max_padding_bytes:
        raise PdfBomb(
            f"The file carries {padding // _MB} MB outside its objects' data "
            f"(padding, the limit is {limits.max_padding_bytes // _MB} MB)."
        )
    if has_reference_loop(content):
        raise CorruptPdf("The file's objects refer to each other in a loop: it cannot be read.")
    if depth > limits.max_depth:
        raise PdfBomb(
            f"The file nests objects {depth} levels deep (the limit is {limits.max_depth})."
        )
    if inflated_size(content, streams, limits.max_inflated_bytes) > limits.max_inflated_bytes:
        raise PdfBomb(
            f"The file's compressed data expands to more than "
            f"{limits.max_inflated_bytes // (1024 * 1024)} MB."
        )


def has_reference_loop(content: bytes) -> bool:
    """Whether objects that are nothing but a reference to another lead back to themselves.

    pdfminer follows such references without end (resolve1), also inside its own code where
    no resolver of ours is asked: opening the catalogue, walking the page tree. Objects
    packed in object streams are not seen here; those the field walk resolves are bounded.
    """
    target = {int(m.group(1)): int(m.group(2)) for m in _BARE_REFERENCE.finditer(content)}
    finished: set[int] = set()
    for start in target:
        seen: set[int] = set()
        current: int | None = start
        while current in target and current not in finished:
            if current in seen:
                return True
            seen.add(current)
            current = target[current]
        finished |= seen
    return False


def nesting_depth(content: bytes) -> int:
    """The deepest nesting of arrays and dictionaries outside streams (an upper bound)."""
    return _layout(content)[0]


def _layout(content: bytes) -> tuple[int, list[tuple[int, int]]]:
    """The nesting depth outside streams, and where each stream's bytes start and end."""
    depth = deepest = 0
    streams: list[tuple[int, int]] = []
    position = 0
    while True:
        match = _TOKENS.search(content, position)
        if match is None:
            return deepest, streams
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
                return deepest, streams
            streams.append((position, end))
            position = end + len(_ENDSTREAM)


def inflated_size(content: bytes, streams: list[tuple[int, int]], budget: int) -> int:
    """What the zlib streams among `streams` expand to, counted up to just past `budget`.

    Object streams are inflated whole by the parsers, so a small file can hide gigabytes;
    this inflates chunk by chunk and throws the output away.
    """
    view = memoryview(content)
    total = 0
    for start, end in streams:
        pending = bytes(view[start : min(end, start + 2)])
        if len(pending) < 2 or pending[0] != 0x78 or int.from_bytes(pending, "big") % 31:
            continue  # not a zlib header
        inflater = zlib.decompressobj()
        data = bytes(view[start:end])
        while data and total <= budget and not inflater.eof:
            try:
                total += len(inflater.decompress(data, _CHUNK))
            except zlib.error:
                break
            data = inflater.unconsumed_tail
        if total > budget:
            break
    return total
