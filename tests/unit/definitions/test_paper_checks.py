"""The checks of values read from paper: the field types' own, so paper and online agree.

Moved from tests/unit/ocr/test_checks.py when ocr/ lost its own copies of the checks (issue
12): the same examples, checked now by the registry. Two assertions changed with it, as the
issue asks (a value accepted online is accepted on paper and the reverse): a phone number
written without its trunk 0 ("612345678") and a foreign mobile number are valid on paper
now, as they were online.
"""

from __future__ import annotations

import pytest

from forms_service.definitions.fieldtypes import FIELD_TYPES, FieldValueError, PaperCheck, Rules
from forms_service.definitions.fieldtypes.postcode import postcode_directory
from ocr.interfaces import PairVerdict


def check(type_name: str, rules: Rules | None = None) -> PaperCheck:
    found = FIELD_TYPES[type_name].paper_check(rules or Rules(), ())
    assert found is not None
    return found


@pytest.mark.parametrize(
    "value",
    ["FR7630006000011234567890189", "FR76 3000 6000 0112 3456 7890 189", "DE89370400440532013000"],
)
def test_valid_ibans_pass(value: str) -> None:
    assert check("iban")(value)


@pytest.mark.parametrize(
    "value",
    [
        "FR7630006000011234567890188",  # one digit off
        "FR763000600001123456789018",  # too short for France
        "FR76300060000112345678901B9",  # a letter read for a digit
        "",
        "76FR30006000011234567890189",
    ],
)
def test_wrong_ibans_fail(value: str) -> None:
    assert not check("iban")(value)


def test_only_a_checksum_is_a_checksum() -> None:
    assert check("iban").checksum
    assert not any(check(name).checksum for name in ("email", "phone", "date", "postcode"))


def test_types_without_a_paper_check() -> None:
    for name in ("text", "choice", "multiple_choice", "checkbox", "signature"):
        assert FIELD_TYPES[name].paper_check(Rules(), ()) is None


def test_postcodes_are_the_types_own_rule() -> None:
    postcode = check("postcode")
    assert postcode("33000")
    assert postcode("75015")
    assert not postcode("00000")
    assert not postcode("3300")
    assert not postcode("99999")


def test_shipped_postcode_list_knows_french_postcodes() -> None:
    assert len(postcode_directory().localities) > 6000


def test_postcode_city_verdicts() -> None:
    postcode = FIELD_TYPES["postcode"]
    assert postcode.confirm("33000", "Bordeaux") is PairVerdict.CONFIRMED
    assert postcode.confirm("69003", "LYON") is PairVerdict.CONFIRMED
    assert postcode.confirm("01000", "Bourg-en-Bresse") is PairVerdict.CONFIRMED
    assert postcode.confirm("33000", "LILLE") is PairVerdict.UNCONFIRMED
    assert postcode.confirm("99999", "PARIS") is PairVerdict.UNKNOWN
    assert FIELD_TYPES["text"].confirm("33000", "Bordeaux") is None


@pytest.mark.parametrize(
    ("type_name", "good", "bad"),
    [
        ("email", "jean.martin@orange.fr", "jean.martin@orangefr"),
        ("phone", "0612345678", "0012345678"),
        ("phone", "+33612345678", "0012345678"),
        ("date", "14071989", "31021989"),
        ("date", "01/01/2000", "01131990"),
    ],
)
def test_syntax_checks(type_name: str, good: str, bad: str) -> None:
    assert check(type_name)(good)
    assert not check(type_name)(bad)


@pytest.mark.parametrize(
    ("type_name", "value"), [("phone", "612345678"), ("phone", "+4915123456789")]
)
def test_what_is_valid_online_is_valid_on_paper(type_name: str, value: str) -> None:
    FIELD_TYPES[type_name].parse(value, Rules(), ())  # accepted online
    assert check(type_name)(value)


def test_the_fields_rules_apply_on_paper_too() -> None:
    adult = Rules(max_date="today-18y")
    with pytest.raises(FieldValueError):
        FIELD_TYPES["date"].parse("01012020", adult, ())
    assert not check("date", adult)("01012020")
    assert check("date", adult)("01011980")
