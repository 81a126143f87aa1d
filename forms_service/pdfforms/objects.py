"""Two views of a PDF's objects (pdfplumber/pdfminer first, pypdf as fallback) behind one API."""

from __future__ import annotations

import codecs
import io
import re
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import pdfplumber
import pypdf
from pdfminer.pdfdevice import PDFTextDevice
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdffont import PDFFont, PDFUnicodeNotDefined
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import PDFObjRef, PDFStream
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
)

from forms_service.pdfforms.guard import CorruptPdf, EncryptedPdf, PdfBomb, PdfLimits
from forms_service.pdfforms.names import (
    name_text,
    pdfminer_key_bytes,
    pdfminer_name_bytes,
    pypdf_name_bytes,
)

#: Text-showing operators (Tj, TJ, ', ") in a content stream.
_SHOWS_TEXT = re.compile(rb"T[jJ]\b|['\"]")
_ENCRYPT_ENTRY = re.compile(rb"/Encrypt\s*\d+\s+\d+\s+R")
_ENCRYPTED = (
    "The file is protected by a password. Save a copy without a password and send it again."
)
#: References followed from one value before they count as a loop: writers chain one or
#: two; "6 0 R" naming "7 0 R" naming "6 0 R" never ends.
_MAX_REFERENCE_HOPS = 32


class PdfObjects(Protocol):
    """Read access to a parsed PDF: resolved values with names and strings decoded."""

    reader: str
    encrypted: bool

    def catalog(self) -> Mapping[str, Any]:
        """The document catalog."""

    def info(self) -> Mapping[str, Any]:
        """The document information dictionary (may be empty)."""

    def resolve(self, value: Any) -> Any:
        """The object a reference points to (the value itself when not a reference)."""

    def get(self, holder: Any, key: str) -> Any:
        """The resolved value of `key` in a dictionary (keys without the slash), or None."""

    def as_dict(self, value: Any) -> Mapping[str, Any] | None:
        """The value as a dictionary (a stream's dictionary too), None otherwise."""

    def as_list(self, value: Any) -> list[Any]:
        """The value as a list of unresolved items ([] when not an array)."""

    def name(self, value: Any) -> str | None:
        """A name object without its slash, as text (names.name_text), None for anything else."""

    def name_bytes(self, value: Any) -> bytes | None:
        """A name object's bytes without its slash, None for anything else."""

    def key_bytes(self, value: Any) -> list[bytes]:
        """The keys of a dictionary as name bytes, in order ([] when not a dictionary)."""

    def get_key(self, holder: Any, key: bytes) -> Any:
        """The resolved value under the key whose name bytes are `key`, or None."""

    def text(self, value: Any) -> str | None:
        """A string object decoded (PDFDocEncoding, UTF-16 or UTF-8 with BOM)."""

    def is_stream(self, value: Any) -> bool:
        """Whether the value is a stream."""

    def pages(self) -> Iterator[Mapping[str, Any]]:
        """The page dictionaries in order."""

    def drawn_text(self, stream: Any, resources: Any) -> str:
        """The text a content stream (an appearance) draws, lines joined with newlines."""

    def stream_text(self, stream: Any) -> str:
        """The decoded content of a stream read as text (a rich-text value)."""

    def close(self) -> None:
        """Release the parser."""


def decode_string(raw: bytes) -> str:
    """Decode a PDF text string: UTF-16 (either byte order) or UTF-8 with BOM, else PDFDocEncoding."""
    if raw.startswith(codecs.BOM_UTF16_BE):
        return raw[2:].decode("utf-16-be", errors="replace")
    if raw.startswith(codecs.BOM_UTF16_LE):
        return raw[2:].decode("utf-16-le", errors="replace")
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace")
    # pdfminer's PDFDocEncoding table turns byte 0x16 (SYN) into U+0017, a slip copied from
    # the spec's table; Acrobat, PDFium and pdftk all mean U+0016 (tests/readers/test_oracles).
    return "\x16".join(str(decode_text(part)) for part in raw.split(b"\x16"))


def _inflate_checked(raw: bytes, limit: int) -> None:
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(raw, limit + 1)
    except zlib.error:
        return
    if inflater.unconsumed_tail:
        raise PdfBomb("An appearance in the file expands to more data than allowed.")


def _join_lines(chunks: list[tuple[float, str]]) -> str:
    lines: list[str] = []
    last_y: float | None = None
    for y, text in chunks:
        if last_y is None or abs(y - last_y) > 1.0 or not lines:
            lines.append(text)
        else:
            lines[-1] += text
        last_y = y
    return "\n".join(line.strip() for line in lines if line.strip())


class _TextCollector(PDFTextDevice):
    """A pdfminer device that keeps the characters drawn and where they were drawn."""

    def __init__(self, resources: PDFResourceManager) -> None:
        super().__init__(resources)
        self.chunks: list[tuple[float, str]] = []

    def render_char(
        self,
        matrix: tuple[float, float, float, float, float, float],
        font: PDFFont,
        fontsize: float,
        scaling: float,
        rise: float,
        cid: int,
        ncs: Any,
        graphicstate: Any,
    ) -> float:
        try:
            text = font.to_unichr(cid)
        except PDFUnicodeNotDefined:
            text = chr(cid) if 32 <= cid < 127 else ""
        self.chunks.append((round(matrix[5], 1), text))
        return float(font.char_width(cid) * fontsize * scaling)


def _resolved(value: Any) -> Any:
    """What a pdfminer value is once its references are followed (pdfminer's resolve1, bounded).

    Raises:
        CorruptPdf: the references loop (resolve1 would follow them without end).
    """
    for _ in range(_MAX_REFERENCE_HOPS):
        if not isinstance(value, PDFObjRef):
            return value
        value = value.resolve()
    raise CorruptPdf("The file's objects refer to each other in a loop: it cannot be read.")


class PdfminerObjects:
    """The pdfplumber (pdfminer.six) view: lenient, handles incremental updates and encryption."""

    reader = "pdfplumber"

    def __init__(self, content: bytes, limits: PdfLimits) -> None:
        self.limits = limits
        try:
            self._pdf = pdfplumber.open(io.BytesIO(content), password="")
        except pdfplumber.utils.exceptions.PdfminerException as exc:
            cause = exc.args[0] if exc.args else exc
            if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
                raise EncryptedPdf(_ENCRYPTED) from None
            raise CorruptPdf("The file is damaged and cannot be read.") from None
        except (RecursionError, MemoryError):
            raise PdfBomb("The file is built to exhaust the reader.") from None
        except Exception:  # the metadata or the trailer is damaged
            raise CorruptPdf("The file is damaged and cannot be read.") from None
        self._doc = self._pdf.doc
        self.encrypted = self._doc.encryption is not None
        # One resource manager per file: its fonts are loaded once for all appearances.
        self._manager = PDFResourceManager(caching=True)

    def catalog(self) -> Mapping[str, Any]:
        return self._doc.catalog or {}

    def info(self) -> Mapping[str, Any]:
        return self._doc.info[0] if self._doc.info else {}

    def resolve(self, value: Any) -> Any:
        return _resolved(value)

    def get(self, holder: Any, key: str) -> Any:
        found = self.as_dict(holder)
        return None if found is None else _resolved(found.get(key))

    def as_dict(self, value: Any) -> Mapping[str, Any] | None:
        value = _resolved(value)
        if isinstance(value, PDFStream):
            return value.attrs
        return value if isinstance(value, dict) else None

    def as_list(self, value: Any) -> list[Any]:
        value = _resolved(value)
        return list(value) if isinstance(value, list) else []

    def name(self, value: Any) -> str | None:
        raw = self.name_bytes(value)
        return None if raw is None else name_text(raw)

    def name_bytes(self, value: Any) -> bytes | None:
        value = _resolved(value)
        return pdfminer_name_bytes(value.name) if isinstance(value, PSLiteral) else None

    def key_bytes(self, value: Any) -> list[bytes]:
        return [pdfminer_key_bytes(str(k)) for k in self.as_dict(value) or {}]

    def get_key(self, holder: Any, key: bytes) -> Any:
        for name, value in (self.as_dict(holder) or {}).items():
            if pdfminer_key_bytes(str(name)) == key:
                return _resolved(value)
        return None

    def text(self, value: Any) -> str | None:
        value = _resolved(value)
        return decode_string(value) if isinstance(value, bytes) else None

    def is_stream(self, value: Any) -> bool:
        return isinstance(_resolved(value), PDFStream)

    def pages(self) -> Iterator[Mapping[str, Any]]:
        for page in PDFPage.create_pages(self._doc):
            yield page.attrs

    def _data(self, stream: PDFStream) -> bytes:
        filters = [self.name(f) for f in self.as_list(stream.get("Filter"))] or [
            self.name(stream.get("Filter"))
        ]
        if filters == ["FlateDecode"] and stream.rawdata is not None:
            _inflate_checked(stream.rawdata, self.limits.max_stream_bytes)
        data: bytes = stream.get_data()
        if len(data) > self.limits.max_stream_bytes:
            raise PdfBomb("An appearance in the file expands to more data than allowed.")
        return data

    def drawn_text(self, stream: Any, resources: Any) -> str:
        stream = _resolved(stream)
        if not isinstance(stream, PDFStream):
            return ""
        if _SHOWS_TEXT.search(self._data(stream)) is None:
            return ""  # an empty box's appearance: no need to load its fonts
        own = self.as_dict(stream.get("Resources")) or {}
        fallback = self.as_dict(resources) or {}
        merged: dict[object, object] = dict(fallback.items())
        merged.update(own.items())
        if "Font" not in own and "Font" in fallback:
            merged["Font"] = fallback["Font"]
        device = _TextCollector(self._manager)
        try:
            PDFPageInterpreter(self._manager, device).render_contents(merged, [stream])
        except (RecursionError, MemoryError):
            raise PdfBomb("An appearance in the file is built to exhaust the reader.") from None
        except Exception:  # a broken appearance only loses its text
            return _join_lines(device.chunks)
        return _join_lines(device.chunks)

    def stream_text(self, stream: Any) -> str:
        stream = _resolved(stream)
        if not isinstance(stream, PDFStream):
            return ""
        return decode_string(self._data(stream))

    def close(self) -> None:
        # Not pdfplumber's close(): it would parse every page (a page bomb, or damage).
        self._pdf.stream.close()


class PypdfObjects:
    """The pypdf view, used when pdfminer cannot parse a file."""

    reader = "pypdf"

    def __init__(self, content: bytes, limits: PdfLimits) -> None:
        self.limits = limits
        self._content = content
        try:
            self._reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
            self.encrypted = self._reader.is_encrypted
            if self.encrypted:
                self._decrypt()
            self._root = self._reader.trailer["/Root"].get_object()
        except EncryptedPdf:
            raise
        except pypdf.errors.FileNotDecryptedError:
            raise EncryptedPdf(_ENCRYPTED) from None
        except (RecursionError, MemoryError):
            raise PdfBomb("The file is built to exhaust the reader.") from None
        except Exception:  # any parser failure means the same to the customer
            if _ENCRYPT_ENTRY.search(content):
                # An encryption dictionary pypdf cannot even set up: a protected file.
                raise EncryptedPdf(_ENCRYPTED) from None
            raise CorruptPdf("The file is damaged and cannot be read.") from None

    @staticmethod
    def _resolve(value: Any) -> Any:
        return value.get_object() if isinstance(value, IndirectObject) else value

    def _decrypt(self) -> None:
        """Open with the empty user password; any other protection (or a broken one) is refused."""
        try:
            opened = self._reader.decrypt("")
        except Exception:  # unsupported or damaged encryption: still a protected file
            raise EncryptedPdf(_ENCRYPTED) from None
        if not opened:
            raise EncryptedPdf(_ENCRYPTED)

    def catalog(self) -> Mapping[str, Any]:
        return self._root if isinstance(self._root, DictionaryObject) else {}

    def resolve(self, value: Any) -> Any:
        return self._resolve(value)

    def info(self) -> Mapping[str, Any]:
        # Kept a DictionaryObject: get() looks keys up with their slash, as everywhere else.
        found = self._resolve(self._reader.trailer.get("/Info"))
        return found if isinstance(found, DictionaryObject) else {}

    def get(self, holder: Any, key: str) -> Any:
        found = self.as_dict(holder)
        return None if found is None else self._resolve(found.get(f"/{key}"))

    def as_dict(self, value: Any) -> Mapping[str, Any] | None:
        value = self._resolve(value)
        return value if isinstance(value, DictionaryObject) else None

    def as_list(self, value: Any) -> list[Any]:
        value = self._resolve(value)
        return list(value) if isinstance(value, ArrayObject) else []

    def name(self, value: Any) -> str | None:
        raw = self.name_bytes(value)
        return None if raw is None else name_text(raw)

    def name_bytes(self, value: Any) -> bytes | None:
        value = self._resolve(value)
        if not isinstance(value, NameObject):
            return None
        return pypdf_name_bytes(str(value)[1:], self._content)

    def key_bytes(self, value: Any) -> list[bytes]:
        return [pypdf_name_bytes(str(k)[1:], self._content) for k in self.as_dict(value) or {}]

    def get_key(self, holder: Any, key: bytes) -> Any:
        for name, value in (self.as_dict(holder) or {}).items():
            if pypdf_name_bytes(str(name)[1:], self._content) == key:
                return self._resolve(value)
        return None

    def text(self, value: Any) -> str | None:
        value = self._resolve(value)
        if isinstance(value, NameObject) or not isinstance(value, str | bytes):
            return None
        return decode_string(value) if isinstance(value, bytes) else str(value)

    def is_stream(self, value: Any) -> bool:
        return isinstance(self._resolve(value), StreamObject)

    def pages(self) -> Iterator[Mapping[str, Any]]:
        yield from self._reader.pages

    def _data(self, stream: StreamObject) -> bytes:
        if self.name(stream.get("/Filter")) == "FlateDecode":
            _inflate_checked(stream._data, self.limits.max_stream_bytes)
        data: bytes = stream.get_data()
        if len(data) > self.limits.max_stream_bytes:
            raise PdfBomb("An appearance in the file expands to more data than allowed.")
        return data

    def drawn_text(self, stream: Any, resources: Any) -> str:
        stream = self._resolve(stream)
        if not isinstance(stream, StreamObject):
            return ""
        if _SHOWS_TEXT.search(self._data(stream)) is None:
            return ""
        chunks: list[tuple[float, str]] = []
        y = 0.0
        try:
            for operands, operator in ContentStream(stream, self._reader).operations:
                if operator in (b"Td", b"TD") and len(operands) == 2:
                    y += float(operands[1])
                elif operator == b"Tm" and len(operands) == 6:
                    y = float(operands[5])
                elif operator in (b"T*", b"'", b'"'):
                    y -= 1000.0
                if operator in (b"Tj", b"'", b'"') and operands:
                    chunks.append((y, self._shown(operands[-1])))
                elif operator == b"TJ" and operands:
                    shown = "".join(self._shown(p) for p in self.as_list(operands[0]))
                    chunks.append((y, shown))
        except Exception:  # a broken appearance only loses its text
            return _join_lines(chunks)
        return _join_lines(chunks)

    @staticmethod
    def _shown(operand: Any) -> str:
        if isinstance(operand, bytes):
            return decode_string(operand)
        return operand if isinstance(operand, str) else ""

    def stream_text(self, stream: Any) -> str:
        stream = self._resolve(stream)
        if not isinstance(stream, StreamObject):
            return ""
        return decode_string(self._data(stream))

    def close(self) -> None:
        self._reader.close()


def open_objects(content: bytes, limits: PdfLimits, *, reader: str = "auto") -> PdfObjects:
    """Parse `content` with pdfplumber, or with pypdf when pdfplumber cannot.

    Args:
        content: the PDF bytes (already through `preflight`).
        limits: the limits to enforce while reading.
        reader: "auto", "pdfplumber" or "pypdf" (tests compare both).

    Raises:
        EncryptedPdf: protected by a password other than the empty one.
        CorruptPdf: neither parser can read it.
    """
    if reader == "pypdf":
        return PypdfObjects(content, limits)
    try:
        objects = PdfminerObjects(content, limits)
    except CorruptPdf:
        if reader == "pdfplumber":
            raise
        return PypdfObjects(content, limits)
    if reader == "pdfplumber":
        return objects
    try:
        usable = objects.get(objects.catalog(), "Pages") is not None
    except (RecursionError, MemoryError):
        raise PdfBomb("The file is built to exhaust the reader.") from None
    except Exception:  # a damaged catalog: pypdf may still read the file
        usable = False
    if usable:
        return objects
    objects.close()
    return PypdfObjects(content, limits)
