"""The letter models that weigh readings of names and e-mail addresses (issue 16, point 3)."""

from __future__ import annotations

import json

import pytest

from forms_service.definitions.fieldtypes import FIELD_TYPES
from forms_service.definitions.fieldtypes.letters import (
    TABLE_PATH,
    LetterModel,
    count_letters,
    shipped_letters,
)


def test_the_shipped_tables_are_what_counting_fakers_lists_gives() -> None:
    stored = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    assert stored["command"] == "python scripts/count_letters.py"
    fresh = count_letters()
    assert set(stored["models"]) == set(fresh) == {"email", "text"}
    for kind, model in fresh.items():
        assert stored["models"][kind] == model.as_json(), kind


@pytest.mark.parametrize(
    ("kind", "name", "misread"),
    [
        # Names of neither the benchmark nor the tests' forms, a letter misread.
        ("text", "LEMAIRE", "LFMAIRE"),
        ("text", "BONNET", "BOMNET"),
        ("text", "12 BOULEVARD PASTEUR", "12 BOULEVARD PASTEVR"),
        ("email", "nicolas.bonnet", "nicolas.bonmet"),
        ("email", "sophie.lemaire", "sophie.lenaire"),
    ],
)
def test_a_name_is_likelier_than_its_misreading(kind: str, name: str, misread: str) -> None:
    model = shipped_letters(kind)
    assert model.log_probability(name) > model.log_probability(misread)


def test_case_accents_and_digits_do_not_change_a_strings_probability() -> None:
    model = shipped_letters("email")
    assert model.log_probability("Lefèvre") == model.log_probability("lefevre")
    assert model.log_probability("paul75") == model.log_probability("paul12")


def test_a_model_counts_its_strings_and_smooths_the_rest() -> None:
    model = LetterModel.counted(["abab", "abab", "abba"])
    assert model.log_probability("abab") > model.log_probability("abba")
    # Never seen, still possible: every symbol has a probability after any other.
    assert model.log_probability("zq-") < model.log_probability("abba") < 0
    assert LetterModel.from_json(model.as_json()).log_probability("abab") == pytest.approx(
        model.log_probability("abab")
    )


def test_the_types_say_which_model_weighs_their_values() -> None:
    email, text = FIELD_TYPES["email"], FIELD_TYPES["text"]
    assert (email.letters, text.letters, FIELD_TYPES["iban"].letters) == ("email", "text", None)
    # An address is weighed by its local part alone (the domain is the checks' business).
    assert email.letters_log_probability("nicolas.bonnet@orange.fr") == pytest.approx(
        shipped_letters("email").log_probability("nicolas.bonnet")
    )
    assert FIELD_TYPES["iban"].letters_log_probability("FR76") == 0.0
