"""Render a document as one PDF: the covering letter, then the form pages, fillable.

Page 1 is a letter for a French window envelope with the link and its QR code; the form
pages follow the layout (forms_service.issuing.layout) exactly: registration squares, a
signed QR code per page, the current values in grey and empty answer boxes, each box also
an AcroForm widget on exactly the printed rectangle (names in forms_service.issuing.widgets).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from reportlab.lib.colors import Color, black
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from forms_service.core.i18n import N_, gettext
from forms_service.definitions.fieldtypes import WidgetKind
from forms_service.definitions.model import Channel, FieldDefinition, FormDefinition
from forms_service.issuing import widgets
from forms_service.issuing.barcodes import draw_qr, qr_code
from forms_service.issuing.choice_rows import row_text
from forms_service.issuing.fonts import FONT, FONT_BOLD, register_fonts
from forms_service.issuing.layout import (
    CONTENT_WIDTH,
    LAYOUTS,
    MARGIN,
    MM,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    FieldBlock,
    FormLayout,
    LayoutVersions,
    OptionCaption,
)
from forms_service.issuing.letter import LetterTemplate, address_lines, fill, french_date
from forms_service.issuing.pagecode import PageCodes
from ocr.geometry import OptionAnswer, OptionBox

GREY = Color(0.42, 0.42, 0.42)
BOX = Color(0.15, 0.15, 0.15)
INSTRUCTION = (
    "Écrivez en MAJUSCULES, un caractère par case, au stylo noir ou bleu.",
    "Ne remplissez que ce qui a changé : une case vide veut dire « inchangé ».",
)
_YES_NO = {"fr": ("Oui", "Non"), "en": ("Yes", "No")}
#: Beside the label of a field answered in the PDF but not on paper (fillable copy only).
NOT_ON_PAPER = N_("(PDF or online only)")


@dataclass(frozen=True)
class DocumentContent:
    """What one document's PDF shows besides the definition.

    Attributes:
        document_id: the document's id (in the page QR codes only, never printed).
        reference: the human-readable reference printed on every page.
        token: the signed link token (kept in the hidden widget).
        link: the public link printed on the letter and in its QR code.
        snapshot: the current values, canonical, by field name.
        record: the source record (letter placeholders: name, address…).
        issued_on: the letter's date.
        expires_on: the last day the link works.
        short_link: the document's short link (`…/r/<code>`), printed and in the letter's QR
            code instead of `link` when it has one.
        access_code: the code to type at `host/r` without a camera (`K7PXM-3QR9T-WHB4A`),
            printed under the link when the document has one.
    """

    document_id: str
    reference: str
    token: str
    link: str
    snapshot: Mapping[str, str | None]
    record: Mapping[str, Any] = field(default_factory=dict)
    issued_on: dt.date = field(default_factory=dt.date.today)
    expires_on: dt.date | None = None
    short_link: str | None = None
    access_code: str | None = None


class PdfRenderer:
    """Draws documents; keeps each definition's layout so a campaign computes it once.

    New documents print with the registry's current layout version; an older version is
    drawn only on request (the blank pages the scan reader compares old pages with).
    """

    def __init__(
        self, page_codes: PageCodes, *, locale: str = "fr", layouts: LayoutVersions = LAYOUTS
    ) -> None:
        register_fonts()
        self.page_codes = page_codes
        self.locale = locale
        self.layouts = layouts
        self._layouts: dict[tuple[str, int, str, int], FormLayout] = {}

    def layout_of(
        self, definition: FormDefinition, layout_version: int | None = None
    ) -> FormLayout:
        """The (cached) layout of a definition version, in the current layout by default."""
        number = self.layouts.current if layout_version is None else layout_version
        key = (definition.id, definition.version, definition.path, number)
        if key not in self._layouts:
            self._layouts[key] = self.layouts.layout(definition, number)
        return self._layouts[key]

    def render(
        self,
        definition: FormDefinition,
        letter: LetterTemplate,
        content: DocumentContent,
        *,
        layout_version: int | None = None,
    ) -> bytes:
        """One document's fillable PDF (in the current layout unless told otherwise)."""
        buffer = io.BytesIO()
        canvas = self.new_canvas(
            buffer, title=definition.title_in(self.locale), author=letter.sender[:1]
        )
        self.draw(canvas, definition, letter, content, fillable=True, layout_version=layout_version)
        canvas.save()
        return buffer.getvalue()

    @staticmethod
    def new_canvas(target: Any, *, title: str, author: tuple[str, ...] = ()) -> Canvas:
        """A canvas for one PDF file (one document, or a merged print file).

        Its author and creator are the sender's first line (the organisation), never the
        product: customers see them in their reader's document properties.
        """
        canvas = Canvas(target, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
        canvas.setTitle(title)
        if author and author[0]:
            canvas.setCreator(author[0])
            canvas.setAuthor(author[0])
        return canvas

    def page_count(self, definition: FormDefinition) -> int:
        """Pages of one document printed now: the letter and the form pages."""
        return 1 + self.layout_of(definition).page_count

    def draw(
        self,
        canvas: Canvas,
        definition: FormDefinition,
        letter: LetterTemplate,
        content: DocumentContent,
        *,
        fillable: bool,
        layout_version: int | None = None,
    ) -> int:
        """Draw one document's pages on `canvas`; return the number of pages drawn.

        A merged print file draws many documents on one canvas with `fillable=False`:
        widgets of several documents would share their names in one AcroForm.
        """
        form_layout = self.layout_of(definition, layout_version)
        total = 1 + form_layout.page_count
        self._letter(canvas, definition, letter, content, total)
        canvas.showPage()
        for page in range(1, form_layout.page_count + 1):
            self._form_page(
                canvas, definition, form_layout, letter, content, page, total, fillable=fillable
            )
            if fillable:
                self._widgets(canvas, definition, form_layout, page)
                if page == 1:
                    canvas.acroForm.textfield(
                        name=widgets.TOKEN_FIELD,
                        value=content.token,
                        x=MARGIN,
                        y=2,
                        width=20,
                        height=6,
                        borderWidth=0,
                        fillColor=None,
                        borderColor=None,
                        annotationFlags="hidden",
                        fieldFlags="readOnly",
                        maxlen=0,
                    )
            canvas.showPage()
        return total

    # -- letter ------------------------------------------------------------------------

    def _letter(
        self,
        canvas: Canvas,
        definition: FormDefinition,
        letter: LetterTemplate,
        content: DocumentContent,
        total: int,
    ) -> None:
        locale = self.locale
        values = {
            **content.record,
            "link": content.link,
            "reference": content.reference,
            "expires": content.expires_on,
            "deadline": content.expires_on,
            "short_link": content.short_link or content.link,
            "organisation": definition.message.organisation if definition.message else "",
            "form": definition.title_in(locale),
        }
        y = PAGE_HEIGHT - 20 * MM
        for index, line in enumerate(letter.sender):
            canvas.setFont(FONT_BOLD if index == 0 else FONT, 11 if index == 0 else 9)
            canvas.drawString(MARGIN, y, line)
            y -= 4.6 * MM if index == 0 else 4 * MM
        canvas.setFont(FONT, 9)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 20 * MM, self._ref(content))
        # DL window envelope: the window spans about 100-190 mm from the left edge and
        # 45-90 mm from the top; the address sits well inside it.
        canvas.setFont(FONT, 10.5)
        y = PAGE_HEIGHT - 55 * MM
        for line in address_lines(letter, content.record):
            canvas.drawString(110 * MM, y, line)
            y -= 4.6 * MM
        place = f"{letter.place}, le " if letter.place and locale == "fr" else ""
        day = french_date(content.issued_on) if locale == "fr" else content.issued_on.isoformat()
        canvas.setFont(FONT, 10)
        canvas.drawString(110 * MM, PAGE_HEIGHT - 100 * MM, f"{place}{day}")
        subject = fill(letter.subject_in(definition, locale), values)
        canvas.setFont(FONT_BOLD, 10.5)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 112 * MM, self._fit(f"Objet : {subject}", 10.5))
        text = canvas.beginText(MARGIN, PAGE_HEIGHT - 124 * MM)
        text.setFont(FONT, 10)
        text.setLeading(13.5)
        for paragraph in fill(letter.body_in(locale), values).split("\n"):
            for line in _wrap(paragraph, FONT, 10):
                text.textLine(line)
        canvas.drawText(text)
        self._link_block(canvas, content)
        self._footer(canvas, letter, content, 1, total, with_return=False)

    def _link_block(self, canvas: Canvas, content: DocumentContent) -> None:
        size = 30 * MM
        x = PAGE_WIDTH - MARGIN - size
        y = 38 * MM
        # The short link when there is one: a smaller QR code, and a line a person can type.
        link = content.short_link or content.link
        draw_qr(canvas, qr_code(link), x, y, size)
        canvas.setStrokeColor(GREY)
        canvas.setLineWidth(0.5)
        canvas.rect(MARGIN, y - 3 * MM, CONTENT_WIDTH, size + 6 * MM, stroke=1, fill=0)
        left = MARGIN + 4 * MM
        width = CONTENT_WIDTH - size - 10 * MM
        canvas.setFont(FONT_BOLD, 10.5)
        canvas.drawString(left, y + size - 5 * MM, "Répondez en ligne, en deux minutes :")
        canvas.setFont(FONT, 8)
        line_y = y + size - 11 * MM
        for line in _wrap_anywhere(link, FONT, 8, width):
            canvas.drawString(left, line_y, line)
            line_y -= 3.8 * MM
        canvas.setFont(FONT, 9)
        canvas.drawString(left, line_y - 1 * MM, "ou scannez ce code avec votre téléphone.")
        if content.expires_on is not None:
            canvas.drawString(
                left,
                line_y - 5.5 * MM,
                f"Ce lien est valable jusqu'au {french_date(content.expires_on)}.",
            )
        if content.access_code and content.short_link:
            # Without a camera: the short address to type and the code, grouped for reading.
            entry = content.short_link.split("://", 1)[-1].rsplit("/", 1)[0]
            canvas.drawString(left, line_y - 10 * MM, f"Sans appareil photo : allez sur {entry}")
            canvas.drawString(left, line_y - 14 * MM, "et tapez votre code d'accès :")
            canvas.setFont(FONT_BOLD, 10.5)
            canvas.drawString(
                left + pdfmetrics.stringWidth("et tapez votre code d'accès : ", FONT, 9),
                line_y - 14 * MM,
                content.access_code,
            )

    # -- form pages --------------------------------------------------------------------

    def _form_page(
        self,
        canvas: Canvas,
        definition: FormDefinition,
        form_layout: FormLayout,
        letter: LetterTemplate,
        content: DocumentContent,
        page: int,
        total: int,
        *,
        fillable: bool,
    ) -> None:
        """One form page: what is printed is what is read.

        A print file (`fillable=False`, what is posted) prints only the fields answered on
        paper: a PDF-only field keeps its place in the layout (versions are frozen) but is
        left blank, and the scan reader never reads it (`answer_zones`). The fillable copy
        shows it too, for its widget, marked as answered in the PDF or online only.
        """
        on_paper = {f.name for f in definition.fields_for(Channel.PAPER)}
        canvas.setFillColor(black)
        size = form_layout.mark_size
        for cx, cy in form_layout.marks:
            canvas.rect(cx - size / 2, cy - size / 2, size, size, stroke=0, fill=1)
        qr = form_layout.qr
        payload = self.page_codes.encode(
            content.document_id, page, definition.version, layout=form_layout.layout_version
        )
        draw_qr(canvas, qr_code(payload), qr.x, qr.y, qr.width)
        header_width = qr.x - 5 * MM - MARGIN
        canvas.setFont(FONT, 9)
        sender = letter.sender[0] if letter.sender else ""
        canvas.drawString(MARGIN, PAGE_HEIGHT - 15 * MM, self._fit(sender, 9, header_width))
        title = definition.title_in(self.locale)
        canvas.setFont(FONT_BOLD, 13)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 22 * MM, self._fit(title, 13, header_width, True))
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(
            MARGIN,
            PAGE_HEIGHT - 29 * MM,
            f"{self._ref(content)}    Page {page + 1}/{total}",
        )
        canvas.setFont(FONT, 9)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 39 * MM, INSTRUCTION[0])
        canvas.drawString(MARGIN, PAGE_HEIGHT - 43 * MM, INSTRUCTION[1])
        for block in form_layout.blocks_on(page):
            if block.field in on_paper:
                self._block(canvas, definition.field(block.field), block, content)
            elif fillable:
                self._block(canvas, definition.field(block.field), block, content, pdf_only=True)
        self._footer(canvas, letter, content, page + 1, total, with_return=True)

    def _block(
        self,
        canvas: Canvas,
        field_def: FieldDefinition,
        block: FieldBlock,
        content: DocumentContent,
        *,
        pdf_only: bool = False,
    ) -> None:
        canvas.setFillColor(black)
        label = field_def.label_in(self.locale) + (" *" if field_def.required else "")
        if pdf_only:
            label += " " + gettext(NOT_ON_PAPER, self.locale)
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(*block.label_at, self._fit(label, 10, CONTENT_WIDTH, True))
        if block.current_at is not None:
            current = _display(field_def, content.snapshot.get(field_def.name), self.locale)
            canvas.setFillColor(GREY)
            canvas.setFont(FONT, 9)
            text = f"Actuellement : {current or '(non renseigné)'}"
            canvas.drawString(*block.current_at, self._fit(text, 9))
            canvas.setFillColor(black)
        canvas.setStrokeColor(BOX)
        widget = field_def.type.widget
        for zone in block.zones:
            rect = zone.rect
            canvas.setLineWidth(0.8)
            canvas.rect(rect.x, rect.y, rect.width, rect.height, stroke=1, fill=0)
            if zone.cells:
                cell = rect.width / zone.cells
                for index in range(1, zone.cells):
                    canvas.setLineWidth(1.6 if index in block.groups else 0.5)
                    x = rect.x + index * cell
                    low = rect.y if index in block.groups else rect.y + rect.height * 0.35
                    canvas.line(x, low, x, rect.y + rect.height)
        canvas.setFont(FONT, 10)
        for caption in block.captions:
            if isinstance(caption, OptionCaption):
                self._row_caption(canvas, field_def, caption, content)
                continue
            text = self._caption(field_def, caption.text_key, widget)
            canvas.setFont(FONT, caption.size)
            canvas.setFillColor(GREY if widget is WidgetKind.COMB else black)
            canvas.drawString(caption.x, caption.y, text)
        canvas.setFillColor(black)

    def _caption(self, field_def: FieldDefinition, key: str, widget: WidgetKind) -> str:
        if widget is WidgetKind.CHECKBOX:
            yes, no = _YES_NO.get(self.locale, _YES_NO["fr"])
            return yes if key == "true" else no
        if widget is WidgetKind.CHOICES:
            return self._fit(field_def.display(key, self.locale), 10, CONTENT_WIDTH / 4 - 9 * MM)
        return key

    def _row_caption(
        self,
        canvas: Canvas,
        field_def: FieldDefinition,
        caption: OptionCaption,
        content: DocumentContent,
    ) -> None:
        """A text of a choice's option rows: label, state on record, Yes, No or the hint."""
        shown = row_text(field_def, caption, content.snapshot, self.locale)
        canvas.setFillColor(GREY if shown.grey else black)
        canvas.setFont(FONT, caption.size)
        width = CONTENT_WIDTH if shown.width is None else shown.width
        canvas.drawString(caption.x, caption.y, self._fit(shown.text, caption.size, width))
        canvas.setFillColor(black)

    def _widgets(
        self, canvas: Canvas, definition: FormDefinition, form_layout: FormLayout, page: int
    ) -> None:
        form = canvas.acroForm
        for block in form_layout.blocks_on(page):
            field_def = definition.field(block.field)
            if Channel.PDF not in field_def.channels:
                continue  # a paper-only box (a handwritten signature, say) is not fillable
            widget = field_def.type.widget
            for zone in block.zones:
                if isinstance(zone, OptionBox) and zone.answer is OptionAnswer.NO:
                    # The PDF channel keeps its reading (the options ticked are the answer):
                    # an option row's Yes square is that option's widget, its No square none.
                    continue
                rect = zone.rect
                common: dict[str, Any] = {
                    "x": rect.x,
                    "y": rect.y,
                    "borderWidth": 0,
                    "borderColor": None,
                    "fillColor": None,
                    "tooltip": field_def.label_in(self.locale),
                }
                if widget is WidgetKind.CHECKBOX or (
                    widget is WidgetKind.CHOICES and not field_def.type.multiple
                ):
                    form.radio(
                        name=field_def.name,
                        value=zone.choice,
                        selected=False,
                        size=rect.width,
                        buttonStyle="cross",
                        shape="square",
                        fieldFlags="radio",
                        textColor=black,
                        **common,
                    )
                elif widget is WidgetKind.CHOICES:
                    form.checkbox(
                        name=widgets.option_widget_name(field_def.name, zone.choice or ""),
                        checked=False,
                        size=rect.width,
                        buttonStyle="cross",
                        shape="square",
                        fieldFlags="",
                        textColor=black,
                        **common,
                    )
                else:
                    comb = zone.cells is not None
                    flags = "multiline" if widget is WidgetKind.SIGNATURE else ""
                    form.textfield(
                        name=field_def.name,
                        value="",
                        width=rect.width,
                        height=rect.height,
                        maxlen=zone.cells if comb else (field_def.rules.max_length or 0),
                        fieldFlags="comb" if comb else flags,
                        fontName="Helvetica",
                        fontSize=12 if comb else 11,
                        textColor=black,
                        **common,
                    )

    # -- shared ------------------------------------------------------------------------

    def _footer(
        self,
        canvas: Canvas,
        letter: LetterTemplate,
        content: DocumentContent,
        page: int,
        total: int,
        *,
        with_return: bool,
    ) -> None:
        canvas.setFillColor(black)
        if with_return and letter.return_address:
            canvas.setFont(FONT, 8.5)
            canvas.drawString(
                MARGIN, 28 * MM, "À retourner sans affranchir dans l'enveloppe T jointe :"
            )
            canvas.drawString(MARGIN, 24.5 * MM, self._fit(", ".join(letter.return_address), 8.5))
        canvas.setFont(FONT, 8)
        canvas.drawCentredString(
            PAGE_WIDTH / 2, 19.5 * MM, f"{self._ref(content)}  –  page {page}/{total}"
        )

    @staticmethod
    def _ref(content: DocumentContent) -> str:
        return f"Réf. {content.reference}"

    @staticmethod
    def _fit(text: str, size: float, width: float = CONTENT_WIDTH, bold: bool = False) -> str:
        """Cut a line that would not fit, with an ellipsis (labels are short in practice)."""
        return _fitted(text, size, width, bold)


@lru_cache(maxsize=8192)
def _fitted(text: str, size: float, width: float, bold: bool) -> str:
    # Labels, headers and most values repeat from one document to the next: measured once.
    font = FONT_BOLD if bold else FONT
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _display(field_def: FieldDefinition, value: str | None, locale: str) -> str:
    """A current value as a person reads it; a value the type refuses prints as it is."""
    try:
        return field_def.display(value, locale)
    except Exception:  # the snapshot keeps refused source values as text: show them raw
        return value or ""


@lru_cache(maxsize=4096)
def _wrap(paragraph: str, font: str, size: float, width: float = CONTENT_WIDTH) -> tuple[str, ...]:
    """Break a paragraph into lines at spaces (cached: most paragraphs repeat)."""
    if not paragraph.strip():
        return ("",)
    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if current and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return tuple(lines)


@lru_cache(maxsize=1024)
def _char_width(char: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(char, font, size))


def _wrap_anywhere(text: str, font: str, size: float, width: float) -> list[str]:
    """Cut a long link into lines at any character (a link has no spaces).

    reportlab measures a TrueType string as the sum of its glyphs' widths, so the widths of
    single characters add up exactly.
    """
    lines: list[str] = []
    current = ""
    used = 0.0
    for char in text:
        advance = _char_width(char, font, size)
        if current and used + advance > width:
            lines.append(current)
            current, used = "", 0.0
        current += char
        used += advance
    return [*lines, current] if current else lines
