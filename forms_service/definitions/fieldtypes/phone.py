"""Phone numbers, in E.164, read in the field's region."""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
)


class PhoneType(FieldType):
    """A phone number in E.164 (+33612345678), read in the field's region."""

    name = "phone"
    check_code = "phone_invalid"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789+"
    html_attributes = {"type": "tel", "inputmode": "tel", "autocomplete": "tel"}
    paper_checked = True
    failed_check = "phone_invalid"
    name_hint = re.compile(r"phone|t[ée]l[ée]phone|\btel\b|mobile", re.I)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        try:
            number = phonenumbers.parse(text, rules.region)
        except phonenumbers.NumberParseException as exc:
            raise FieldValueError("phone") from exc
        if not phonenumbers.is_valid_number(number):
            raise FieldValueError("phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return value  # a source value the type refuses is shown as it is, never a crash
        fmt = (
            phonenumbers.PhoneNumberFormat.NATIONAL
            if number.country_code == 33
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return phonenumbers.format_number(number, fmt)

    def comb_cells(self, rules: Rules) -> int | None:
        return 10 if rules.region == "FR" else 15

    def comb_groups(self, cells: int) -> tuple[int, ...]:
        return tuple(range(2, cells, 2))

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        return self.display(value, "fr", choices) if value else ""
