"""Layout version 1, FROZEN: the geometry of every page printed with an `F1` page code.

Pages posted before a layout change are read with the geometry of the version their code
names, so this module must never change what it returns: a new layout is a new module
(layout_v2.py) registered in forms_service.issuing.layout, and this one stays as it is.
tests/unit/issuing/test_layout_versions.py holds its fingerprint.

Every position is in PDF points with the origin at the bottom-left of an A4 page and is
rounded to 0.01 pt, so that the renderer, the fillable widgets and the scan reader share
exactly the same rectangles. Form pages are numbered from 1 (the letter is not a form page).
"""

from __future__ import annotations

from collections.abc import Callable

from forms_service.definitions.fieldtypes import WidgetKind
from forms_service.definitions.model import FieldDefinition, FormDefinition
from forms_service.issuing.layout_model import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Caption,
    FieldBlock,
    FormLayout,
    LayoutError,
    paper_fields,
)
from ocr.geometry import Rect, Zone, ZoneKind

#: This module's layout version (the digit after F in the page code).
LAYOUT_VERSION = 1
MM = 72 / 25.4

MARGIN = 20 * MM
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
MARK_SIZE = 8 * MM
#: Distance from a page edge to the outer edge of a registration square.
MARK_OFFSET = 7 * MM
QR_SIZE = 24 * MM
#: The QR code sits left of the top-right square with this much clear space around it.
QR_QUIET = 5 * MM
HEADER_BOTTOM = PAGE_HEIGHT - 42 * MM
INSTRUCTION_BASELINE = PAGE_HEIGHT - 40 * MM
CONTENT_TOP = PAGE_HEIGHT - 47 * MM
CONTENT_BOTTOM = 32 * MM
FOOTER_BASELINE = 24 * MM

BOX_HEIGHT = 8 * MM
SQUARE = 6 * MM
COMB_CELL_MAX = 7 * MM
COMB_CELL_MIN = 5 * MM
SIGNATURE_WIDTH = 85 * MM
SIGNATURE_HEIGHT = 28 * MM
LABEL_DROP = 4 * MM  # label baseline below the block top
CURRENT_DROP = 8.5 * MM  # "Actuellement : …" baseline below the block top
BOXES_DROP = 10.5 * MM  # top of the answer boxes below the block top
CAPTION_GAP = 3.5 * MM  # room under comb cells for JJ MM AAAA
BLOCK_GAP = 5 * MM
OPTIONS_PER_ROW = 4
OPTION_ROW = 9 * MM

#: What a date's eight cells mean, in print order.
DATE_CAPTIONS = (("JJ", 0, 2), ("MM", 2, 4), ("AAAA", 4, 8))

#: FROZEN: the comb groups and captions this version printed for the types it knew, by type
#: name, whatever the field-type registry says today (pages printed with them are still read
#: with them). A type registered later is laid out with the registry's own groups and captions.
_CombStyle = tuple[Callable[[int], tuple[int, ...]], tuple[tuple[str, int, int], ...]]
"""(cell count -> cells after which a thicker separator is drawn, (caption, start, end)...)."""
_FROZEN_COMBS: dict[str, _CombStyle] = {
    "date": (lambda cells: (2, 4), DATE_CAPTIONS),
    "iban": (lambda cells: tuple(range(4, cells, 4)), ()),
    "phone": (lambda cells: tuple(range(2, cells, 2)), ()),
    "postcode": (lambda cells: (), ()),
}


def _r(value: float) -> float:
    return round(value, 2)


def _rect(x: float, y: float, width: float, height: float) -> Rect:
    """A rectangle snapped to 0.01 pt (so that equal sizes stay equal wherever they are)."""
    return Rect(_r(x), _r(y), _r(width), _r(height))


def registration_marks() -> tuple[tuple[float, float], ...]:
    """Centres of the four solid squares: top-left, top-right, bottom-left, bottom-right."""
    near = MARK_OFFSET + MARK_SIZE / 2
    return (
        (_r(near), _r(PAGE_HEIGHT - near)),
        (_r(PAGE_WIDTH - near), _r(PAGE_HEIGHT - near)),
        (_r(near), _r(near)),
        (_r(PAGE_WIDTH - near), _r(near)),
    )


def qr_area() -> Rect:
    """Where a form page's QR code is drawn (its modules; the quiet zone lies around it)."""
    right = PAGE_WIDTH - MARK_OFFSET - MARK_SIZE - QR_QUIET
    top = PAGE_HEIGHT - MARK_OFFSET - 3 * MM
    return _rect(right - QR_SIZE, top - QR_SIZE, QR_SIZE, QR_SIZE)


def layout(definition: FormDefinition) -> FormLayout:
    """Lay a definition out on A4 form pages (layout version 1).

    A pure function of the definition (hence of its id and version): the same definition
    always gives an equal layout, so the scan reader can recompute it from a QR payload.

    Raises:
        LayoutError: a field's boxes cannot fit on one page (too many options, say).
    """
    blocks: list[FieldBlock] = []
    page = 1
    top = CONTENT_TOP
    for field in paper_fields(definition):
        height = _block_height(field)
        if height > CONTENT_TOP - CONTENT_BOTTOM:
            raise LayoutError(f"field {field.name!r}: its boxes do not fit on one page")
        if top - height < CONTENT_BOTTOM and top != CONTENT_TOP:
            page += 1
            top = CONTENT_TOP
        blocks.append(_block(field, page, top))
        top -= height + BLOCK_GAP
    return FormLayout(
        form_id=definition.id,
        version=definition.version,
        layout_version=LAYOUT_VERSION,
        page_count=page,
        blocks=tuple(blocks),
        marks=registration_marks(),
        mark_size=_r(MARK_SIZE),
        qr=qr_area(),
    )


def _options(field: FieldDefinition) -> tuple[str, ...]:
    if field.type.widget is WidgetKind.CHECKBOX:
        return ("true", "false")
    return tuple(c.value for c in field.choices)


def _block_height(field: FieldDefinition) -> float:
    widget = field.type.widget
    if widget is WidgetKind.SIGNATURE:
        return LABEL_DROP + 2 * MM + SIGNATURE_HEIGHT
    if widget in (WidgetKind.CHECKBOX, WidgetKind.CHOICES):
        rows = -(-len(_options(field)) // OPTIONS_PER_ROW)
        return BOXES_DROP + SQUARE + (rows - 1) * OPTION_ROW
    if widget is WidgetKind.COMB and _comb_style(field)[1]:
        return BOXES_DROP + BOX_HEIGHT + CAPTION_GAP
    return BOXES_DROP + BOX_HEIGHT


def _comb_style(field: FieldDefinition) -> _CombStyle:
    """The comb's groups and captions: frozen for the types this version knew."""
    frozen = _FROZEN_COMBS.get(field.type_name)
    if frozen is not None:
        return frozen
    return field.type.comb_groups, field.type.comb_captions()


def _block(field: FieldDefinition, page: int, top: float) -> FieldBlock:
    label_at = (_r(MARGIN), _r(top - LABEL_DROP))
    current_at = (_r(MARGIN), _r(top - CURRENT_DROP))
    widget = field.type.widget
    charset = field.type.ocr_charset
    if widget is WidgetKind.SIGNATURE:
        bottom = top - LABEL_DROP - 2 * MM - SIGNATURE_HEIGHT
        zone = Zone(
            field.name,
            ZoneKind.SIGNATURE,
            _rect(MARGIN, bottom, SIGNATURE_WIDTH, SIGNATURE_HEIGHT),
        )
        return FieldBlock(field.name, page, _r(top), label_at, None, (zone,))
    boxes_top = top - BOXES_DROP
    if widget in (WidgetKind.CHECKBOX, WidgetKind.CHOICES):
        zones = []
        labels = []
        slot = CONTENT_WIDTH / OPTIONS_PER_ROW
        for index, value in enumerate(_options(field)):
            row, column = divmod(index, OPTIONS_PER_ROW)
            x = MARGIN + column * slot
            y = boxes_top - SQUARE - row * OPTION_ROW
            zones.append(
                Zone(field.name, ZoneKind.CHECKBOX, _rect(x, y, SQUARE, SQUARE), choice=value)
            )
            labels.append(Caption(value, _r(x + SQUARE + 2 * MM), _r(y + 1.6 * MM), 10))
        return FieldBlock(
            field.name, page, _r(top), label_at, current_at, tuple(zones), tuple(labels)
        )
    if widget is WidgetKind.COMB:
        cells = field.type.comb_cells(field.rules) or 1
        cell = min(COMB_CELL_MAX, CONTENT_WIDTH / cells)
        if cell < COMB_CELL_MIN - 0.01:
            raise LayoutError(
                f"field {field.name!r}: {cells} comb cells cannot be {COMB_CELL_MIN / MM:.0f} mm "
                "wide on one line"
            )
        rect = _rect(MARGIN, boxes_top - BOX_HEIGHT, cell * cells, BOX_HEIGHT)
        zone = Zone(field.name, ZoneKind.COMB, rect, cells=cells, charset=charset)
        grouping, texts = _comb_style(field)
        groups = grouping(cells)
        captions = tuple(
            Caption(text, _r(MARGIN + start * cell + 0.8 * MM), _r(rect.y - 3 * MM), 6.5)
            for text, start, _end in texts
        )
        return FieldBlock(
            field.name, page, _r(top), label_at, current_at, (zone,), captions, groups
        )
    rect = _rect(MARGIN, boxes_top - BOX_HEIGHT, CONTENT_WIDTH, BOX_HEIGHT)
    zone = Zone(field.name, ZoneKind.TEXT, rect, charset=charset)
    return FieldBlock(field.name, page, _r(top), label_at, current_at, (zone,))


#: What later versions take from this one as it is (layout_v2): the frozen comb styles and
#: the snapping of coordinates.
CombStyle = _CombStyle
FROZEN_COMBS = _FROZEN_COMBS
snap = _r
snapped_rect = _rect
