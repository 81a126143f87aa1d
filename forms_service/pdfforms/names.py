r"""PDF name objects as bytes, whichever parser read them, and as text for people.

A name is a sequence of bytes (`/Pr#E9sent` is P r 0xE9 s e n t). Writers that predate UTF-8
names put their 8-bit encoding there (Latin-1 / Windows-1252: an old Acrobat, a French
utility), and the two parsers each guess differently: pdfminer keeps the bytes of a name
*value* but turns a dictionary *key* into the Python repr of those bytes ("b'Pr\xe9sent'"),
so an /AS or /V never matched its /AP key; pypdf decodes as UTF-8, else GBK, else Latin-1
(NameObject.CHARSETS), so "Pr#E9sent" became "Pr閟ent". Here both come back to the bytes;
states are compared as bytes (acroform.py) and shown with `name_text`.
"""

from __future__ import annotations

import ast
import re

from pdfminer.utils import PDFDocEncoding

#: What pdfminer's literal_name makes of a key whose bytes are not UTF-8: str(bytes).
_BYTES_REPR = re.compile(r"""\Ab(['"]).*\1\Z""", re.DOTALL)
#: Bytes written as themselves in a name; the others need `#xx` (ISO 32000-1, 7.3.5).
_REGULAR = frozenset(range(0x21, 0x7F)) - frozenset(b"#()<>[]{}/%")


def name_text(raw: bytes) -> str:
    """A name's bytes as text: UTF-8 when they are UTF-8, else PDFDocEncoding.

    Bytes PDFDocEncoding leaves undefined (0x7F, 0x9F, 0xAD) are read as Latin-1.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(
            PDFDocEncoding[b] if PDFDocEncoding[b] != "\x00" or b == 0 else chr(b) for b in raw
        )


def is_utf8(raw: bytes) -> bool:
    """Whether the bytes are valid UTF-8."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def pdfminer_name_bytes(name: str | bytes) -> bytes:
    """The bytes of a pdfminer PSLiteral's name (str when they were UTF-8, else bytes)."""
    return name if isinstance(name, bytes) else name.encode("utf-8")


def pdfminer_key_bytes(key: str) -> bytes:
    """The bytes of a pdfminer dictionary key (the repr of the bytes when they were not UTF-8).

    A key spelled like a bytes literal whose value is UTF-8 is a real key of that spelling:
    pdfminer would have decoded it.
    """
    if _BYTES_REPR.match(key):
        try:
            found = ast.literal_eval(key)
        except (ValueError, SyntaxError):
            found = None
        if isinstance(found, bytes) and not is_utf8(found):
            return found
    return key.encode("utf-8")


def pypdf_name_bytes(text: str, content: bytes) -> bytes:
    """The bytes of a name pypdf decoded to `text` (without its slash), given the file.

    pypdf tries UTF-8, GBK, then Latin-1. Latin-1 is undone by encoding back (the text reads
    the same either way). GBK is ambiguous (genuine UTF-8 CJK text encodes to GBK too): the
    name is taken as UTF-8 when the file spells it in UTF-8, else as the 8-bit bytes pypdf
    read as GBK (a legacy-encoded name in a compressed object stream is read right; a UTF-8
    CJK name in one is read as bytes).
    """
    if text.isascii():
        return text.encode("ascii")
    utf8 = text.encode("utf-8")
    for charset in ("latin-1", "gbk"):
        try:
            raw = text.encode(charset)
        except UnicodeEncodeError:
            continue
        if is_utf8(raw):
            continue  # pypdf would have read these bytes as UTF-8: not where `text` came from
        if charset == "latin-1" or not _spelled(utf8, content):
            return raw
    return utf8


def escaped(raw: bytes, *, lower: bool = False) -> bytes:
    """A name's bytes spelled with `#xx` for every byte that is not a regular character."""
    pattern = "#{:02x}" if lower else "#{:02X}"
    return b"".join(bytes([b]) if b in _REGULAR else pattern.format(b).encode() for b in raw)


def _spelled(raw: bytes, content: bytes) -> bool:
    return any(
        b"/" + spelling in content for spelling in (raw, escaped(raw), escaped(raw, lower=True))
    )
