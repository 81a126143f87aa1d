"""IBANs: canonical without spaces, checked by schwifty (checksum, length, BBAN)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
    ascii_forms,
)


class IbanType(FieldType):
    """An IBAN, canonical without spaces, checksum verified."""

    name = "iban"
    widget = WidgetKind.COMB
    ocr_charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    html_attributes = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
    paper_checked = True
    failed_check = "iban_checksum"
    checksum = True
    masked = True
    name_hint = re.compile(r"iban", re.I)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        compact = re.sub(r"[\s.-]", "", ascii_forms(text)).upper()
        try:
            iban = IBAN(compact)
        except SchwiftyException as exc:
            raise FieldValueError("iban") from exc
        if rules.countries and iban.country_code not in rules.countries:
            raise FieldValueError("iban_country", country=iban.country_code)
        return str(iban.compact)

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value:
            return ""
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))

    def masked_display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        """Country and check digits, then the last 4 characters: "FR76 •••• … •••• 0189"."""
        if not value:
            return ""
        hidden = value[:4] + "•" * (len(value) - 8) + value[-4:]
        return self.display(hidden, locale, choices)

    def comb_cells(self, rules: Rules) -> int | None:
        return 27 if not rules.countries or rules.countries == ("FR",) else 34

    def comb_groups(self, cells: int) -> tuple[int, ...]:
        return tuple(range(4, cells, 4))

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        # The box starts empty: the current IBAN is shown masked beside it (`masked`).
        return ""
