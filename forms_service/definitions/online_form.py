"""WTForms fields derived from the field-type registry, for the online channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import (
    BooleanField,
    Field,
    Form,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    ValidationError,
    widgets,
)
from wtforms.fields.core import UnboundField

from forms_service.core.i18n import field_message
from forms_service.definitions.fieldtypes import FieldValueError, OnlineControl
from forms_service.definitions.input_widgets import CheckboxInput, TextInput
from forms_service.definitions.model import (
    ChallengeQuestion,
    Channel,
    FieldDefinition,
    FormDefinition,
)


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _validator(parse: Any, required: bool, locale: str) -> Any:
    """A WTForms validator: required-ness, then `parse(raw, form)` (FieldValueError: refused)."""

    def check(form: Form, field: Field) -> None:
        raw = field.data
        empty = raw is None or raw == "" or raw == []
        if empty:
            if required:
                raise ValidationError(field_message("required", locale))
            return
        try:
            parse(raw, form)
        except FieldValueError as exc:
            raise ValidationError(field_message(exc.key, locale, **exc.params)) from exc

    return check


def _ignoring_form(parse: Any) -> Any:
    """`parse(raw)` as a `_validator` parse that does not look at the form."""
    return lambda raw, _form: parse(raw)


def _answer_validator(definition: FieldDefinition, locale: str) -> Any:
    """The field's answer parsing; the value the form was prefilled with comes from its meta."""

    def parse(raw: object, form: Form) -> str | None:
        shown: Mapping[str, str | None] = getattr(form.meta, "shown", None) or {}
        country = _country_answer(definition.rules.country_field, form, shown)
        return definition.parse_answer(raw, shown.get(definition.name), country)

    check = _validator(parse, definition.required, locale)
    if not definition.type.masked:
        return check

    def check_masked(form: Form, field: Field) -> None:
        shown: Mapping[str, str | None] = getattr(form.meta, "shown", None) or {}
        if shown.get(definition.name) is not None and field.data in (None, ""):
            return  # the masked value is kept
        check(form, field)

    return check_masked


def _country_answer(name: str | None, form: Form, shown: Mapping[str, str | None]) -> object:
    """The country chosen in the same form's field `name`: as submitted, else as shown."""
    if name is None:
        return None
    submitted = form[name].data if name in form else None
    return submitted if submitted not in (None, "") else shown.get(name)


def _input_attributes(definition: FieldDefinition, locale: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {**definition.type.input_attributes(definition.rules)}
    if definition.autocomplete:
        attributes["autocomplete"] = definition.autocomplete
    if definition.rules.max_length:
        # Not `maxlength`: a browser cuts a pasted text at it without a word. The page's
        # script counts instead, and the server refuses a longer value saying the limit.
        attributes["data-maxlength"] = definition.rules.max_length
    if definition.confirms:
        # The page's script asks what the value suggests for that field (web/public/assist.py).
        attributes["data-confirms"] = definition.confirms
    if definition.required:
        attributes["required"] = True
        attributes["aria-required"] = "true"
    if definition.help:
        attributes["aria-describedby"] = f"{definition.name}-help"
    return attributes


def field_for(definition: FieldDefinition, locale: str) -> UnboundField[Any]:
    """The WTForms field of a form field, with its type's parsing as the validator.

    The value the form was prefilled with (`meta={"shown": {name: value}}` when the form is
    built): sent back untouched, it is accepted even when the type refuses it (see
    FieldDefinition.parse_answer).
    """
    label = definition.label_in(locale)
    check = _answer_validator(definition, locale)
    control = definition.type.control
    if control is OnlineControl.TICKBOX:
        # An unticked box is an answer ("no"), so the value is always "true" or "false".
        return BooleanField(label, validators=[check], widget=CheckboxInput())
    if control.lists_options:
        choices = [
            SelectChoice(c.value, c.labels.get(locale) or c.value) for c in definition.choices
        ]
        if control is OnlineControl.ANY_OF:
            return _Checkboxes(label, choices=choices, validators=[check], validate_choice=False)
        return RadioField(label, choices=choices, validators=[check], validate_choice=False)
    return StringField(
        label,
        validators=[check],
        render_kw=_input_attributes(definition, locale),
        widget=TextInput(),
    )


#: Built form classes by (id of the definition or questions, locale, base class), with the
#: object itself so that its id is not reused. Building a class (its fields, translated labels
#: and choices, then WTForms' sorting of them on first use) cost more than a tenth of a form
#: page; a class holds no per-request state (values, errors and `meta.shown` are per instance).
_CLASSES: dict[tuple[int, str, type[Form]], tuple[object, type[Form]]] = {}
_MOST_CLASSES = 512  # definitions are reloaded rarely; bound the cache all the same


def _cached(owner: object, locale: str, base: type[Form], build: Any) -> type[Form]:
    key = (id(owner), locale, base)
    found = _CLASSES.get(key)
    if found is not None and found[0] is owner:
        return found[1]
    built: type[Form] = build()
    if len(_CLASSES) >= _MOST_CLASSES:
        _CLASSES.clear()
    _CLASSES[key] = (owner, built)
    return built


def online_form_class(
    definition: FormDefinition, locale: str, base: type[Form] = Form
) -> type[Form]:
    """A form class with one field per online field of the definition, built once.

    One class per definition, locale and base class. Pass `meta={"shown": {name: value}}` to
    the constructor with the values the form was prefilled with, so that an untouched
    prefilled value is accepted.
    """

    def build() -> type[Form]:
        attributes: dict[str, Any] = {
            f.name: field_for(f, locale) for f in definition.fields_for(Channel.ONLINE)
        }
        return type(f"{definition.id}-{locale}", (base,), attributes)

    return _cached(definition, locale, base, build)


def challenge_form_class(
    questions: tuple[ChallengeQuestion, ...], locale: str, base: type[Form] = Form
) -> type[Form]:
    """A form asking each challenge question (built once per questions, locale and base)."""
    return _cached(questions, locale, base, lambda: _challenge_class(questions, locale, base))


def _challenge_class(
    questions: tuple[ChallengeQuestion, ...], locale: str, base: type[Form]
) -> type[Form]:
    attributes: dict[str, Any] = {}
    for question in questions:
        render: dict[str, Any] = {**question.type.html_attributes}
        render["autocomplete"] = "off"
        render["required"] = True
        attributes[question.name] = StringField(
            question.label.get(locale) or question.name,
            validators=[_validator(_ignoring_form(question.parse), True, locale)],
            render_kw=render,
            widget=TextInput(),
        )
    return type(f"challenge-{locale}", (base,), attributes)


def form_value(definition: FieldDefinition, canonical: str | None) -> Any:
    """The value to put in a WTForms field for a canonical value (the type's online value)."""
    return definition.type.online_value(canonical, definition.choices)
