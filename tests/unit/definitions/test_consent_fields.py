"""A field's `consent:` key: a checkbox naming a known purpose and channel, else a refusal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from forms_service.definitions.consent_fields import FieldConsent
from forms_service.definitions.service import load_definition
from tests.unit.definitions.test_definitions import CONNECTORS, VALID, problems_of, write

BOX = {
    "name": "news_by_email",
    "type": "checkbox",
    "label": {"fr": "J'accepte les offres par e-mail", "en": "I agree to offers by e-mail"},
    "help": {"fr": "Une lettre par mois", "en": "One letter a month"},
    "maps_to": "consent_email",
    "consent": {"purpose": "commercial", "channel": "email"},
}


def _with(field: dict[str, Any]) -> dict[str, Any]:
    content = copy.deepcopy(VALID)
    content["fields"].append(field)
    return content


def test_a_consent_box_names_its_purpose_channel_and_wording(tmp_path: Path) -> None:
    definition, problems = load_definition(
        write(tmp_path, "news", _with(BOX)), connectors=CONNECTORS
    )
    assert problems == [] and definition is not None
    box = definition.field("news_by_email")
    assert box.consent == FieldConsent("commercial", "email")
    assert box.consent_wording("fr") == "J'accepte les offres par e-mail\nUne lettre par mois"
    assert definition.field("postcode").consent is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"consent": {"purpose": "service", "channel": "email"}}, "'consent.purpose' 'service'"),
        ({"consent": {"purpose": "commercial", "channel": "fax"}}, "'consent.channel' 'fax'"),
        ({"consent": {"purpose": "commercial"}}, "must give 'purpose' and 'channel'"),
        ({"type": "text", "maps_to": "email"}, "'consent' needs a checkbox field"),
    ],
)
def test_a_wrong_consent_is_refused_naming_file_and_field(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    problems = problems_of(tmp_path, "news", _with(BOX | change))
    assert any(
        p.startswith("news.yaml: field 'news_by_email':") and problem in p for p in problems
    ), problems


def test_the_shipped_consent_form_records_email_and_sms() -> None:
    shipped = Path(__file__).resolve().parents[3] / "form_definitions" / "consent-preferences.yaml"
    definition, problems = load_definition(shipped, connectors=CONNECTORS)
    assert definition is not None, problems
    consents = {f.name: f.consent for f in definition.fields if f.consent}
    assert consents == {
        "consent_email": FieldConsent("commercial", "email"),
        "consent_sms": FieldConsent("commercial", "sms"),
    }
