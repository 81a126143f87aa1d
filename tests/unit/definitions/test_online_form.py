"""WTForms fields derived from the field types: one place decides how each type is asked online."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField, widgets
from wtforms.widgets import html_params

from forms_service.definitions.input_widgets import attributes
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
    # Counted by the page's script and refused by the server, never cut by the browser.
    assert 'data-maxlength="38"' in address and " maxlength=" not in address
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
    # A masked value's box starts empty (the current IBAN is shown masked beside it).
    assert form_value(bank.field("iban"), "FR7630006000011234567890189") == ""
    assert bank.field("iban").customer_display("FR7630006000011234567890189", "fr") == (
        "FR76 •••• •••• •••• •••• •••0 189"
    )
    assert bank.field("iban").display("FR7630006000011234567890189", "fr") == (
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
    form_class = online_form_class(contact, "fr")
    kept = form_class(MultiDict({**data, "phone": "0639062210"}), meta={"shown": shown})
    assert kept.validate(), kept.errors
    changed = form_class(MultiDict({**data, "phone": "0639062211"}), meta={"shown": shown})
    assert not changed.validate()
    assert set(changed.errors) == {"phone"}


def test_form_classes_are_built_once_and_share_no_answers(
    forms: dict[str, FormDefinition],
) -> None:
    contact = forms["contact-update"]
    form_class = online_form_class(contact, "fr")
    assert online_form_class(contact, "fr") is form_class
    assert online_form_class(contact, "en") is not form_class
    assert challenge_form_class(contact.challenge, "fr") is challenge_form_class(
        contact.challenge, "fr"
    )
    data = {"address_line": "1 rue A", "postcode": "75011", "city": "Paris"}
    shown = {"phone": "0639062210"}
    kept = form_class(MultiDict({**data, "phone": "0639062210"}), meta={"shown": shown})
    assert kept.validate(), kept.errors
    # The prefilled value another customer was shown is not accepted for this one.
    other = form_class(MultiDict({**data, "phone": "0639062210"}))
    assert not other.validate()
    assert set(other.errors) == {"phone"}
    assert kept.errors == {}


def test_inputs_are_written_as_wtforms_writes_them(forms: dict[str, FormDefinition]) -> None:
    samples: list[dict[str, Any]] = [
        {"id": "city", "name": "city", "value": "a\"b<c>&'", "required": True, "hidden": False},
        {"aria_describedby": "x-help", "data_some_thing": 3, "class_": "wide"},
        {"value": Markup('<b title="x">'), "maxlength": 40},
        {},
    ]
    for sample in samples:
        assert attributes(**sample) == str(html_params(**sample))
    contact = forms["contact-update"]
    form = online_form_class(contact, "fr")(data={"city": 'Saint-"Malo"', "postcode": "75011"})
    for name in ("city", "postcode", "phone"):
        field = getattr(form, name)
        reference = widgets.TextInput()(field, **field.render_kw)
        assert str(field()) == str(reference), name
        invalid = {"aria-describedby": f"{name}-error", "aria-invalid": "true"}
        assert str(field(**invalid)) == str(
            widgets.TextInput()(field, **{**field.render_kw, **invalid})
        )
    bank = challenge_form_class(forms["bank-details"].challenge, "en")(
        MultiDict({"birth_date": '1<"2', "postcode": ""})
    )
    for question in bank:
        reference = widgets.TextInput()(question, **question.render_kw)
        assert str(question()) == str(reference), question.name
        invalid = {"aria-describedby": f"{question.name}-help", "aria-invalid": "true"}
        assert str(question(**invalid)) == str(
            widgets.TextInput()(question, **{**question.render_kw, **invalid})
        )
    consent = online_form_class(forms["consent-preferences"], "fr")(data={"consent_sms": True})
    for name, ticked in (("consent_sms", True), ("consent_email", False)):
        box = getattr(consent, name)
        assert str(box()) == str(widgets.CheckboxInput()(box))
        assert (" checked" in str(box())) is ticked
