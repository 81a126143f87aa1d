"""Turn the fields of a returned PDF into a definition's canonical answers, with evidence.

Two readings of an empty widget, decided by who made the PDF:
- our own rendered letter (issuing/widgets.py): every answer widget is empty on issue, so an
  empty text box, a radio group left Off or no option ticked means "unchanged";
- a definition's own PDF (`pdf_template`) is issued prefilled, so what the customer sends back
  is the whole answer: an empty text box clears the value, an unticked checkbox is "false".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms_service.definitions.fieldtypes import FieldValueError, WidgetKind
from forms_service.definitions.model import Channel, FieldDefinition, FormDefinition
from forms_service.issuing.widgets import TOKEN_FIELD, option_widget_name
from forms_service.pdfforms.model import PdfField, PdfFieldKind, PdfForm, ValueSource

#: Confidence of a value read from an appearance stream (below the auto-apply threshold).
APPEARANCE_CONFIDENCE = 0.8


@dataclass(frozen=True)
class FieldAnswer:
    """One definition field as read from the PDF."""

    field: str
    value: str | None
    raw: Any
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class AnswerProblem:
    """A field whose PDF value its type refuses."""

    field: str
    key: str
    params: Mapping[str, object]


def read_answers(
    definition: FormDefinition,
    form: PdfForm,
    base: Mapping[str, Any],
    *,
    file_key: str,
) -> tuple[list[FieldAnswer], list[AnswerProblem]]:
    """Canonical answers of every PDF field of `definition`, and the values refused.

    Args:
        definition: the document's form.
        form: what the returned PDF holds.
        base: the snapshot the customer was shown (an unchanged field keeps it).
        file_key: the stored file, named in each field's evidence.
    """
    prefilled = definition.pdf_template is not None
    answers: list[FieldAnswer] = []
    problems: list[AnswerProblem] = []
    for field_def in definition.fields_for(Channel.PDF):
        name = definition.pdf_name(field_def.name)
        raw, found = _raw_answer(field_def, name, form, prefilled=prefilled)
        # A field the PDF does not have is never an answer, whoever made the PDF.
        unchanged = found is None or (raw is None and not prefilled)
        if unchanged:
            value = base.get(field_def.name)
        else:
            try:
                value = field_def.parse(raw)
            except FieldValueError as exc:
                problems.append(AnswerProblem(field_def.name, exc.key, exc.params))
                continue
            if value is None and field_def.required:
                problems.append(AnswerProblem(field_def.name, "required", {}))
                continue
        evidence: dict[str, Any] = {
            "kind": "pdf_field",
            "pdf_field": name,
            "file": file_key,
            "source": found.source.value if found else "absent",
            "unchanged": unchanged,
        }
        if found is not None and found.source is ValueSource.APPEARANCE and not unchanged:
            # Text recovered from the drawing, not the value: a clerk looks before it applies.
            evidence["confidence"] = APPEARANCE_CONFIDENCE
        if found is not None and found.page is not None:
            evidence["page"] = found.page
        if found is not None and found.rect is not None:
            evidence["rect"] = [round(c, 2) for c in found.rect]
        answers.append(FieldAnswer(field_def.name, value, raw, evidence))
    return answers, problems


def matching_fields(definition: FormDefinition, form: PdfForm) -> int:
    """How many of the definition's PDF fields the file has (0: not this form's PDF)."""
    count = 0
    for field_def in definition.fields_for(Channel.PDF):
        name = definition.pdf_name(field_def.name)
        if name in form.fields or any(
            option_widget_name(name, c.value) in form.fields for c in field_def.choices
        ):
            count += 1
    return count


def document_token(form: PdfForm) -> str | None:
    """The signed document token the issued PDF carries in its hidden field."""
    found = form.fields.get(TOKEN_FIELD)
    if found is None:
        found = next(
            (f for n, f in form.fields.items() if n.rsplit(".", 1)[-1] == TOKEN_FIELD), None
        )
    return found.value.strip() if found is not None and found.value else None


def _raw_answer(
    field_def: FieldDefinition, name: str, form: PdfForm, *, prefilled: bool
) -> tuple[Any, PdfField | None]:
    """The raw value a PDF holds for one field: None means "nothing written".

    The reading rule follows the field type's widget (issuing/widgets.py): one checkbox per
    option for a type with multiple answers, any on-state for a tick box, any text for a
    signature, the value otherwise.
    """
    found = form.fields.get(name)
    widget = field_def.type.widget
    if field_def.type.multiple and found is None:
        ticked = []
        boxes = []
        for choice in field_def.choices:
            box = form.fields.get(option_widget_name(name, choice.value))
            if box is not None:
                boxes.append(box)
                if box.value is not None:
                    ticked.append(choice.value)
        if not boxes:
            return None, None
        if not ticked:
            return ("" if prefilled else None), boxes[0]
        return ticked, boxes[0]
    if found is None:
        return None, None
    if widget is WidgetKind.CHECKBOX and found.kind is PdfFieldKind.CHECKBOX:
        # A plain checkbox (an organisation's own PDF): any on-state ticks it.
        if found.value is not None:
            return "true", found
        return ("false" if prefilled else None), found
    if widget is WidgetKind.SIGNATURE:
        return ("signed" if found.value else None), found
    if found.value is None:
        return ("" if prefilled else None), found
    return found.value, found
