"""Three-way diff: normalised by the field type, four outcomes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from forms_service.changes.diff import canonical, diff_field, diff_submission
from forms_service.changes.model import Outcome
from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import load_definitions

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"


@pytest.fixture(scope="module")
def contact() -> FormDefinition:
    return load_definitions(SHIPPED, connectors={"crm": DEMO_CRM_RECORD_TYPES})["contact-update"]


@pytest.fixture(scope="module")
def bank() -> FormDefinition:
    return load_definitions(SHIPPED, connectors={"crm": DEMO_CRM_RECORD_TYPES})["bank-details"]


@pytest.mark.parametrize(
    ("field", "base", "current", "proposed", "outcome"),
    [
        ("city", "Lyon", "Lyon", "Lyon", Outcome.UNCHANGED),
        ("city", "Lyon", "Lyon", "Villeurbanne", Outcome.CHANGE),
        ("city", "Lyon", "Villeurbanne", "Villeurbanne", Outcome.ALREADY_APPLIED),
        ("city", "Lyon", "Caluire", "Villeurbanne", Outcome.CONFLICT),
        # The source moved but the customer kept what they saw: not the customer's change.
        ("city", "Lyon", "Caluire", "Lyon", Outcome.UNCHANGED),
        # Normalisation: surrounding whitespace, e-mail case, phone formats, IBAN spacing.
        ("city", "Lyon", "  Lyon ", " Lyon", Outcome.UNCHANGED),
        ("email", "a.b@example.fr", "A.B@Example.FR", "a.b@EXAMPLE.fr", Outcome.UNCHANGED),
        ("phone", "+33612345678", "06 12 34 56 78", "0612345678", Outcome.UNCHANGED),
        ("phone", "+33612345678", "06.12.34.56.78", "07 00 00 00 01", Outcome.CHANGE),
        # Accents are kept: a fix of an accent is a change.
        ("city", "Saint-Etienne", "Saint-Etienne", "Saint-Étienne", Outcome.CHANGE),
    ],
)
def test_outcomes(
    contact: FormDefinition,
    field: str,
    base: str,
    current: str,
    proposed: str,
    outcome: Outcome,
) -> None:
    diff = diff_field(contact.field(field), base, current, proposed)
    assert diff.outcome is outcome
    assert diff.current_raw == current


def test_iban_spacing_is_not_a_change(bank: FormDefinition) -> None:
    iban = bank.field("iban")
    diff = diff_field(
        iban,
        "FR7630006000011234567890189",
        "FR76 3000 6000 0112 3456 7890 189",
        "fr76 3000 6000 0112 3456 7890 189",
    )
    assert diff.outcome is Outcome.UNCHANGED
    assert diff.current == "FR7630006000011234567890189"


def test_source_values_the_rules_refuse_still_compare(bank: FormDefinition) -> None:
    # The mandate must be ticked to be answered, but the source's "false" is a value to compare.
    mandate = bank.field("mandate")
    assert canonical(mandate, False) == "false"
    assert diff_field(mandate, "false", False, "true").outcome is Outcome.CHANGE


def test_submission_keeps_answered_writable_fields_in_definition_order(
    contact: FormDefinition,
) -> None:
    diffs = diff_submission(
        contact,
        base={"city": "Lyon", "postcode": "69003", "email": None, "signature": None},
        current={
            "city": "Lyon",
            "postcode": "69003",
            "email": "x@example.fr",
            "birth": dt.date(1980, 1, 1),
        },
        proposed={
            "postcode": "69100",
            "city": "Lyon",
            "email": "y@example.fr",
            "signature": "signed",
        },
    )
    assert [(d.field, d.outcome) for d in diffs] == [
        ("postcode", Outcome.CHANGE),
        ("city", Outcome.UNCHANGED),
        ("email", Outcome.CONFLICT),
    ]
