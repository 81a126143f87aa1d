"""The online form's text inputs and check boxes, written without WTForms' slow paths.

WTForms' `html_params` formats each attribute through `Markup.format` (a `string.Formatter`
pass with escaping per call) and its `Input` lists the field's flags with `dir()` on every
render: together the most expensive part of a form page after the choice buttons (already
written by the template). These widgets write the same HTML (same attributes, same sorting,
same escaping) with plain string operations. The fields they serve have no WTForms flags
(their validators are plain functions), so there are no flag attributes to add.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from wtforms import Field


def _key(name: str) -> str:
    name = name.rstrip("_")
    if name.startswith(("data_", "aria_")):
        name = name.replace("_", "-")
    return name


def attributes(**values: Any) -> str:
    """HTML attributes, exactly as `wtforms.widgets.html_params` writes them."""
    written = []
    for name, value in sorted(values.items()):
        if value is True:
            written.append(_key(name))
        elif value is not False:
            text = str(escape(value)).replace('"', "&quot;")
            written.append(f'{_key(name)}="{text}"')
    return " ".join(written)


class TextInput:
    """`<input>` of a text field (its `type` may come from the render keywords)."""

    input_type = "text"

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        """The input of `field`, with `kwargs` as extra or overriding attributes."""
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        # Every value is escaped by `attributes`; the names are our own.
        return Markup(f"<input {attributes(name=field.name, **kwargs)}>")  # noqa: S704


class CheckboxInput(TextInput):
    """`<input type="checkbox">`, ticked when the field's data is true."""

    input_type = "checkbox"

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        """The check box of `field`."""
        if getattr(field, "checked", field.data):
            kwargs.setdefault("checked", True)
        return super().__call__(field, **kwargs)
