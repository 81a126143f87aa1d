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

_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_KINDS = {"n": _DIGITS, "a": _LETTERS, "c": _DIGITS + _LETTERS}
#: BBAN layouts (ISO 13616 registry, as schwifty has them) of the countries paper forms take.
_BBAN_SPECS = {"FR": "5!n5!n11!c2!n", "MC": "5!n5!n11!c2!n", "BE": "3!n7!n2!n", "DE": "8!n10!n"}


def _mod97_passes(compact: str) -> bool:
    """ISO 7064 mod 97-10 over the IBAN moved round (country and check digits last)."""
    if not compact.isascii() or not compact.isalnum() or len(compact) < 5:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


class IbanType(FieldType):
    """An IBAN, canonical without spaces, checksum verified."""

    name = "iban"
    widget = WidgetKind.COMB
    ocr_charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    html_attributes = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
    paper_checked = True
    failed_check = "iban_checksum"
    checksum = True
    check_code = "iban_checksum"
    masked = True
    name_hint = re.compile(r"iban", re.I)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        compact = re.sub(r"[\s.-]", "", ascii_forms(text)).upper()
        if not _mod97_passes(compact):
            # What schwifty would say too, 15x sooner: the paper search tries thousands.
            raise FieldValueError("iban")
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

    def cell_charsets(self, cells: int, rules: Rules) -> tuple[str, ...] | None:
        """Country letters, check digits, then the BBAN layout of the one country it can be."""
        country = rules.countries[0] if len(rules.countries) == 1 else "FR"
        spec = _BBAN_SPECS.get(country)
        if spec is None:
            return None
        charsets = [_LETTERS, _LETTERS, _DIGITS, _DIGITS]
        for count, kind in re.findall(r"(\d+)!([nac])", spec):
            charsets += [_KINDS[kind]] * int(count)
        return tuple(charsets) if len(charsets) == cells else None

    def comb_cells(self, rules: Rules) -> int | None:
        return 27 if not rules.countries or rules.countries == ("FR",) else 34

    def comb_groups(self, cells: int) -> tuple[int, ...]:
        return tuple(range(4, cells, 4))

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        # The box starts empty: the current IBAN is shown masked beside it (`masked`).
        return ""
