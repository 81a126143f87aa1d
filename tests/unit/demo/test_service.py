"""The demo CRM's customers: values every shipped form accepts as they are."""

from __future__ import annotations

from pathlib import Path

from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.service import load_definitions
from forms_service.demo.service import fake_customers

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"


def test_prefilled_demo_values_pass_the_forms_checks() -> None:
    # Regression: accented e-mail addresses and phone numbers of overseas or unassigned
    # ranges made the demo form refuse values the customer had not touched.
    definitions = load_definitions(SHIPPED)
    refused = []
    for customer in fake_customers(1200):
        for definition in definitions.values():
            for field in definition.fields:
                if not field.maps_to or field.rules.must_tick:
                    continue
                try:
                    field.parse(customer[field.maps_to])
                except FieldValueError as exc:
                    refused.append((customer["customer_no"], field.name, exc.key))
    assert refused == []


def test_demo_customers_are_deterministic_and_untidy_like_real_ones() -> None:
    first = list(fake_customers(50))
    assert first == list(fake_customers(50))
    assert len({c["customer_no"] for c in first}) == 50
    phones = [c["phone"] for c in first]
    assert any(" " in p for p in phones) and any(" " not in p for p in phones)
    assert all(c["email"].isascii() for c in first)
