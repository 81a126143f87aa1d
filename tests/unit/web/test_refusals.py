"""Refusals and recorded details, translated when shown; the API keeps the English reason."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask, render_template_string, session

from forms_service.core.errors import Conflict, InvalidInput
from forms_service.web.backoffice.locale import named, recorded
from forms_service.web.context import locale
from forms_service.web.extensions import init_babel
from forms_service.web.refusals import for_customer, for_office


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", DEFAULT_LOCALE="fr")
    init_babel(app)
    return app


def test_a_reason_is_a_msgid_with_parameters_and_reads_in_english_for_the_api() -> None:
    error = InvalidInput("at most %(max)s characters", field="reason", params={"max": 200})
    assert (error.message, error.params) == ("at most %(max)s characters", {"max": 200})
    assert error.reason == str(error) == "at most 200 characters"
    plain = InvalidInput("50% off")  # no parameters: the text is kept as said, "%" and all
    assert plain.reason == "50% off"


@pytest.mark.parametrize(
    ("accept", "office", "customer"),
    [
        ("fr", "200 caractères au plus", "Ce lien a expiré."),
        ("en", "at most 200 characters", "This link has expired."),
    ],
)
def test_a_refusal_reads_in_the_screens_language(
    app: Flask, accept: str, office: str, customer: str
) -> None:
    error = InvalidInput("at most %(max)s characters", params={"max": 200})
    with app.test_request_context("/backoffice/", headers={"Accept-Language": accept}):
        assert locale() == accept
        assert for_office(error) == office
        assert for_customer("expired_link") == customer
        # A code with its own words says them; an unknown reason is shown as it was said.
        assert for_office(Conflict("whatever")) != "whatever"
        assert for_office(InvalidInput("not in the catalogue")) == "not in the catalogue"


def test_a_recorded_detail_is_translated_when_the_catalogue_knows_it(app: Flask) -> None:
    with app.test_request_context("/mailroom/"):
        blank = "the page is blank (nothing printed or written on it)"
        assert recorded(blank) == "la page est vierge (rien d'imprimé ni d'écrit)"
        typed = "blank — rejected: 100% illisible"
        assert recorded(typed) == typed
        assert named("page", "submitted") == "transmise"
        assert named("event", "added_later") == "added later"


def test_lang_in_the_address_wins_over_the_browser_and_is_remembered(app: Flask) -> None:
    with app.test_request_context("/f/x?lang=en", headers={"Accept-Language": "fr"}):
        assert locale() == "en" and session["lang"] == "en"
        assert render_template_string("{{ _('Submit') }}") == "Submit"
    with app.test_request_context("/f/x", headers={"Accept-Language": "de"}):
        assert locale() == "fr"
        assert render_template_string("{{ _('Submit') }}") == "Envoyer"
        moment = dt.datetime(2026, 12, 1, 23, 5, tzinfo=dt.UTC)
        assert render_template_string("{{ m|moment }}", m=moment) == "2 déc. 2026 00:05"
        assert render_template_string("{{ 1234.5|money('EUR') }}") == "1\u202f234,50\xa0€"
