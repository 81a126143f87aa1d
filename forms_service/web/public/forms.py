"""The base of the customers' forms: Flask-WTF's, signing its CSRF token only when written."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import HiddenField


class _LazyTokenField(CSRFTokenField):
    """The CSRF hidden input, whose signed token is made when the page writes it.

    WTForms signs a new token (Flask-WTF's `generate_csrf`, an itsdangerous signature) as soon
    as a form is built. An accepted POST never writes its form again, so that signature was
    wasted on every answer and identity check; it is now made on first read, the same token
    (Flask-WTF caches it for the request). The check of the posted token is Flask-WTF's,
    unchanged: CSRFProtect before the view, then the field's `pre_validate`.
    """

    def process(self, *args: Any, **kwargs: Any) -> None:
        """Take the posted value, without signing a token yet."""
        HiddenField.process(self, *args, **kwargs)

    @property
    def current_token(self) -> str:
        """The signed token, made on first use."""
        token: str = self.csrf_impl.generate_csrf_token(self)
        return token


class _LazyCSRF(FlaskForm.Meta.csrf_class):
    """Flask-WTF's CSRF, with the token field above."""

    field_class = _LazyTokenField


class PublicForm(FlaskForm):
    """The base class of the online and identity-question forms (see `_LazyTokenField`)."""

    class Meta:
        """Merged by WTForms with Flask-WTF's own Meta."""

        csrf_class = _LazyCSRF
