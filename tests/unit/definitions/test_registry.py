"""The registry's public side: registering a type, and the definition's `confirms` rule."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from forms_service.definitions.fieldtypes import (
    FIELD_TYPES,
    FieldType,
    OnlineControl,
    register_field_type,
    type_for_acroform,
    type_named_by,
    unregister_field_type,
)
from forms_service.definitions.service import load_definition, load_definitions
from forms_service.intake.mailroom.reading import context_for
from ocr.interfaces import PairVerdict
from tests.unit.definitions.test_definitions import CONNECTORS, SHIPPED, VALID, problems_of, write


class Reference(FieldType):
    """A made-up type: what a type does not set comes from the base."""

    name = "reference"


def test_a_registered_type_is_known_until_unregistered() -> None:
    assert "reference" not in FIELD_TYPES
    register_field_type(Reference())
    try:
        assert FIELD_TYPES["reference"].control is OnlineControl.INPUT
        register_field_type(Reference())  # the same type again: harmless
    finally:
        unregister_field_type("reference")
    assert "reference" not in FIELD_TYPES


def test_a_name_cannot_be_taken_twice() -> None:
    class Impostor(FieldType):
        name = "iban"

    with pytest.raises(ValueError, match="already registered"):
        register_field_type(Impostor())
    assert type(FIELD_TYPES["iban"]).__name__ == "IbanType"


def test_the_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        FIELD_TYPES["reference"] = Reference()  # type: ignore[index]


def test_name_hints_of_imported_pdf_fields() -> None:
    assert type_named_by("courriel du client") == "email"
    assert type_named_by("IBAN_mobile") == "iban"  # tried before the phone's "mobile"
    assert type_named_by("tel portable") == "phone"
    assert type_named_by("code_postal") == "postcode"
    assert type_named_by("nom") is None


def test_an_imported_acroform_field_becomes_the_type_that_takes_its_kind() -> None:
    assert type_for_acroform("text") == "text"
    assert type_for_acroform("checkbox") == "checkbox"
    assert type_for_acroform("radio") == "choice"
    assert type_for_acroform("radio", multiple=True) == "choice"  # radios pick one
    assert type_for_acroform("list") == "choice"
    assert type_for_acroform("list", multiple=True) == "multiple_choice"
    assert type_for_acroform("choice", multiple=True) == "multiple_choice"
    assert type_for_acroform("signature") == "signature"
    with pytest.raises(KeyError):
        type_for_acroform("pushbutton")


def _confirming(city: str | None = "city") -> dict[str, object]:
    raw = copy.deepcopy(VALID)
    fields = raw["fields"]
    assert isinstance(fields, list)
    fields[0]["confirms"] = city
    fields.insert(
        1,
        {
            "name": "city",
            "type": "text",
            "label": {"fr": "Ville", "en": "City"},
            "maps_to": "city",
        },
    )
    return raw


def test_confirms_names_the_field_that_confirms_a_postcode(tmp_path: Path) -> None:
    definition, problems = load_definition(
        write(tmp_path, "paired", _confirming()), connectors=CONNECTORS
    )
    assert problems == [] and definition is not None
    assert definition.field("postcode").confirms == "city"
    pair = definition.field("postcode").pair_check()
    assert pair is not None and (pair.field, pair.other) == ("postcode", "city")
    assert pair("33000", "BORDEAUX") is PairVerdict.CONFIRMED
    assert definition.field("city").pair_check() is None


def test_confirms_must_name_a_field_of_the_form(tmp_path: Path) -> None:
    (message,) = problems_of(tmp_path, "unpaired", _confirming("town"))
    assert message.startswith("unpaired.yaml: field 'postcode'")
    assert "'confirms' names 'town', which is not a field" in message


def test_only_a_confirmable_type_takes_confirms(tmp_path: Path) -> None:
    raw = _confirming()
    fields = raw["fields"]
    assert isinstance(fields, list)
    fields[1]["confirms"] = "postcode"
    (message,) = problems_of(tmp_path, "text-paired", raw)
    assert "field 'city'" in message and "cannot be confirmed" in message


def test_the_mailroom_builds_the_reading_context_from_the_registry() -> None:
    contact = load_definitions(SHIPPED, connectors=CONNECTORS)["contact-update"]
    context = context_for(contact, dpi=300, threshold=0.99)
    assert set(context.checks) == {"postcode", "email", "phone"}
    assert [(p.field, p.other) for p in context.pairs] == [("postcode", "city")]
    assert context.checks["postcode"]("33000") and not context.checks["postcode"]("00000")
    # The context goes to worker processes: it must pickle, checks included.
    copied = pickle.loads(pickle.dumps(context))  # noqa: S301 - our own object
    assert copied.checks["phone"]("06 12 34 56 78")
