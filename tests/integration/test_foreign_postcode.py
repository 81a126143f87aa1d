"""A foreign address online: the postcode is checked against the country chosen in the form.

The test CRM gets a `country` column, and the test's own definition a country choice
(FR, BE, CH, DE) that the postcode's `country_field` rule names. A Belgian 4-digit postcode
with Belgium chosen is stored; a French 5-digit one with Belgium chosen is refused, the
message naming Belgium, and nothing is stored.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.connectors.interfaces import Selection
from forms_service.core.errors import InvalidInput
from forms_service.runtime import Runtime
from forms_service.storage.model import Submission
from tests.conftest import hidden_fields

FORM = "foreign-address"
DEFINITION = f"""\
id: {FORM}
version: 1
title: {{fr: Votre adresse, en: Your address}}
source: {{connector: crm, record_type: customer}}
key: customer_no
fields:
  - name: address_line
    type: text
    label: {{fr: Adresse, en: Address}}
    maps_to: address_line
  - name: postcode
    type: postcode
    label: {{fr: Code postal, en: Postcode}}
    maps_to: postcode
    required: true
    rules: {{countries: [FR, BE, CH, DE], country_field: country}}
  - name: city
    type: text
    label: {{fr: Ville, en: City}}
    maps_to: city
  - name: country
    type: choice
    label: {{fr: Pays, en: Country}}
    maps_to: country
    choices:
      - {{value: FR, label: {{fr: France, en: France}}}}
      - {{value: BE, label: {{fr: Belgique, en: Belgium}}}}
      - {{value: CH, label: {{fr: Suisse, en: Switzerland}}}}
      - {{value: DE, label: {{fr: Allemagne, en: Germany}}}}
"""


@pytest.fixture
def app_settings(app_settings: dict[str, Any], crm_url: str, tmp_path: Path) -> dict[str, Any]:
    """The demo CRM with a `country` column (FR), and a definitions folder with the form."""
    with sqlite3.connect(crm_url.removeprefix("sqlite:///")) as crm:
        crm.execute("ALTER TABLE customers ADD COLUMN country VARCHAR(2)")
        crm.execute("UPDATE customers SET country = 'FR'")
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / f"{FORM}.yaml").write_text(DEFINITION, encoding="utf-8")
    customer = DEMO_CRM_RECORD_TYPES["customer"]
    columns = {**customer["columns"], "country": "country"}
    crm_settings = {
        **app_settings["CONNECTORS"]["crm"],
        "record_types": {"customer": {**customer, "columns": columns}},
    }
    return {
        **app_settings,
        "DEFINITIONS_DIR": str(definitions),
        "CONNECTORS": {"crm": crm_settings},
        "JOBS_EAGER": True,
    }


def _link(runtime: Runtime) -> str:
    (issued,) = runtime.issuing.issue(FORM, Selection(keys=("C000001",)), "test")
    return issued.link.removeprefix("http://localhost")


def _submissions(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(select(func.count()).select_from(Submission)).scalar_one()


def _answer(page: str, **changed: str) -> dict[str, str]:
    fields = hidden_fields(page)
    return {"csrf_token": fields["csrf_token"], "base": fields["base"], **changed}


def test_a_belgian_postcode_with_belgium_chosen_is_stored(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _link(runtime)
    page = client.get(path)
    assert page.status_code == 200, page.text
    answer = _answer(page.text, address_line="Rue Neuve 1", country="BE", city="Bruxelles")
    accepted = client.post(path, data={**answer, "postcode": "1000"})
    assert accepted.status_code == 303, accepted.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["postcode"] == "1000"
        assert submission.values["country"] == "BE"


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "Not a postcode of Belgium (example: 4000)."), ("fr", "Belgique")],
)
def test_a_french_postcode_with_belgium_chosen_is_refused_naming_belgium(
    client: FlaskClient, runtime: Runtime, lang: str, said: str
) -> None:
    path = _link(runtime)
    page = client.get(f"{path}?lang={lang}")
    assert page.status_code == 200, page.text
    answer = _answer(page.text, address_line="Rue Neuve 1", country="BE", city="Bruxelles")
    refused = client.post(path, data={**answer, "postcode": "75011"})
    assert refused.status_code == 422, refused.text
    error = re.search(r'id="postcode-error"[^>]*>(.*?)</', refused.text, re.S)
    assert error is not None, refused.text
    assert said in error.group(1)
    assert _submissions(runtime) == 0

    # The same postcode with France chosen is an answer.
    accepted = client.post(path, data={**answer, "country": "FR", "postcode": "75011"})
    assert accepted.status_code == 303, accepted.text
    assert _submissions(runtime) == 1


def test_the_service_parses_the_postcode_again_against_the_chosen_country(
    runtime: Runtime,
) -> None:
    """No channel skips the check: the intake refuses what the online form would refuse."""
    path = _link(runtime)
    document = runtime.intake.resolve(path.removeprefix("/f/"))
    raw = {"address_line": "Rue Neuve 1", "city": "Bruxelles", "country": "BE"}
    with pytest.raises(InvalidInput) as refused:
        runtime.intake.submit(
            document, {**raw, "postcode": "75011"}, document.snapshot, locale="en", opened_at=None
        )
    assert refused.value.field == "postcode"
    assert _submissions(runtime) == 0
    runtime.intake.submit(
        document, {**raw, "postcode": "1000"}, document.snapshot, locale="en", opened_at=None
    )
    assert _submissions(runtime) == 1
