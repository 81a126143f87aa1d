"""The customers' form base: the CSRF token signed only when written, checked as before."""

from __future__ import annotations

from flask import Flask, g, session
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict
from wtforms import StringField

from forms_service.web.public.forms import PublicForm


class _Answer(PublicForm):
    city = StringField("City")


def _app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k" * 32, WTF_CSRF_TIME_LIMIT=3600)
    return app


def test_an_accepted_post_signs_no_new_token() -> None:
    app = _app()
    with app.test_request_context("/"):
        token, raw = generate_csrf(), session["csrf_token"]
    with app.test_request_context("/", method="POST"):
        session["csrf_token"] = raw
        form = _Answer(MultiDict({"csrf_token": token, "city": "Nantes"}))
        assert "csrf_token" not in g  # built without a signature
        assert form.validate(), form.errors
        assert "csrf_token" not in g  # nor checked by signing one


def test_the_written_token_is_the_requests_signed_token() -> None:
    app = _app()
    with app.test_request_context("/"):
        form = _Answer()
        written = form.csrf_token.current_token
        assert written == generate_csrf() == form.csrf_token._value()
        assert f'value="{written}"' in str(form.csrf_token())


def test_a_wrong_or_missing_token_is_still_refused() -> None:
    app = _app()
    with app.test_request_context("/"):
        good = generate_csrf()
        raw = session["csrf_token"]
    for posted, accepted in (("forged", False), ("", False), (good, True)):
        with app.test_request_context("/", method="POST"):
            session["csrf_token"] = raw
            form = _Answer(MultiDict({"csrf_token": posted, "city": "Nantes"}))
            assert form.validate() is accepted, posted
            if not accepted:
                assert "csrf_token" in form.errors
