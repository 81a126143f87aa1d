"""The embedded DejaVu fonts, whose subsets are built and compressed once per distinct subset.

reportlab embeds, in every PDF, a subset of each TrueType font it used: it cuts the glyphs
out of the font file, compresses them with zlib and writes the character widths and the
ToUnicode map (what makes the text extractable). In a campaign almost every document uses
the same characters, so it repeated the same work, a third of a document's rendering time.
`CachedSubsetFont` keeps the finished bytes of those objects per subset and writes them into
each document again: the same bytes reportlab writes, without building them again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FILES = ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf"))


@cache
def register_fonts() -> None:
    """Make the DejaVu fonts known to reportlab (once per process); they embed as subsets."""
    for name, file in _FILES:
        pdfmetrics.registerFont(CachedSubsetFont(name, str(FONT_DIR / file)))


class _Formatted(pdfdoc.PDFObject):
    """A PDF object whose bytes were formatted before (no references inside)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


class _FormattedStream(_Formatted):
    """A stream formatted before: like every stream, an indirect object of its own."""

    __RefOnly__ = 1


@dataclass(frozen=True)
class _SubsetObjects:
    """One subset's objects as reportlab formats them, ready to be written again."""

    font_file: bytes
    to_unicode: bytes
    widths: bytes


class CachedSubsetFont(TTFont):
    """A reportlab TrueType font that builds each distinct subset's objects once.

    The objects and their order are reportlab's own (`TTFont.addObjects`,
    `TTFontFace.addSubsetObjects`); a document with the same subset as an earlier one gets
    the same bytes. A subset is the list of characters in the order the document first
    used them, so documents that differ only in ASCII text share one; the cache keeps the
    most recent few, its memory bounded whatever the campaign's size.
    """

    CACHE_SIZE = 64  # about 20 kB each: 1.3 MB per font at most

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self._cache: OrderedDict[tuple[int, bool, tuple[int, ...]], _SubsetObjects] = OrderedDict()
        # The web workers' threads render customer copies concurrently with one font object.
        self._lock = threading.Lock()

    def addObjects(self, doc: Any) -> None:
        """Add this font's subsets to `doc`, as `TTFont.addObjects` does."""
        if not isinstance(doc.encrypt, pdfdoc.NoEncryption):
            super().addObjects(doc)  # encrypted streams differ per document: nothing to reuse
            return
        state = self._assignState(doc)
        state.frozen = 1
        face = self.face
        for number, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(number, doc)[1:]
            base_font_name = b"".join((SUBSETN(number), b"+", face.name, face.subfontNameX)).decode(
                "pdfdoc"
            )
            objects = self._objects(number, base_font_name, subset, bool(doc.compression))

            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {number}"
            font.Name = internal_name
            font.BaseFont = base_font_name
            font.FirstChar = 0
            font.LastChar = len(subset) - 1
            font.Widths = _Formatted(objects.widths)
            font.ToUnicode = doc.Reference(
                _FormattedStream(objects.to_unicode), "toUnicodeCMap:" + base_font_name
            )
            font.FontDescriptor = self._descriptor(doc, base_font_name, objects)
            doc.Reference(font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = font
        del self.state[doc]

    def _descriptor(self, doc: Any, base_font_name: str, objects: _SubsetObjects) -> Any:
        # As TTFontFace.addSubsetObjects, with the font file formatted once.
        face = self.face
        font_file = doc.Reference(
            _FormattedStream(objects.font_file), f"fontFile:{face.filename}({base_font_name})"
        )
        flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": face.ascent,
                "CapHeight": face.capHeight,
                "Descent": face.descent,
                "Flags": flags,
                "FontBBox": pdfdoc.PDFArray(face.bbox),
                "FontName": pdfdoc.PDFName(base_font_name),
                "ItalicAngle": face.italicAngle,
                "StemV": face.stemV,
                "FontFile2": font_file,
                "MissingWidth": face.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + base_font_name)

    def _objects(
        self, number: int, base_font_name: str, subset: list[int], compression: bool
    ) -> _SubsetObjects:
        key = (number, compression, tuple(subset))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        scratch = pdfdoc.PDFDocument()  # formatting these objects uses nothing of a document
        filters = [pdfdoc.PDFZCompress] if compression else None
        font_file = pdfdoc.PDFStream(content=self.face.makeSubset(subset), filters=filters)
        font_file.dictionary["Length1"] = len(font_file.content)
        to_unicode = pdfdoc.PDFStream(
            content=makeToUnicodeCMap(base_font_name, subset), filters=filters
        )
        widths = pdfdoc.PDFArray(list(map(self.face.getCharWidth, subset)))
        cached = _SubsetObjects(
            font_file=font_file.format(scratch),
            to_unicode=to_unicode.format(scratch),
            widths=widths.format(scratch),
        )
        with self._lock:
            self._cache[key] = cached
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return cached
