"""The customer's receipt as a PDF: what was sent, when, its reference and what happens next.

The web layer gives the texts already in the customer's language (`Receipt`); this module
only lays them out on A4 with the embedded fonts, so that the receipt reads the same in
every reader and its text can be extracted and searched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from forms_service.issuing.fonts import FONT, FONT_BOLD, register_fonts

_MARGIN = 20 * mm
_WIDTH, _HEIGHT = A4


@dataclass(frozen=True)
class ReceiptRow:
    """One change: the field's label, the value before and after, as the customer read them."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Receipt:
    """Everything the receipt says, in the customer's language.

    Attributes:
        organisation: who received the answer (the header, the PDF's author).
        title: the receipt's heading ("Receipt of your answer").
        form_title: the form answered.
        facts: (label, value) lines: reference, date and time, channel…
        columns: the changes table's headings (detail, before, after).
        rows: the changes; empty when the customer confirmed that nothing changed.
        no_change: what to say when `rows` is empty.
        next_steps: what happens next, paragraph by paragraph.
        footer: the contact line printed at the bottom.
    """

    organisation: str
    title: str
    form_title: str
    facts: Sequence[tuple[str, str]]
    columns: tuple[str, str, str]
    rows: Sequence[ReceiptRow]
    no_change: str
    next_steps: Sequence[str]
    footer: str


def render_receipt(receipt: Receipt) -> bytes:
    """The receipt as a one- or several-page A4 PDF."""
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{receipt.title} – {receipt.form_title}")
    canvas.setAuthor(receipt.organisation)
    canvas.setCreator(receipt.organisation)
    writer = _Writer(canvas, receipt.footer)
    writer.line(receipt.organisation, FONT_BOLD, 12)
    writer.gap(6)
    writer.line(receipt.title, FONT_BOLD, 18)
    writer.paragraph(receipt.form_title, FONT, 12)
    writer.gap(4)
    for label, value in receipt.facts:
        writer.paragraph(f"{label} {value}", FONT, 10.5)
    writer.gap(6)
    if receipt.rows:
        widths = (0.34, 0.33, 0.33)
        writer.row(receipt.columns, widths, FONT_BOLD)
        for row in receipt.rows:
            writer.row((row.label, row.before, row.after), widths, FONT)
    else:
        writer.paragraph(receipt.no_change, FONT, 10.5)
    writer.gap(8)
    for text in receipt.next_steps:
        writer.paragraph(text, FONT, 10.5)
    writer.finish()
    canvas.save()
    return buffer.getvalue()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of `text` no wider than `width`; a word longer than a line is cut by character."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if stringWidth(candidate, font, size) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ""
            for char in word:
                if stringWidth(current + char, font, size) > width and current:
                    lines.append(current)
                    current = ""
                current += char
        lines.append(current)
    return lines


class _Writer:
    """Writes top to bottom, starting a new page when the next block does not fit."""

    def __init__(self, canvas: Canvas, footer: str) -> None:
        self.canvas = canvas
        self.footer = footer
        self.y = _HEIGHT - _MARGIN

    def _room(self, height: float) -> None:
        if self.y - height < _MARGIN + 10 * mm:
            self._footer()
            self.canvas.showPage()
            self.y = _HEIGHT - _MARGIN

    def _footer(self) -> None:
        self.canvas.setFont(FONT, 8.5)
        for index, line in enumerate(_wrap(self.footer, FONT, 8.5, _WIDTH - 2 * _MARGIN)[:2]):
            self.canvas.drawString(_MARGIN, _MARGIN - index * 11, line)

    def gap(self, points: float) -> None:
        self.y -= points

    def line(self, text: str, font: str, size: float) -> None:
        self._room(size * 1.4)
        self.y -= size * 1.2
        self.canvas.setFont(font, size)
        self.canvas.drawString(_MARGIN, self.y, text)
        self.y -= size * 0.3

    def paragraph(self, text: str, font: str, size: float) -> None:
        for line in _wrap(text, font, size, _WIDTH - 2 * _MARGIN):
            self.line(line, font, size)

    def row(self, cells: Sequence[str], widths: Sequence[float], font: str) -> None:
        usable = _WIDTH - 2 * _MARGIN
        size = 10
        wrapped = [
            _wrap(cell, font, size, usable * share - 6)
            for cell, share in zip(cells, widths, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * size * 1.3 + 6
        self._room(height)
        self.canvas.setLineWidth(0.5)
        self.canvas.line(_MARGIN, self.y, _MARGIN + usable, self.y)
        x = _MARGIN
        self.canvas.setFont(font, size)
        for lines, share in zip(wrapped, widths, strict=True):
            y = self.y - size * 1.2
            for line in lines:
                self.canvas.drawString(x + 3, y, line)
                y -= size * 1.3
            x += usable * share
        self.y -= height

    def finish(self) -> None:
        self._footer()
