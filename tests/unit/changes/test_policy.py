"""Policy: only valid, confident, conflict-free changes of auto fields skip the clerk."""

from __future__ import annotations

from pathlib import Path

import pytest

from forms_service.changes.model import VALID, Outcome, Route
from forms_service.changes.policy import PolicySettings, confidence_of, route, verdict_of
from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.model import FormDefinition, Policy
from forms_service.definitions.service import load_definitions

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"
SETTINGS = PolicySettings(auto_apply_min_confidence=0.9)


@pytest.fixture(scope="module")
def contact() -> FormDefinition:
    return load_definitions(SHIPPED, connectors={"crm": DEMO_CRM_RECORD_TYPES})["contact-update"]


@pytest.mark.parametrize(
    ("policy", "outcome", "confidence", "verdict", "expected"),
    [
        (Policy.AUTO, Outcome.CHANGE, 1.0, VALID, Route.AUTO),
        (Policy.AUTO, Outcome.CHANGE, 0.9, VALID, Route.AUTO),
        (Policy.AUTO, Outcome.CHANGE, 0.89, VALID, Route.REVIEW),
        (Policy.AUTO, Outcome.CHANGE, 1.0, "email", Route.REVIEW),
        (Policy.AUTO, Outcome.CONFLICT, 1.0, VALID, Route.REVIEW),
        (Policy.REVIEW, Outcome.CHANGE, 1.0, VALID, Route.REVIEW),
        (Policy.FOUR_EYES, Outcome.CHANGE, 1.0, VALID, Route.FOUR_EYES),
        (Policy.FOUR_EYES, Outcome.CONFLICT, 0.2, "iban", Route.FOUR_EYES),
    ],
)
def test_route(
    policy: Policy, outcome: Outcome, confidence: float, verdict: str, expected: Route
) -> None:
    assert (
        route(policy, outcome, confidence=confidence, verdict=verdict, settings=SETTINGS)
        is expected
    )


def test_verdict_checks_the_field_type_and_keeps_a_channel_verdict(contact: FormDefinition) -> None:
    assert verdict_of(contact.field("email"), "a@example.fr", {}) == VALID
    assert verdict_of(contact.field("email"), "not-an-email", {}) == "email"
    assert verdict_of(contact.field("city"), None, {}) == "required"
    assert verdict_of(contact.field("address_extra"), None, {}) == VALID
    assert (
        verdict_of(contact.field("postcode"), "69003", {"verdict": "postcode_city"})
        == "postcode_city"
    )


def test_confidence_defaults_to_certain_and_is_clamped() -> None:
    assert confidence_of({}) == 1.0
    assert confidence_of({"confidence": 0.42}) == 0.42
    assert confidence_of({"confidence": 7}) == 1.0
    assert confidence_of({"confidence": "garbage"}) == 0.0


def test_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        PolicySettings(auto_apply_min_confidence=1.5)
