"""Per-character alternatives searched with the registry's checks (issue 16, point 2)."""

from __future__ import annotations

from collections.abc import Sequence

from forms_service.definitions.fieldtypes import FIELD_TYPES, PairCheck, Rules
from forms_service.intake.mailroom.suggestions import Letters, Suggested, letters_of, suggest_page
from ocr.geometry import ZoneKind
from ocr.interfaces import ValueCheck
from ocr.model import Reading, ReviewReason

IBAN = "FR7630006000011234567890189"


def _check(type_name: str) -> ValueCheck:
    check = FIELD_TYPES[type_name].paper_check(Rules(), ())
    assert check is not None
    return check


def _comb(
    field: str, cells: Sequence[Sequence[tuple[str, float]]], warnings: tuple[str, ...] = ()
) -> Reading:
    read = "".join(choices[0][0] for choices in cells)
    alternatives = tuple(tuple(choices) for choices in cells)
    return Reading(
        field, ZoneKind.COMB, read, 0.5, b"", warnings, read=read, alternatives=alternatives
    )


def _certain(text: str) -> list[list[tuple[str, float]]]:
    return [[(char, 0.99)] for char in text]


def _one(
    readings: list[Reading], checks: dict[str, ValueCheck], pairs: Sequence[PairCheck] = ()
) -> Suggested:
    return suggest_page(readings, checks, pairs)[0]


def test_an_iban_with_one_misread_digit_is_corrected_by_its_checksum() -> None:
    cells = _certain(IBAN)
    cells[10] = [("8", 0.62), ("0", 0.3), ("6", 0.05)]  # the 0 of "6000" read as an 8
    misread = IBAN[:10] + "8" + IBAN[11:]
    found = _one([_comb("iban", cells, (ReviewReason.FAILED_CHECK,))], {"iban": _check("iban")})
    assert found.reading.value == IBAN
    assert ReviewReason.CORRECTED_BY_CHECK in found.reading.warnings
    assert found.evidence["ocr_value"] == misread
    assert found.evidence["cross_checks"] == [
        {"code": "iban_checksum", "fields": ["iban"], "alternative": IBAN}
    ]
    assert found.evidence["characters"][10] == {
        "c": "0",
        "p": 0.3,
        "alt": [["8", 0.62], ["6", 0.05]],
    }
    assert len(found.evidence["characters"]) == len(IBAN)
    assert found.evidence["suggestion_probability"] > 0.9  # no other passing string is near


def test_an_iban_read_right_stays_as_read_without_a_flag() -> None:
    found = _one([_comb("iban", _certain(IBAN))], {"iban": _check("iban")})
    assert found.reading.value == IBAN
    assert found.reading.warnings == ()
    assert found.evidence["cross_checks"] == []


def test_the_city_read_beside_it_chooses_the_postcode() -> None:
    pair = PairCheck(FIELD_TYPES["postcode"], "postcode", "city")
    city = Reading("city", ZoneKind.TEXT, "COLMAR", 0.9, b"", read="COLMAR")
    cells = [[("6", 0.99)], [("3", 0.55), ("8", 0.4)], [("0", 0.99)], [("0", 0.99)], [("0", 0.99)]]
    found = _one([_comb("postcode", cells), city], {"postcode": _check("postcode")}, (pair,))
    # 63000 is a listed postcode (Clermont-Ferrand), but COLMAR confirms 68000.
    assert found.reading.value == "68000"
    assert found.evidence["cross_checks"] == [
        {"code": "postcode_city_mismatch", "fields": ["postcode", "city"], "alternative": "68000"}
    ]


def test_a_postcode_the_city_contradicts_names_the_citys_postcode_as_the_alternative() -> None:
    pair = PairCheck(FIELD_TYPES["postcode"], "postcode", "city")
    city = Reading("city", ZoneKind.TEXT, "COLMAR", 0.9, b"", read="COLMAR")
    found = _one(
        [_comb("postcode", _certain("63000")), city], {"postcode": _check("postcode")}, (pair,)
    )
    assert found.reading.value == "63000"
    assert found.evidence["cross_checks"][0]["alternative"] == "68000"


def test_an_impossible_date_becomes_the_likeliest_real_one() -> None:
    cells = _certain("31021980")
    cells[0] = [("3", 0.6), ("2", 0.35)]  # 31 February
    found = _one([_comb("birth_date", cells)], {"birth_date": _check("date")})
    assert found.reading.value == "21021980"
    assert found.evidence["cross_checks"] == [
        {"code": "date_invalid", "fields": ["birth_date"], "alternative": "21021980"}
    ]


def test_a_phone_number_outside_the_numbering_plan_is_flagged() -> None:
    found = _one([_comb("phone", _certain("0012345678"))], {"phone": _check("phone")})
    assert found.evidence["cross_checks"] == [
        {"code": "phone_invalid", "fields": ["phone"], "alternative": None}
    ]


def test_an_email_domain_one_letter_from_a_known_provider_is_suggested_as_it() -> None:
    text = "jean.martin@oramge.fr"
    reading = Reading("email", ZoneKind.TEXT, text, 0.8, b"", read=text)
    found = _one([reading], {"email": _check("email")})
    assert found.reading.value == "jean.martin@orange.fr"
    assert ReviewReason.CORRECTED_BY_CHECK in found.reading.warnings
    assert found.evidence["cross_checks"] == [
        {
            "code": "email_domain_unknown",
            "fields": ["email"],
            "alternative": "jean.martin@orange.fr",
        }
    ]


def test_marks_and_empty_boxes_are_left_as_they_are() -> None:
    tick = Reading("consent", ZoneKind.CHECKBOX, "true", 0.99, b"")
    empty = Reading("phone", ZoneKind.COMB, None, 0.99, b"")
    found = suggest_page([tick, empty], {"phone": _check("phone")})
    assert [s.reading for s in found] == [tick, empty]
    assert all(s.evidence == {} for s in found)


def test_a_city_one_letter_from_the_postcodes_locality_is_suggested_as_listed() -> None:
    pair = PairCheck(FIELD_TYPES["postcode"], "postcode", "city")
    city = Reading("city", ZoneKind.TEXT, "BORDEAUE", 0.9, b"", read="BORDEAUE")
    found = suggest_page(
        [_comb("postcode", _certain("33000")), city], {"postcode": _check("postcode")}, (pair,)
    )
    assert found[1].reading.value == "BORDEAUX"
    assert ReviewReason.CORRECTED_BY_CHECK in found[1].reading.warnings
    assert found[1].evidence["ocr_value"] == "BORDEAUE"
    assert found[1].evidence["cross_checks"] == [
        {
            "code": "postcode_city_mismatch",
            "fields": ["postcode", "city"],
            "alternative": "BORDEAUX",
        }
    ]


def test_an_iban_bank_code_misread_as_letters_is_read_as_digits() -> None:
    cells = _certain(IBAN)
    for position in (5, 6, 7):  # the zeros of "30006" read as O first
        cells[position] = [("O", 0.7), ("0", 0.25), ("D", 0.05)]
    found = _one([_comb("iban", cells, (ReviewReason.FAILED_CHECK,))], {"iban": _check("iban")})
    assert found.reading.value == IBAN


def _text(field: str, cells: Sequence[Sequence[tuple[str, float]]]) -> Reading:
    read = "".join(choices[0][0] for choices in cells)
    alternatives = tuple(tuple(choices) for choices in cells)
    return Reading(field, ZoneKind.TEXT, read, 0.5, b"", (), read=read, alternatives=alternatives)


def _letters() -> dict[str, Letters]:
    return letters_of({"email": FIELD_TYPES["email"], "last_name": FIELD_TYPES["text"]})


def test_letters_choose_between_two_readings_the_readers_find_alike() -> None:
    # "nicolas.bon?et@orange.fr": the readers hesitate between "m" and "n".
    cells = [*_certain("nicolas.bon"), [("m", 0.5), ("n", 0.45)], *_certain("et@orange.fr")]
    checks = {"email": _check("email")}
    without = suggest_page([_text("email", cells)], checks)[0]
    assert without.reading.value == "nicolas.bonmet@orange.fr"
    found = suggest_page([_text("email", cells)], checks, (), _letters())[0]
    assert found.reading.value == "nicolas.bonnet@orange.fr"
    assert ReviewReason.CORRECTED_BY_CHECK in found.reading.warnings
    assert 0.5 < found.evidence["suggestion_probability"] < 1.0


def test_letters_never_overturn_a_clear_reading() -> None:
    # The readers saw an "m" four times likelier than an "n": what is written stands.
    cells = [*_certain("nicolas.bon"), [("m", 0.8), ("n", 0.15)], *_certain("et@orange.fr")]
    found = suggest_page([_text("email", cells)], {"email": _check("email")}, (), _letters())
    assert found[0].reading.value == "nicolas.bonmet@orange.fr"
    assert not found[0].reading.warnings


def test_a_name_with_no_check_is_searched_with_its_letters_alone() -> None:
    cells = [*_certain("L"), [("F", 0.5), ("E", 0.4)], *_certain("MAIRE")]
    found = suggest_page([_text("last_name", cells)], {}, (), _letters())[0]
    assert found.reading.value == "LEMAIRE"
    assert found.reading.warnings == (ReviewReason.CORRECTED_BY_CHECK,)
    assert found.evidence["ocr_value"] == "LFMAIRE"
    assert [c["c"] for c in found.evidence["characters"]] == list("LEMAIRE")
    # Without the letter model (a caller that gives none), the reading is left as read.
    assert suggest_page([_text("last_name", cells)], {})[0].reading.value == "LFMAIRE"
