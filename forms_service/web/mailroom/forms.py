"""WTForms of the mailroom screens (each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from forms_service.intake.mailroom.operators import ALIGNMENTS


class UploadForm(FlaskForm):
    """A batch: one or more scanned files."""

    files = MultipleFileField("Scanned files (PDF, TIFF, PNG, JPEG)")


class AssignForm(FlaskForm):
    """Which document (reference) and form page a page from the exception queue is."""

    document = StringField("Document reference", validators=[DataRequired(), Length(max=64)])
    form_page = IntegerField("Form page", validators=[Optional(), NumberRange(min=1, max=999)])
    # Checked by the service (operators.ALIGNMENTS), which names the choices when refused.
    alignment = SelectField(
        "Align on", choices=ALIGNMENTS, default="squares", validate_choice=False
    )
    # Degrees counter-clockwise, empty to let the printed boxes decide (operators.TURNS).
    turn = StringField("Turned", validators=[Optional(), Length(max=3)])


class RejectForm(FlaskForm):
    """Why a page is set aside."""

    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=200)])


class SearchForm(FlaskForm):
    """Find a document by reference, record key or customer name (POST: no name in URLs)."""

    query = StringField(
        "Reference, customer number or name", validators=[DataRequired(), Length(max=100)]
    )
