"""The paper layout: a pure function of the definition, with boxes a scanner and a pen can use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from forms_service.definitions.fieldtypes import Choice, Rules
from forms_service.definitions.model import (
    Channel,
    FieldDefinition,
    FormDefinition,
    SourceBinding,
)
from forms_service.definitions.service import load_definitions
from forms_service.issuing.layout import (
    MM,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    CaptionRole,
    LayoutError,
    OptionCaption,
    form_geometry,
    layout,
)
from forms_service.issuing.layout_v1 import CONTENT_BOTTOM, CONTENT_TOP, MARK_SIZE
from forms_service.issuing.layout_v2 import MAX_OPTION_ROWS
from ocr.geometry import OptionBox, Rect, ZoneKind

DEFINITIONS = Path(__file__).resolve().parents[3] / "form_definitions"


def _definitions() -> dict[str, FormDefinition]:
    return dict(load_definitions(DEFINITIONS))


def _overlap(a: Rect, b: Rect, margin: float = 0.0) -> bool:
    return not (
        a.x + a.width + margin <= b.x
        or b.x + b.width + margin <= a.x
        or a.y + a.height + margin <= b.y
        or b.y + b.height + margin <= a.y
    )


def _many_fields(count: int) -> FormDefinition:
    fields = []
    kinds = ["text", "postcode", "iban", "date", "checkbox", "phone", "choice"]
    for index in range(count):
        kind = kinds[index % len(kinds)]
        choices = (
            tuple(Choice(f"o{n}", {"fr": f"Option {n}", "en": f"Option {n}"}) for n in range(6))
            if kind == "choice"
            else ()
        )
        fields.append(
            FieldDefinition(
                name=f"f{index}",
                type_name=kind,
                label={"fr": f"Champ {index}", "en": f"Field {index}"},
                choices=choices,
                maps_to=f"c{index}",
            )
        )
    return FormDefinition(
        id="many-fields",
        version=3,
        title={"fr": "Beaucoup de champs", "en": "Many fields"},
        source=SourceBinding("crm", "customer"),
        key="customer_no",
        fields=tuple(fields),
    )


def test_layout_is_a_pure_function_of_the_definition() -> None:
    first = _definitions()
    second = _definitions()  # loaded again from disk: equal values, other objects
    for form_id, definition in first.items():
        assert layout(definition) == layout(definition)
        assert form_geometry(definition) == form_geometry(second[form_id])
        assert form_geometry(definition).version == definition.version


def test_every_page_has_corner_squares_and_a_clear_qr_area() -> None:
    for definition in [*_definitions().values(), _many_fields(30)]:
        geometry = form_geometry(definition)
        for page in geometry.pages:
            assert (page.width, page.height) == (PAGE_WIDTH, PAGE_HEIGHT)
            assert page.mark_size == pytest.approx(8 * MM, abs=0.01)
            assert len(page.marks) == 4
            xs = sorted({x for x, _ in page.marks})
            ys = sorted({y for _, y in page.marks})
            assert len(xs) == 2 and len(ys) == 2
            assert xs[0] < 20 * MM and xs[1] > PAGE_WIDTH - 20 * MM
            assert ys[0] < 20 * MM and ys[1] > PAGE_HEIGHT - 20 * MM
            # The QR code's quiet zone (4 modules of a version 4 code, ~3 mm) holds no
            # registration square and no answer box.
            quiet = 4 * page.qr.width / 33
            for cx, cy in page.marks:
                half = MARK_SIZE / 2
                mark = Rect(cx - half, cy - half, MARK_SIZE, MARK_SIZE)
                assert not _overlap(mark, page.qr, quiet)
            for zone in page.zones:
                assert not _overlap(zone.rect, page.qr, quiet)
                assert zone.rect.y >= CONTENT_BOTTOM - 0.01
                assert zone.rect.y + zone.rect.height <= CONTENT_TOP + 0.01
                assert zone.rect.x > 0 and zone.rect.x + zone.rect.width < PAGE_WIDTH


def test_answer_boxes_never_overlap_and_are_big_enough_to_write_in() -> None:
    for definition in [*_definitions().values(), _many_fields(30)]:
        for page in form_geometry(definition).pages:
            zones = page.zones
            for index, zone in enumerate(zones):
                for other in zones[index + 1 :]:
                    assert not _overlap(zone.rect, other.rect), (zone, other)
                assert zone.rect.height >= 5 * MM - 0.01
                if zone.kind is ZoneKind.COMB:
                    assert zone.cells is not None
                    assert zone.rect.width / zone.cells >= 5 * MM - 0.01
                if zone.kind is ZoneKind.CHECKBOX:
                    assert zone.rect.width == zone.rect.height  # squares
                    assert zone.choice is not None


def test_comb_cells_follow_the_field_types() -> None:
    definitions = _definitions()
    contact = {z.field: z for z in form_geometry(definitions["contact-update"]).pages[0].zones}
    assert contact["postcode"].kind is ZoneKind.COMB and contact["postcode"].cells == 5
    assert contact["postcode"].charset == "0123456789"
    assert contact["phone"].cells == 10
    assert contact["address_line"].kind is ZoneKind.TEXT
    assert contact["signature"].kind is ZoneKind.SIGNATURE
    bank = {z.field: z for z in form_geometry(definitions["bank-details"]).pages[0].zones}
    assert bank["iban"].cells == 34  # several countries allowed: the longest IBAN
    blocks = {b.field: b for b in layout(definitions["bank-details"]).blocks}
    assert blocks["iban"].groups == (4, 8, 12, 16, 20, 24, 28, 32)  # grouped by 4


def test_a_postcode_of_several_countries_gets_cells_and_characters_for_each() -> None:
    contact = _definitions()["contact-update"]
    fields = []
    for field in contact.fields:
        if field.name == "postcode":
            field = dataclasses.replace(field, rules=Rules(countries=("FR", "BE", "NL", "PT")))
        fields.append(field)
    foreign = dataclasses.replace(contact, fields=tuple(fields))
    zones = {z.field: z for z in form_geometry(foreign).pages[0].zones}
    assert zones["postcode"].cells == 8  # the longest: a Portuguese 1250-096
    charset = zones["postcode"].charset or ""
    assert set("0123456789-AB ") <= set(charset)  # Dutch letters, the Portuguese dash
    french = {z.field: z for z in form_geometry(contact).pages[0].zones}
    assert french["postcode"].charset == "0123456789"


def test_choices_and_checkboxes_get_one_square_per_answer_in_layout_1() -> None:
    geometry = form_geometry(_definitions()["consent-preferences"], 1)
    zones = [z for page in geometry.pages for z in page.zones]
    assert [z.choice for z in zones if z.field == "consent_email"] == ["true", "false"]
    assert [z.choice for z in zones if z.field == "preferred_channel"] == ["email", "sms", "post"]
    assert [z.choice for z in zones if z.field == "interests"] == [
        "savings",
        "insurance",
        "credit",
        "retirement",
    ]
    assert {z.kind for z in zones} == {ZoneKind.CHECKBOX}


def test_dates_print_jj_mm_aaaa_under_eight_cells() -> None:
    definition = _many_fields(4)
    block = next(b for b in layout(definition).blocks if b.field == "f3")
    assert block.zones[0].cells == 8
    assert [c.text_key for c in block.captions] == ["JJ", "MM", "AAAA"]
    assert block.groups == (2, 4)


def test_fields_flow_onto_further_pages_in_definition_order() -> None:
    definition = _many_fields(30)
    result = layout(definition)
    assert result.page_count > 2
    assert [b.field for b in result.blocks] == [f.name for f in definition.fields]
    pages = [b.page for b in result.blocks]
    assert pages == sorted(pages)
    assert [p.number for p in result.geometry().pages] == list(range(1, result.page_count + 1))
    assert result.geometry().page(2).zones


def test_online_only_fields_are_not_printed() -> None:
    definition = _definitions()["contact-update"]
    hidden = dataclasses.replace(definition.fields[0], channels=frozenset({Channel.ONLINE}))
    changed = dataclasses.replace(definition, fields=(hidden, *definition.fields[1:]))
    names = {z.field for page in form_geometry(changed).pages for z in page.zones}
    assert definition.fields[0].name not in names
    assert definition.fields[1].name in names


def test_text_fields_keep_their_length_rule_out_of_the_geometry() -> None:
    definition = _many_fields(1)
    limited = dataclasses.replace(
        definition, fields=(dataclasses.replace(definition.fields[0], rules=Rules(max_length=9)),)
    )
    # A length rule changes the widget's MaxLen, not where the box is printed.
    assert form_geometry(limited).pages == form_geometry(definition).pages


def test_a_field_too_big_for_a_page_is_refused_with_its_name() -> None:
    definition = _many_fields(7)
    choice = definition.fields[6]
    options = tuple(Choice(f"o{n}", {"fr": f"Option {n}", "en": f"Option {n}"}) for n in range(200))
    huge = dataclasses.replace(definition, fields=(dataclasses.replace(choice, choices=options),))
    with pytest.raises(LayoutError, match="'f6'"):
        layout(huge)


def test_layout_2_prints_each_option_on_its_own_row_with_a_yes_and_a_no_square() -> None:
    geometry = form_geometry(_definitions()["consent-preferences"], 2)
    zones = [z for page in geometry.pages for z in page.zones]
    rows = [z for z in zones if isinstance(z, OptionBox) and z.field == "interests"]
    assert len(rows) == len([z for z in zones if z.field == "interests"])
    assert [(z.choice, z.answer.value) for z in rows] == [
        (option, answer)
        for option in ("savings", "insurance", "credit", "retirement")
        for answer in ("yes", "no")
    ]
    for yes, no in zip(rows[::2], rows[1::2], strict=True):
        assert yes.rect.y == no.rect.y and yes.rect.x < no.rect.x  # one row, Yes then No
        assert not _overlap(yes.rect, no.rect, 5 * MM)
    assert len({z.rect.y for z in rows}) == 4
    # A checkbox stays as in layout 1 (Oui and Non are its two answers).
    checkbox = [z for z in zones if z.field == "consent_email"]
    assert [z.choice for z in checkbox] == ["true", "false"]
    assert not any(isinstance(z, OptionBox) for z in checkbox)
    block = next(
        b for b in layout(_definitions()["consent-preferences"], 2).blocks if b.field == "interests"
    )
    assert block.current_at is None  # the state on record is printed per option
    roles = [c.role for c in block.captions if isinstance(c, OptionCaption)]
    assert roles[0] is CaptionRole.HINT and roles.count(CaptionRole.STATE) == 4


def test_layout_2_names_the_option_limit_of_a_choice() -> None:
    definition = _many_fields(7)
    choice = definition.fields[6]
    options = tuple(Choice(f"o{n}", {"fr": f"Option {n}"}) for n in range(MAX_OPTION_ROWS + 1))
    too_many = dataclasses.replace(
        definition, fields=(dataclasses.replace(choice, choices=options),)
    )
    with pytest.raises(LayoutError, match=f"'f6': {MAX_OPTION_ROWS + 1} options.*at most 24"):
        layout(too_many, 2)
    layout(too_many, 1)  # four squares to a row: version 1 had room for them
    fits = dataclasses.replace(choice, choices=options[:MAX_OPTION_ROWS])
    assert layout(dataclasses.replace(definition, fields=(fits,)), 2).page_count == 1
