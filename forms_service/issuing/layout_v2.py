"""Layout version 2, FROZEN once printed: the geometry of every page with an `F2` page code.

What changed from version 1 (issue 17): a choice, single or multiple, prints one row per
option: the option's label, its state on record (from the snapshot, drawn by the renderer)
and two squares, Yes and No (`OptionBox` zones), an empty row meaning "unchanged" for that
option; a hint line under the label says so. Version 1 printed one square per option, four
to a row, and read the ticked squares as the whole answer. Everything else is version 1's.

Pages posted before a layout change are read with the geometry of the version their code
names, so this module must never change what it returns once pages are printed with it: a
new layout is a new module (layout_v3.py). tests/unit/issuing/test_layout_versions.py holds
its fingerprint.

Every position is in PDF points with the origin at the bottom-left of an A4 page and is
rounded to 0.01 pt, so that the renderer, the fillable widgets and the scan reader share
exactly the same rectangles. Form pages are numbered from 1 (the letter is not a form page).
"""

from __future__ import annotations

from forms_service.definitions.fieldtypes import WidgetKind
from forms_service.definitions.model import FieldDefinition, FormDefinition
from forms_service.issuing import layout_v1
from forms_service.issuing.layout_model import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Caption,
    CaptionRole,
    FieldBlock,
    FormLayout,
    LayoutError,
    OptionCaption,
    paper_fields,
)
from ocr.geometry import OptionAnswer, OptionBox, Zone, ZoneKind

#: This module's layout version (the digit after F in the page code).
LAYOUT_VERSION = 2
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
#: An option row of a choice: label, state on record, Yes square, No square.
CHOICE_ROW = 8.5 * MM
CHOICE_STATE_X = 72 * MM  # from the left margin
CHOICE_YES_X = 120 * MM
CHOICE_NO_X = 145 * MM
#: The most options a choice can have: its rows must fit on one page (version 1: 92).
MAX_OPTION_ROWS = int((CONTENT_TOP - CONTENT_BOTTOM - BOXES_DROP - SQUARE) // CHOICE_ROW) + 1

#: As version 1 printed them: the date's captions, the comb groups of the types it knew
#: (FROZEN there), the registration squares and the QR code's place; only the choices' rows
#: are new in this version.
DATE_CAPTIONS = layout_v1.DATE_CAPTIONS
_CombStyle = layout_v1.CombStyle
_FROZEN_COMBS = layout_v1.FROZEN_COMBS
_r = layout_v1.snap
_rect = layout_v1.snapped_rect
registration_marks = layout_v1.registration_marks
qr_area = layout_v1.qr_area


def layout(definition: FormDefinition) -> FormLayout:
    """Lay a definition out on A4 form pages (layout version 2).

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
            if field.type.option_rows:
                raise LayoutError(
                    f"field {field.name!r}: {len(field.choices)} options, one row each, do not "
                    f"fit on one page (at most {MAX_OPTION_ROWS})"
                )
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
    if field.type.option_rows:
        return BOXES_DROP + SQUARE + (len(field.choices) - 1) * CHOICE_ROW
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
    charset = field.type.charset(field.rules)
    if widget is WidgetKind.SIGNATURE:
        bottom = top - LABEL_DROP - 2 * MM - SIGNATURE_HEIGHT
        zone = Zone(
            field.name,
            ZoneKind.SIGNATURE,
            _rect(MARGIN, bottom, SIGNATURE_WIDTH, SIGNATURE_HEIGHT),
        )
        return FieldBlock(field.name, page, _r(top), label_at, None, (zone,))
    boxes_top = top - BOXES_DROP
    if field.type.option_rows:
        return _option_rows(field, page, top, label_at, current_at)
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


def _option_rows(
    field: FieldDefinition,
    page: int,
    top: float,
    label_at: tuple[float, float],
    hint_at: tuple[float, float],
) -> FieldBlock:
    """A choice: one row per option with its state on record and its Yes and No squares.

    The hint line takes the place of version 1's "Actuellement : …" line (`current_at` is
    None: the state on record is printed per option).
    """
    last_row = top - BOXES_DROP - SQUARE - (len(field.choices) - 1) * CHOICE_ROW
    # What a clerk sees of any mark: the whole choice, label, states and both columns.
    evidence = _rect(
        MARGIN - MM, last_row - 1.5 * MM, CONTENT_WIDTH + 2 * MM, top - last_row + 2 * MM
    )
    zones: list[Zone] = []
    captions: list[Caption] = [
        OptionCaption("", hint_at[0], hint_at[1], 8.5, role=CaptionRole.HINT)
    ]
    for index, choice in enumerate(field.choices):
        y = top - BOXES_DROP - SQUARE - index * CHOICE_ROW
        baseline = _r(y + 1.6 * MM)
        captions.append(
            OptionCaption(choice.value, _r(MARGIN), baseline, 10, role=CaptionRole.OPTION)
        )
        captions.append(
            OptionCaption(
                choice.value, _r(MARGIN + CHOICE_STATE_X), baseline, 9, role=CaptionRole.STATE
            )
        )
        for x, answer, role in (
            (CHOICE_YES_X, OptionAnswer.YES, CaptionRole.YES),
            (CHOICE_NO_X, OptionAnswer.NO, CaptionRole.NO),
        ):
            left = MARGIN + x
            zones.append(
                OptionBox(
                    field.name,
                    ZoneKind.CHECKBOX,
                    _rect(left, y, SQUARE, SQUARE),
                    choice=choice.value,
                    answer=answer,
                    evidence=evidence,
                )
            )
            captions.append(
                OptionCaption(choice.value, _r(left + SQUARE + 2 * MM), baseline, 10, role=role)
            )
    return FieldBlock(field.name, page, _r(top), label_at, None, tuple(zones), tuple(captions))
