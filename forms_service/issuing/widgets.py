"""Names and values of the fillable PDF's widgets: the contract between issuing and returns.

- a text or comb box is a text field named after the definition's field;
- a checkbox field prints two squares, Oui and Non, as a radio group named after the field
  with export values `true` and `false` (so that a customer can also withdraw a consent);
- a single choice is a radio group named after the field, export values = option values;
- a multiple choice is one checkbox per option named `<field>:<option value>`, on-state `/Yes`;
- in layout 2 a choice's widgets sit on its options' Yes squares (the No squares are paper
  only), with the names and values above: the PDF reading stays the options ticked;
- a signature is a text field named after the field (any text counts as signed);
- the hidden, read-only text field `document_token` carries the document's signed token.

Every answer widget is empty on issue: no value (or `/Off`) means "unchanged".
"""

from __future__ import annotations

TOKEN_FIELD = "document_token"  # noqa: S105 - a field name, not a secret
CHECKBOX_ON = "Yes"
OFF = "Off"
_SEPARATOR = ":"


def option_widget_name(field: str, option: str) -> str:
    """The checkbox name of one option of a multiple-choice field."""
    return f"{field}{_SEPARATOR}{option}"


def split_widget_name(name: str) -> tuple[str, str | None]:
    """(field, option) of a widget name; option is None for a whole-field widget."""
    field, separator, option = name.partition(_SEPARATOR)
    return (field, option) if separator else (field, None)
