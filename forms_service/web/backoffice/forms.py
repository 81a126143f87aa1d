"""WTForms of the back office: sign-in and the review actions (each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from forms_service.core.i18n import LOCALES
from forms_service.storage.model import AnswerChannel


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    next = HiddenField(validators=[Optional(), Length(max=512)])


class DecisionForm(FlaskForm):
    """Accept or reject one field, or approve a whole change set, at a known version."""

    version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])


class EditForm(DecisionForm):
    """A clerk's corrected value for one field (parsed again by the field type on save)."""

    value = TextAreaField(validators=[Optional(), Length(max=2000)])
    and_accept = BooleanField()


class TakeAnswerForm(DecisionForm):
    """Settle a conflict for the answer: the clerk says why (the domain requires it)."""

    reason = StringField(validators=[Optional(), Length(max=200)])


class QueueFilterForm(FlaskForm):
    """The queue's filters, read from the query string (GET, no CSRF)."""

    class Meta:
        """Filters change nothing: no CSRF token in the query string."""

        csrf = False

    form = StringField(validators=[Optional(), Length(max=64)])
    channel = StringField(validators=[Optional(), AnyOf([c.value for c in AnswerChannel])])
    status = StringField(validators=[Optional(), Length(max=32)])
    older_than_days = IntegerField(validators=[Optional(), NumberRange(min=0, max=3650)])
    #: Only the change sets with a line this clerk may decide (not their four-eyes firsts).
    mine = BooleanField()


class LanguageForm(FlaskForm):
    """The language switch of every back-office and mailroom page (with its CSRF token)."""

    lang = StringField(validators=[DataRequired(), AnyOf(list(LOCALES))])
    next = HiddenField(validators=[Optional(), Length(max=512)])


class RevokeForm(FlaskForm):
    """Ending one session or all of a user's: nothing but the CSRF token."""


class CustomerSearchForm(FlaskForm):
    """Find a customer by a document's reference, or by a customer number in a source."""

    reference = StringField(validators=[Optional(), Length(max=32)])
    source = StringField(validators=[Optional(), Length(max=130)])
    key = StringField(validators=[Optional(), Length(max=128)])


class PhoneConsentForm(FlaskForm):
    """A consent change a customer asked for on the phone, with the wording read out."""

    purpose = StringField(validators=[DataRequired(), AnyOf(["commercial", "regulatory"])])
    channel = StringField(validators=[DataRequired(), AnyOf(["email", "sms", "letter"])])
    state = StringField(validators=[DataRequired(), AnyOf(["granted", "withdrawn"])])
    #: The call's local time (datetime-local); empty: now.
    at = StringField(validators=[Optional(), Length(max=32)])
    wording = TextAreaField(validators=[DataRequired(), Length(max=2000)])
