"""Free text and e-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
)


class TextType(FieldType):
    """Free text: whitespace collapsed, accents kept, compared without case."""

    name = "text"
    #: Paper forms ask for capitals: a narrow set spares stray ':' and '|' from box edges.
    ocr_charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ0123456789 -'/,."
    html_attributes = {"autocomplete": "on"}
    acroform_kinds = frozenset({"text"})

    def comparison_key(self, value: str | None) -> str | None:
        return None if value is None else value.casefold()


class EmailType(FieldType):
    """An e-mail address, lower-cased."""

    name = "email"
    widget = WidgetKind.TEXT
    ocr_charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_+"
    html_attributes = {"type": "email", "inputmode": "email", "autocomplete": "email"}
    paper_checked = True
    name_hint = re.compile(r"e-?mail|courriel", re.I)
    _SYNTAX = re.compile(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
        r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    )

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        value = text.replace(" ", "").lower()
        if len(value) > 254 or not self._SYNTAX.fullmatch(value):
            raise FieldValueError("email")
        return value
