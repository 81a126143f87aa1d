"""Human labels for a PDF's fields: the tooltip, else the text printed beside the box, else the name.

Government forms often give no tooltip (/TU) and name their fields `f1_1[0]`: what the
customer reads is the text printed on the page next to the box. That text is found with
pdfplumber's words: on the widget's line to its left, else just above it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pdfplumber

from forms_service.pdfforms.model import PdfField

_INDEX = re.compile(r"\[\d+\]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
#: How far from the box printed text may be and still label it (PDF points).
_LEFT_REACH = 150.0
_ABOVE_REACH = 30.0
_WORD_GAP = 8.0


def readable_name(full_name: str) -> str:
    """A field name as words: `topmostSubform[0].Page1[0].FirstName_1[0]` -> "First name 1"."""
    last = _INDEX.sub("", full_name.rsplit(".", 1)[-1])
    words = re.sub(r"[_\s\-]+", " ", _CAMEL.sub(" ", last)).strip()
    if not words:
        return full_name
    parts = words.split(" ")
    # "FirstName" -> "First name"; acronyms ("IBAN", "SIRET") keep their capitals.
    tail = [p if p.isupper() else p.lower() for p in parts[1:]]
    return " ".join([parts[0][:1].upper() + parts[0][1:], *tail])


def printed_labels(content: bytes, fields: Iterable[PdfField]) -> dict[str, str]:
    """The text printed next to each field's widget, by field name (fields with none left out).

    Args:
        content: the PDF (already read by `read_pdf_form`, so within its limits).
        fields: the fields to label (those with a page and a rectangle are looked at).
    """
    by_page: dict[int, list[PdfField]] = {}
    for found in fields:
        if found.page is not None and found.rect is not None:
            by_page.setdefault(found.page, []).append(found)
    labels: dict[str, str] = {}
    if not by_page:
        return labels
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        for number, wanted in by_page.items():
            if number > len(pdf.pages):
                continue
            page = pdf.pages[number - 1]
            words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
            height = float(page.mediabox[3])
            for found in wanted:
                text = _nearest(words, found.rect, height)  # type: ignore[arg-type]
                if text:
                    labels[found.name] = text
    return labels


def _nearest(
    words: list[Mapping[str, Any]], rect: tuple[float, float, float, float], height: float
) -> str | None:
    x0, top, x1, bottom = rect[0], height - rect[3], rect[2], height - rect[1]
    best: tuple[float, Mapping[str, Any], str] | None = None
    for word in words:
        if word["bottom"] > top + 2 and word["top"] < bottom - 2:  # on the box's line
            if word["x1"] <= x0 + 2 and x0 - word["x1"] <= _LEFT_REACH:
                candidate = (x0 - word["x1"], word, "left")
            else:
                continue
        elif word["bottom"] <= top + 2 and top - word["bottom"] <= _ABOVE_REACH:
            if word["x1"] < x0 - 2 or word["x0"] > x1 + 2:
                continue
            candidate = (top - word["bottom"] + 1.0, word, "above")  # a line to the left first
        else:
            continue
        if best is None or candidate[0] < best[0]:
            best = candidate
    if best is None:
        return None
    _, anchor, where = best
    line = sorted(
        (w for w in words if abs(w["top"] - anchor["top"]) < 2.0),
        key=lambda w: float(w["x0"]),
    )
    if where == "left":
        line = [w for w in line if w["x1"] <= x0 + 2]
    index = next(i for i, w in enumerate(line) if w is anchor)
    start = end = index
    while start > 0 and line[start]["x0"] - line[start - 1]["x1"] < _WORD_GAP:
        start -= 1
    while end + 1 < len(line) and line[end + 1]["x0"] - line[end]["x1"] < _WORD_GAP:
        end += 1
    text = " ".join(str(w["text"]) for w in line[start : end + 1]).strip().rstrip(":").strip()
    return text[:200] or None
