"""WTForms of the mailroom screens (each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from forms_service.intake.mailroom.bulk import MAX_BULK
from forms_service.intake.mailroom.naming import MAX_NAME
from forms_service.intake.mailroom.operators import ALIGNMENTS, MAX_REASON


class UploadForm(FlaskForm):
    """A batch: one or more scanned files."""

    files = MultipleFileField("Scanned files (PDF, TIFF, PNG, JPEG)")
    # Empty: named by the scanner (a PDF's title) or the first file's name (naming.py).
    name = StringField("Batch name", validators=[Optional(), Length(max=MAX_NAME)])


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


class BulkForm(FlaskForm):
    """Pages ticked in the exception queue and what to do with them (the button says which).

    The page ids are checked by the service (unknown ids, pages no longer waiting); the
    document of an assignment is the search hit whose button was pressed.
    """

    pages = SelectMultipleField("Pages", validate_choice=False)
    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])
    document = StringField("Document", validators=[Optional(), Length(max=64)])
    # The queue's filters, to come back to the same view.
    batch = HiddenField(validators=[Optional(), Length(max=32)])
    exception = HiddenField(validators=[Optional(), Length(max=32)])

    def selected(self) -> list[str]:
        """The ticked pages, at most MAX_BULK + 1 (the service refuses more)."""
        return [str(p) for p in (self.pages.data or [])][: MAX_BULK + 1]


class RenameForm(FlaskForm):
    """A batch's name, as the operator gives it."""

    name = StringField("Batch name", validators=[DataRequired(), Length(max=MAX_NAME)])


class ActionForm(FlaskForm):
    """A one-button action on a page ("not blank"): only its CSRF token."""
