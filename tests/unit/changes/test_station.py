"""The verification station's reading of lines: doubtful characters, checks, who wrote what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from forms_service.changes.model import VALID, FieldRowView, Outcome
from forms_service.changes.review import needs_choice
from forms_service.changes.station import (
    DOUBTFUL_BELOW,
    CheckCode,
    Writer,
    characters_of,
    editors_of,
    line_checks,
    service_checks,
    station_of,
)
from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.fieldtypes.postcode import postcode_directory
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import load_definitions
from forms_service.storage.model import FieldChangeStatus

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"
#: A French IBAN whose checksum passes.
IBAN = "FR1420041010050500013M02606"


@pytest.fixture(scope="module")
def forms() -> Mapping[str, FormDefinition]:
    return load_definitions(SHIPPED, connectors={"crm": DEMO_CRM_RECORD_TYPES})


def _chars(value: str, doubtful: Mapping[int, tuple[float, list[list[Any]]]]) -> list[Any]:
    return [
        {"c": c, "p": doubtful[i][0], "alt": doubtful[i][1]}
        if i in doubtful
        else {"c": c, "p": 0.99, "alt": []}
        for i, c in enumerate(value)
    ]


def _row(field: str, proposed: str | None, **changes: Any) -> FieldRowView:
    values: dict[str, Any] = {
        "field": field,
        "label": field,
        "base": None,
        "current": None,
        "proposed": proposed,
        "base_display": "",
        "current_display": "",
        "proposed_display": proposed or "",
        "outcome": Outcome.CHANGE,
        "policy": "review",
        "confidence": 1.0,
        "evidence": {},
        "verdict": VALID,
        "status": FieldChangeStatus.PENDING,
        "first_reviewer": None,
        "second_reviewer": None,
        "edited_from": None,
        "decided_at": dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
    }
    values.update(changes)
    return FieldRowView(**values)


def test_a_character_below_the_threshold_is_doubtful_and_the_edit_key_selects_it(
    forms: Mapping[str, FormDefinition],
) -> None:
    evidence = {
        "kind": "scan",
        "characters": _chars("76011", {1: (0.62, [["5", 0.35], ["8", 0.02]])}),
        "suggestion_probability": 0.55,
        "ocr_value": "7601l",
    }
    row = _row("postcode", "76011", evidence=evidence, confidence=0.55)
    line = line_checks(forms["contact-update"], [row], {}, resolutions={})["postcode"]
    assert [c.char for c in line.characters if c.doubtful] == ["6"]
    assert line.doubtful == 1 and line.doubtful_at == 1
    assert line.characters[1].alternatives == (("5", 0.35), ("8", 0.02))
    assert line.suggestion_probability == 0.55 and line.ocr_value == "7601l"
    assert line.uncertain
    # Exactly at the threshold is not doubtful.
    assert not characters_of({"characters": [{"c": "7", "p": DOUBTFUL_BELOW}]})[0].doubtful


def test_characters_line_up_with_a_value_the_type_spaces_out(
    forms: Mapping[str, FormDefinition],
) -> None:
    evidence = {"kind": "scan", "characters": _chars("0612", {3: (0.5, [])})}
    row = _row("address_line", "06 12", evidence=evidence)
    line = line_checks(forms["contact-update"], [row], {}, resolutions={})["address_line"]
    assert line.doubtful_at == 4  # the space is skipped
    # A reading that does not spell the value highlights but selects nothing.
    other = _row("address_line", "9 RUE", evidence=evidence)
    assert (
        (
            line_checks(forms["contact-update"], [other], {}, resolutions={})["address_line"]
        ).doubtful_at
        is None
    )


def test_evidence_without_the_recogniser_keys_is_shown_without_them(
    forms: Mapping[str, FormDefinition],
) -> None:
    row = _row("city", "LYON", evidence={"kind": "scan", "characters": "garbage"})
    line = line_checks(forms["contact-update"], [row], {}, resolutions={})["city"]
    assert line.characters == () and line.doubtful_at is None and not line.uncertain
    assert line.suggestion_probability is None and line.ocr_value is None


def test_a_postcode_its_city_contradicts_is_flagged_with_the_one_that_would_pass(
    forms: Mapping[str, FormDefinition],
) -> None:
    contact = forms["contact-update"]
    found = service_checks(
        contact, "postcode", {"postcode": "76011", "city": "Paris"}, {"postcode"}, VALID
    )
    assert [(c.code, c.fields, c.alternative) for c in found] == [
        (CheckCode.POSTCODE_CITY_MISMATCH, ("postcode", "city"), "75011")
    ]
    # The city's line shows it too, whichever of the two changed.
    on_city = service_checks(
        contact, "city", {"postcode": "63000", "city": "Lyon"}, {"city"}, VALID
    )
    assert [c.code for c in on_city] == [CheckCode.POSTCODE_CITY_MISMATCH]
    assert on_city[0].alternative is None  # Lyon's postcodes are all two digits away
    # Agreeing values, or neither of them changed: nothing to say.
    assert not service_checks(
        contact, "postcode", {"postcode": "75011", "city": "PARIS"}, {"postcode"}, VALID
    )
    assert not service_checks(
        contact, "postcode", {"postcode": "76011", "city": "Paris"}, (), VALID
    )


def test_an_iban_whose_checksum_fails_shows_the_alternative_the_recogniser_offered(
    forms: Mapping[str, FormDefinition],
) -> None:
    bank = forms["bank-details"]
    misread = IBAN[:5] + "8" + IBAN[6:]
    characters = characters_of({"characters": _chars(misread, {5: (0.51, [["0", 0.45]])})})
    found = service_checks(bank, "iban", {"iban": misread}, {"iban"}, "iban", characters)
    assert [(c.code, c.alternative) for c in found] == [(CheckCode.IBAN_CHECKSUM, IBAN)]
    # Without the recogniser's alternatives, the service invents none.
    bare = service_checks(bank, "iban", {"iban": misread}, {"iban"}, "iban")
    assert [(c.code, c.alternative) for c in bare] == [(CheckCode.IBAN_CHECKSUM, None)]


def test_the_recognisers_own_checks_are_shown_once(forms: Mapping[str, FormDefinition]) -> None:
    evidence = {
        "kind": "scan",
        "cross_checks": [
            {
                "code": "postcode_city_mismatch",
                "fields": ["postcode", "city"],
                "alternative": "75011",
            },
            {"code": "not_a_check", "fields": []},
        ],
    }
    row = _row("postcode", "76011", evidence=evidence)
    line = line_checks(forms["contact-update"], [row], {"city": "PARIS"}, resolutions={})[
        "postcode"
    ]
    assert [(c.code, c.found_by, c.alternative) for c in line.checks] == [
        (CheckCode.POSTCODE_CITY_MISMATCH, "ocr", "75011")
    ]
    assert not line.approvable


def test_a_conflict_needs_a_choice_until_one_is_recorded() -> None:
    assert needs_choice("conflict", FieldChangeStatus.PENDING, None)
    assert needs_choice("change", FieldChangeStatus.CONFLICT, None)  # found by the write-back
    assert not needs_choice("conflict", FieldChangeStatus.PENDING, "take_answer")
    assert not needs_choice("change", FieldChangeStatus.PENDING, None)


def test_the_correction_says_who_wrote_what(forms: Mapping[str, FormDefinition]) -> None:
    contact = forms["contact-update"]
    rows = [
        _row("postcode", "63000", evidence={"kind": "scan"}, edited_from="63003"),
        _row("city", "Lyon", evidence={"kind": "typed"}, edited_from="Lyonn"),
        _row("email", "a@b.fr", evidence={"kind": "pdf_field"}, edited_from="a@b.f"),
    ]

    class Event:
        def __init__(self, kind: str, field: str, actor: str) -> None:
            self.kind, self.field, self.actor = kind, field, actor

    editors = editors_of([Event("edited", "postcode", "clara"), Event("edited", "postcode", "x")])
    lines = line_checks(contact, rows, {}, resolutions={}, editors=editors)
    postcode = lines["postcode"].correction
    assert postcode is not None
    assert (postcode.writer, postcode.written, postcode.corrected, postcode.clerk) == (
        Writer.OCR,
        "63003",
        "63000",
        "clara",  # the latest edit (events come newest first)
    )
    assert [lines[f].correction.writer for f in ("city", "email")] == [  # type: ignore[union-attr]
        Writer.CUSTOMER,
        Writer.PDF,
    ]


def test_the_station_names_the_customer_and_shows_the_fields_left_alone(
    forms: Mapping[str, FormDefinition],
) -> None:
    contact = forms["contact-update"]
    source = {
        "title": "Mme",
        "first_name": "Jeanne",
        "last_name": "Martin",
        "postcode": "69003",
        "city": "Lyon",
        "email": "jeanne@example.fr",
        "address_line": "1 rue A",
    }
    station = station_of(
        contact, [_row("city", "Paris")], "C000007", {"city": "Lyon"}, source, locale="en"
    )
    assert station.customer == "Mme Jeanne Martin" and station.record_key == "C000007"
    shown = {line.field: line.value for line in station.unchanged}
    assert shown["postcode"] == "69003" and shown["email"] == "jeanne@example.fr"
    assert "city" not in shown
    # Paris with 69003 disagrees: not among the lines approved without a look.
    assert station.approvable == ()
    # A source that cannot be read: the snapshot instead, and no name.
    blind = station_of(
        contact, [_row("city", "Lyon")], "C000007", {"postcode": "69003"}, None, locale="en"
    )
    assert blind.customer == "" and [line.field for line in blind.unchanged] == ["postcode"]
    assert blind.approvable == ("city",)


def test_bank_details_left_alone_stay_masked(forms: Mapping[str, FormDefinition]) -> None:
    iban = "FR1420041010050500013M02606"
    station = station_of(
        forms["bank-details"],
        [_row("account_holder", "Jeanne Martin")],
        "C000007",
        {"iban": iban},
        None,
        locale="en",
    )
    (shown,) = [line.value for line in station.unchanged if line.field == "iban"]
    assert shown == "FR14 •••• •••• •••• •••• •••2 606"  # the last 4 only


def test_the_directory_gives_one_alternative_or_none() -> None:
    directory = postcode_directory()
    assert directory.one_digit_away("76011", "Paris") == "75011"
    assert directory.one_digit_away("75011", "") is None
    assert directory.one_digit_away("69000", "Paris") is None  # two digits away
