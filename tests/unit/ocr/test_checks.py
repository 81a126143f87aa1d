"""Checks of values read from paper: IBAN, postcodes against the shipped list, e-mail, phone, dates."""

from __future__ import annotations

import pytest

from ocr.checks import (
    CHECKS,
    PostcodeVerdict,
    date_valid,
    email_valid,
    french_postcode_valid,
    iban_valid,
    phone_valid,
    postcode_directory,
)


@pytest.mark.parametrize(
    "value",
    ["FR7630006000011234567890189", "FR76 3000 6000 0112 3456 7890 189", "DE89370400440532013000"],
)
def test_valid_ibans_pass(value: str) -> None:
    assert iban_valid(value)


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
    assert not iban_valid(value)


def test_shipped_postcode_list_knows_french_postcodes() -> None:
    directory = postcode_directory()
    assert len(directory.localities) > 6000
    assert french_postcode_valid("33000")
    assert french_postcode_valid("75015")
    assert not french_postcode_valid("00000")
    assert not french_postcode_valid("3300")


def test_postcode_city_verdicts() -> None:
    directory = postcode_directory()
    assert directory.verdict("33000", "Bordeaux") is PostcodeVerdict.CONFIRMED
    assert directory.verdict("69003", "LYON") is PostcodeVerdict.CONFIRMED
    assert directory.verdict("01000", "Bourg-en-Bresse") is PostcodeVerdict.CONFIRMED
    assert directory.verdict("33000", "LILLE") is PostcodeVerdict.UNCONFIRMED
    assert directory.verdict("99999", "PARIS") is PostcodeVerdict.UNKNOWN_POSTCODE


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (email_valid, "jean.martin@orange.fr", "jean.martin@orangefr"),
        (phone_valid, "0612345678", "612345678"),
        (phone_valid, "+33612345678", "0012345678"),
        (date_valid, "14071989", "31021989"),
        (date_valid, "01/01/2000", "01131990"),
    ],
)
def test_syntax_checks(check: object, good: str, bad: str) -> None:
    assert callable(check)
    assert check(good)
    assert not check(bad)


def test_checks_are_found_by_field_type_name() -> None:
    assert set(CHECKS) == {"iban", "email", "phone", "date", "postcode"}
