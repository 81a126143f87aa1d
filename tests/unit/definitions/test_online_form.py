"""WTForms fields derived from the field types: one place decides how each type is asked online."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField

from forms_service.definitions.model import FormDefinition
from forms_service.definitions.online_form import (
    challenge_form_class,
    field_for,
    form_value,
    online_form_class,
)
from forms_service.definitions.service import load_definitions

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"


@pytest.fixture(scope="module")
def forms() -> dict[str, FormDefinition]:
    return dict(load_definitions(SHIPPED))


def test_each_type_gets_its_wtforms_field(forms: dict[str, FormDefinition]) -> None:
    contact, consent = forms["contact-update"], forms["consent-preferences"]
    assert field_for(contact.field("city"), "fr").field_class is StringField
    assert field_for(consent.field("consent_sms"), "fr").field_class is BooleanField
    assert field_for(consent.field("preferred_channel"), "fr").field_class is RadioField
    interests = field_for(consent.field("interests"), "fr").field_class
    assert issubclass(interests, SelectMultipleField)


def test_online_form_has_the_online_fields_only(forms: dict[str, FormDefinition]) -> None:
    form = online_form_class(forms["contact-update"], "fr")()
    assert [f.name for f in form] == [
        "address_line",
        "address_extra",
        "postcode",
        "city",
        "email",
        "phone",
    ]  # no signature: it is a paper field


def test_inputs_carry_the_type_hints_for_keyboards_and_autofill(
    forms: dict[str, FormDefinition],
) -> None:
    form = online_form_class(forms["contact-update"], "en")()
    email = form["email"]()
    assert 'type="email"' in email and 'autocomplete="email"' in email
    phone = form["phone"]()
    assert 'type="tel"' in phone and 'aria-describedby="phone-help"' in phone
    postcode = form["postcode"]()
    assert 'inputmode="numeric"' in postcode and 'autocomplete="postal-code"' in postcode
    assert 'aria-required="true"' in postcode and "required" in postcode
    address = form["address_line"]()
    assert 'maxlength="38"' in address
    assert 'autocomplete="address-line1"' in address  # from the definition (WCAG 1.3.5)
    assert 'autocomplete="address-level2"' in form["city"]()
    assert form["address_line"].label.text == "Address (number and street)"


def test_validation_uses_the_field_types_in_the_customer_language(
    forms: dict[str, FormDefinition],
) -> None:
    form_class = online_form_class(forms["contact-update"], "en")
    form = form_class(
        MultiDict({"address_line": "", "postcode": "7501", "city": "Lyon", "email": "x@y"})
    )
    assert not form.validate()
    assert form.errors == {
        "address_line": ["This field is required."],
        "postcode": ["Invalid French postcode: 5 digits (example: 75011)."],
        "email": ["Invalid e-mail address (example: name@example.com)."],
    }
    french = online_form_class(forms["contact-update"], "fr")(
        MultiDict(
            {"address_line": "1 rue A", "postcode": "75011", "city": "Paris", "phone": "06 12"}
        )
    )
    assert not french.validate()
    assert french.errors == {"phone": ["Numéro de téléphone incorrect (exemple : 06 12 34 56 78)."]}


def test_boxes_and_choices_validate(forms: dict[str, FormDefinition]) -> None:
    bank = online_form_class(forms["bank-details"], "fr")(
        MultiDict({"account_holder": "Jean Dupont", "iban": "FR7630006000011234567890189"})
    )
    assert not bank.validate()
    assert bank.errors == {"mandate": ["Cochez cette case pour continuer."]}
    consent = online_form_class(forms["consent-preferences"], "en")(
        MultiDict([("preferred_channel", "fax"), ("interests", "savings"), ("interests", "x")])
    )
    assert not consent.validate()
    assert consent.errors == {
        "preferred_channel": ["Not a valid choice."],
        "interests": ["Not a valid choice."],
    }


def test_challenge_form_asks_each_question_without_autofill(
    forms: dict[str, FormDefinition],
) -> None:
    form = challenge_form_class(forms["bank-details"].challenge, "en")()
    assert [f.name for f in form] == ["birth_date", "postcode"]
    rendered = form["birth_date"]()
    assert 'autocomplete="off"' in rendered and 'inputmode="numeric"' in rendered
    assert 'type="date"' not in rendered
    assert form["postcode"].label.text == "The postcode of your current address"
    empty = challenge_form_class(forms["bank-details"].challenge, "fr")(MultiDict({}))
    assert not empty.validate()
    assert set(empty.errors) == {"birth_date", "postcode"}


def test_form_values_from_canonical_values(forms: dict[str, FormDefinition]) -> None:
    consent, contact, bank = (
        forms["consent-preferences"],
        forms["contact-update"],
        forms["bank-details"],
    )
    assert form_value(consent.field("consent_sms"), "true") is True
    assert form_value(consent.field("consent_sms"), "false") is False
    assert form_value(consent.field("interests"), "savings,credit") == ["savings", "credit"]
    assert form_value(consent.field("interests"), None) == []
    assert form_value(contact.field("phone"), "+33612345678") == "06 12 34 56 78"
    assert form_value(bank.field("iban"), "FR7630006000011234567890189") == (
        "FR76 3000 6000 0112 3456 7890 189"
    )
    assert form_value(contact.field("city"), None) == ""


def test_a_refused_prefilled_value_passes_only_untouched(
    forms: dict[str, FormDefinition],
) -> None:
    contact = forms["contact-update"]
    phone = contact.field("phone")
    assert phone.parse_answer("0639062210", "0639062210") == "0639062210"
    assert phone.parse_answer("06 12 34 56 78", "0639062210") == "+33612345678"
    shown = {"phone": "0639062210"}
    data = {"address_line": "1 rue A", "postcode": "75011", "city": "Paris"}
    kept = online_form_class(contact, "fr", shown=shown)(MultiDict({**data, "phone": "0639062210"}))
    assert kept.validate(), kept.errors
    changed = online_form_class(contact, "fr", shown=shown)(
        MultiDict({**data, "phone": "0639062211"})
    )
    assert not changed.validate()
    assert set(changed.errors) == {"phone"}
