"""The field-type registry: parsing, checking, comparing and showing each type."""

from __future__ import annotations

import datetime as dt

import pytest

from forms_service.core.i18n import LOCALES, field_message
from forms_service.definitions.fieldtypes import (
    CHOICE_TYPES,
    FIELD_TYPES,
    Choice,
    FieldValueError,
    Rules,
    WidgetKind,
    check_date_spec,
)

NO_RULES = Rules()
CHANNELS = (
    Choice("email", {"fr": "E-mail", "en": "E-mail"}),
    Choice("sms", {"fr": "SMS", "en": "Text message"}),
    Choice("post", {"fr": "Courrier", "en": "Post"}),
)


def parse(type_name: str, raw: object, rules: Rules = NO_RULES) -> str | None:
    return FIELD_TYPES[type_name].parse(raw, rules, CHANNELS)


def refused(type_name: str, raw: object, rules: Rules = NO_RULES) -> FieldValueError:
    with pytest.raises(FieldValueError) as caught:
        parse(type_name, raw, rules)
    return caught.value


def test_registry_holds_every_type_of_the_format_once() -> None:
    assert set(FIELD_TYPES) == {
        "text",
        "email",
        "phone",
        "postcode",
        "date",
        "iban",
        "choice",
        "multiple_choice",
        "checkbox",
        "signature",
    }
    for name, field_type in FIELD_TYPES.items():
        assert field_type.name == name
        assert isinstance(field_type.widget, WidgetKind)
    assert set(FIELD_TYPES) >= CHOICE_TYPES
    assert not FIELD_TYPES["signature"].writable
    assert all(t.writable for n, t in FIELD_TYPES.items() if n != "signature")


def test_every_refusal_has_a_message_in_every_language() -> None:
    keys = {
        "too_long",
        "too_short",
        "pattern",
        "invisible_characters",
        "email",
        "phone",
        "postcode_fr",
        "postcode",
        "postcode_country",
        "postcode_countries",
        "date",
        "date_min",
        "date_max",
        "iban",
        "iban_country",
        "choice",
        "checkbox",
        "must_tick",
        "signature",
    }
    for key in keys:
        texts = {
            field_message(key, loc, max=1, min=1, country="XX", countries="XX", example="1")
            for loc in LOCALES
        }
        assert key not in texts
        assert len(texts) == len(LOCALES), key


@pytest.mark.parametrize("type_name", sorted(FIELD_TYPES))
@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n"])
def test_empty_input_is_no_value_for_every_type(type_name: str, empty: object) -> None:
    assert parse(type_name, empty) is None


# -- text ---------------------------------------------------------------------------------


def test_text_collapses_whitespace_keeps_accents_and_compares_without_case() -> None:
    text = FIELD_TYPES["text"]
    assert parse("text", "  12   rue\tdes  Lilas ") == "12 rue des Lilas"
    assert parse("text", "Saint-E\u0301tienne") == "Saint-Étienne"  # NFC
    assert text.comparison_key("LYON") == text.comparison_key("lyon")
    assert text.comparison_key("Lyon") != text.comparison_key("Lyons")


def test_text_rules_length_and_pattern() -> None:
    assert refused("text", "abcdef", Rules(max_length=5)).params == {"max": 5}
    assert refused("text", "ab", Rules(min_length=3)).params == {"min": 3}
    assert refused("text", "AB12", Rules(pattern=r"[A-Z]+")).key == "pattern"
    assert parse("text", "ABCD", Rules(pattern=r"[A-Z]+", max_length=4)) == "ABCD"


# -- email --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Jean.Dupont@Example.FR ", "jean.dupont@example.fr"),
        ("jean dupont@example.fr", "jeandupont@example.fr"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
    ],
)
def test_email_is_lower_cased_and_compacted(raw: str, expected: str) -> None:
    assert parse("email", raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["not-an-email", "a@b", "a@@example.fr", "@example.fr", "a@example.", "a" * 250 + "@x.fr"],
)
def test_email_refuses_malformed_addresses(raw: str) -> None:
    assert refused("email", raw).key == "email"


# -- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_becomes_e164(raw: str, expected: str) -> None:
    assert parse("phone", raw) == expected


@pytest.mark.parametrize("raw", ["123", "06 12 34", "hello", "+33 0 00 00 00 00"])
def test_phone_refuses_invalid_numbers(raw: str) -> None:
    assert refused("phone", raw).key == "phone"


def test_phone_region_reads_national_numbers_of_that_country() -> None:
    assert parse("phone", "020 7946 0958", Rules(region="GB")) == "+442079460958"
    assert refused("phone", "020 7946 0958").key == "phone"  # not a French number


def test_phone_display_is_national_for_france_international_otherwise() -> None:
    phone = FIELD_TYPES["phone"]
    assert phone.display("+33612345678", "fr", ()) == "06 12 34 56 78"
    assert phone.display("+442079460958", "en", ()) == "+44 20 7946 0958"
    assert phone.comb_cells(Rules()) == 10


# -- postcode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("75011", "75011"),
        ("75 011", "75011"),
        ("20000", "20000"),  # Corse
        ("97400", "97400"),  # La Réunion
        ("97500", "97500"),  # Saint-Pierre-et-Miquelon (regression: was refused)
        ("98000", "98000"),  # Monaco
    ],
)
def test_french_postcode_is_five_digits_of_an_existing_department(raw: str, expected: str) -> None:
    assert parse("postcode", raw) == expected


@pytest.mark.parametrize("raw", ["00000", "7501", "750111", "75O11", "96000", "97700", "ABCDE"])
def test_french_postcode_refuses_impossible_codes(raw: str) -> None:
    assert refused("postcode", raw).key == "postcode_fr"


def test_other_countries_postcodes_follow_their_own_format() -> None:
    rules = Rules(country="GB")
    assert parse("postcode", "sw1a 1aa", rules) == "SW1A 1AA"
    assert refused("postcode", "!!", rules).key == "postcode_country"
    assert FIELD_TYPES["postcode"].comb_cells(rules) == 8  # the longest example, EC1Y 8SY
    assert FIELD_TYPES["postcode"].comb_cells(Rules()) == 5


# -- date ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["1990-02-01", "01/02/1990", "01-02-1990", "01.02.1990", "01 02 1990", "01021990"]
)
def test_date_reads_french_and_iso_writing(raw: str) -> None:
    assert parse("date", raw) == "1990-02-01"


def test_date_accepts_source_values_and_shows_french() -> None:
    assert parse("date", dt.date(1990, 2, 1)) == "1990-02-01"
    assert parse("date", dt.datetime(1990, 2, 1, 13, 5)) == "1990-02-01"
    date = FIELD_TYPES["date"]
    assert date.display("1990-02-01", "en", ()) == "01/02/1990"
    assert date.to_source("1990-02-01") == dt.date(1990, 2, 1)
    assert date.to_source(None) is None


@pytest.mark.parametrize("raw", ["31/02/2020", "2020-13-01", "1er mars", "32/01/2000"])
def test_date_refuses_impossible_dates(raw: str) -> None:
    assert refused("date", raw).key == "date"


def test_date_rules_relative_to_today() -> None:
    adult = Rules(max_date="today-18y")
    assert parse("date", "01/01/1980", adult) == "1980-01-01"
    too_young = dt.date.today() - dt.timedelta(days=365 * 10)
    error = refused("date", too_young.isoformat(), adult)
    assert error.key == "date_max"
    assert str(dt.date.today().year - 18) in str(error.params["max"])
    future = Rules(min_date="today+1d")
    assert refused("date", dt.date.today().isoformat(), future).key == "date_min"
    fixed = Rules(min_date="2000-01-01")
    assert refused("date", "31/12/1999", fixed).params == {"min": "01/01/2000"}


@pytest.mark.parametrize("spec", ["today", "today-18y", "today+30d", "2024-02-29"])
def test_date_rule_specs_are_checked(spec: str) -> None:
    check_date_spec(spec)


@pytest.mark.parametrize("spec", ["tomorrow", "today-18", "today*2y", "29/02/2024"])
def test_bad_date_rule_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        check_date_spec(spec)


# -- iban ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("fr76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("FR76-3000-6000-0112-3456-7890-189", "FR7630006000011234567890189"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ],
)
def test_iban_is_compacted_upper_case(raw: str, expected: str) -> None:
    assert parse("iban", raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "FR7630006000011234567890188",  # one digit off: checksum fails
        "FR763000600001123456789018",  # too short
        "XX7630006000011234567890189",  # no such country
        "hello",
    ],
)
def test_iban_checksum_and_format_are_verified(raw: str) -> None:
    assert refused("iban", raw).key == "iban"


def test_iban_countries_rule_and_display_by_groups_of_four() -> None:
    french_only = Rules(countries=("FR",))
    error = refused("iban", "DE89370400440532013000", french_only)
    assert error.key == "iban_country"
    assert error.params == {"country": "DE"}
    iban = FIELD_TYPES["iban"]
    assert iban.display("FR7630006000011234567890189", "fr", ()) == (
        "FR76 3000 6000 0112 3456 7890 189"
    )
    assert iban.comb_cells(french_only) == 27
    assert iban.comb_cells(Rules(countries=("FR", "DE"))) == 34


# -- choices ------------------------------------------------------------------------------


def test_single_choice_matches_values_without_case_and_shows_the_label() -> None:
    assert parse("choice", "SMS") == "sms"
    assert refused("choice", "fax").key == "choice"
    choice = FIELD_TYPES["choice"]
    assert choice.display("post", "fr", CHANNELS) == "Courrier"
    assert choice.display("sms", "en", CHANNELS) == "Text message"
    assert choice.display("sms", "de", CHANNELS) == "SMS"  # unknown locale: first label


def test_multiple_choice_is_canonical_in_definition_order() -> None:
    assert parse("multiple_choice", ["post", "email"]) == "email,post"
    assert parse("multiple_choice", "Post, SMS ,email") == "email,sms,post"
    assert parse("multiple_choice", []) is None
    assert refused("multiple_choice", ["email", "fax"]).key == "choice"
    shown = FIELD_TYPES["multiple_choice"].display("email,post", "en", CHANNELS)
    assert shown == "E-mail, Post"


# -- checkbox and signature ---------------------------------------------------------------


@pytest.mark.parametrize("raw", [True, 1, "true", "Oui", "yes", "on", "X", "/Yes"])
def test_checkbox_ticked(raw: object) -> None:
    assert parse("checkbox", raw) == "true"


@pytest.mark.parametrize("raw", [False, 0, "false", "non", "No", "off", "/Off"])
def test_checkbox_not_ticked(raw: object) -> None:
    assert parse("checkbox", raw) == "false"


def test_checkbox_refuses_other_values_and_enforces_must_tick() -> None:
    assert refused("checkbox", "maybe").key == "checkbox"
    assert refused("checkbox", False, Rules(must_tick=True)).key == "must_tick"
    checkbox = FIELD_TYPES["checkbox"]
    assert checkbox.display("true", "fr", ()) == "Oui"
    assert checkbox.display("false", "en", ()) == "No"
    assert checkbox.to_source("true") is True
    assert checkbox.to_source("false") is False
    assert checkbox.to_source(None) is None


def test_signature_is_present_or_refused() -> None:
    assert parse("signature", "signed") == "signed"
    assert parse("signature", True) == "signed"
    assert refused("signature", "scribble").key == "signature"


# -- what the other channels derive -------------------------------------------------------


def test_channels_derive_widgets_charsets_and_html_from_the_type() -> None:
    assert FIELD_TYPES["postcode"].ocr_charset == "0123456789"
    assert set("RUE DES LILAS 12") <= set(FIELD_TYPES["text"].ocr_charset or "")
    assert ":" not in (FIELD_TYPES["text"].ocr_charset or ":")
    assert set("FR76") <= set(FIELD_TYPES["iban"].ocr_charset or "")
    assert FIELD_TYPES["email"].html_attributes["type"] == "email"
    assert FIELD_TYPES["phone"].html_attributes["autocomplete"] == "tel"
    assert FIELD_TYPES["checkbox"].widget is WidgetKind.CHECKBOX
    assert FIELD_TYPES["choice"].widget is WidgetKind.CHOICES
    assert FIELD_TYPES["date"].comb_cells(Rules()) == 8
    # Regression: <input type="date"> ignored typed dates in Chromium; birth dates are typed.
    assert FIELD_TYPES["date"].html_attributes == {"inputmode": "numeric"}
    assert FIELD_TYPES["text"].comb_cells(Rules()) is None


def test_rules_from_mapping_names_unknown_keys() -> None:
    with pytest.raises(KeyError) as caught:
        Rules.from_mapping({"max_lenght": 3})
    assert caught.value.args == ("max_lenght",)
    rules = Rules.from_mapping({"countries": ["fr", "be"], "min_date": dt.date(2000, 1, 1)})
    assert rules.countries == ("FR", "BE")
    assert rules.min_date == "2000-01-01"


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("phone", "0639062210"),  # a Mayotte mobile stored without its country code
        ("phone", "not a phone"),
        ("date", "31/02/1990"),
        ("iban", "FR76"),
        ("choice", "fax"),
    ],
)
def test_values_a_type_refuses_are_shown_as_they_are(type_name: str, value: str) -> None:
    # Regression: showing a dirty source value (snapshot, prefill, confirmation) raised.
    assert FIELD_TYPES[type_name].display(value, "fr", CHANNELS) == value


def test_a_refused_stored_value_is_recognised_when_sent_back_untouched() -> None:
    phone, iban = FIELD_TYPES["phone"], FIELD_TYPES["iban"]
    assert phone.is_shown(" 0639062210 ", "0639062210", ())
    assert not phone.is_shown("0639062211", "0639062210", ())
    assert not phone.is_shown("0639062210", None, ())
    assert not phone.is_shown(None, "0639062210", ())
    assert iban.is_shown("FR76 123", "FR76123", ())  # as displayed, by groups of four


# -- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "raw", "expected"),
    [
        ("postcode", "６９００３", "69003"),  # regression: stored and sent to the source as is
        ("date", "０１/０２/１９９０", "1990-02-01"),
        ("phone", "０６ １２ ３４ ５６ ７８", "+33612345678"),
        (
            "iban",
            "ＦＲ７６ ３０００ ６０００ ０１１２ ３４５６ ７８９０ １８９",
            "FR7630006000011234567890189",
        ),
    ],
)
def test_full_width_digits_and_letters_are_read_as_ascii(
    type_name: str, raw: str, expected: str
) -> None:
    assert parse(type_name, raw) == expected


def test_digits_of_other_scripts_are_refused_not_stored() -> None:
    # Regression: "\\d" matched Arabic-Indic digits, so "٦٩٠٠٣" was a valid French postcode.
    assert refused("postcode", "٦٩٠٠٣").key == "postcode_fr"
    assert refused("date", "٠١/٠٢/١٩٩٠").key == "date"


@pytest.mark.parametrize(
    "raw",
    [
        "Lyon\u202e",  # right-to-left override: "gnp.exe" shown as "exe.png"
        "Ly\u200bon",  # zero-width space: two values that look the same
        "Ly\x1b[31mon",  # a terminal escape for whoever reads a log or an export
        "Ly\x7fon",
        "Ly\ue000on",  # private use
        "Ly\ud800on",  # lone surrogate: no database can store it
    ],
)
@pytest.mark.parametrize("type_name", sorted(FIELD_TYPES))
def test_invisible_and_control_characters_are_refused_by_every_type(
    type_name: str, raw: str
) -> None:
    assert refused(type_name, raw).key == "invisible_characters"


def test_line_breaks_and_tabs_in_text_are_spaces_not_new_lines() -> None:
    assert parse("text", "12 rue\r\nBcc: x@evil.example\t ") == "12 rue Bcc: x@evil.example"
    assert refused("email", "a@b.fr\r\nBcc: x@evil.example").key == "email"
