"""Calendar dates: canonical ISO 8601, typed and written the French way."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
    ascii_forms,
)

#: What a date's eight cells mean, in print order.
DATE_CAPTIONS = (("JJ", 0, 2), ("MM", 2, 4), ("AAAA", 4, 8))


class DateType(FieldType):
    """A calendar date, canonical ISO 8601 (YYYY-MM-DD), typed the French way or ISO."""

    name = "date"
    check_code = "date_invalid"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"
    # A text box, not <input type="date">: pickers are slow for memorable dates such as a
    # birth date, read inconsistently by screen readers, and ignore typing in some browsers.
    html_attributes = {"inputmode": "numeric"}
    paper_checked = True
    failed_check = "date_invalid"
    date_hint = True
    _FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%d%m%Y")

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, dt.date):
            value = raw.isoformat()
            self.check(value, rules, choices)
            return value
        return super().parse(raw, rules, choices)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        text = ascii_forms(text)
        if not text.isascii():
            raise FieldValueError("date")
        for fmt in self._FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        raise FieldValueError("date")

    def check(self, value: str, rules: Rules, choices: Sequence[Choice]) -> None:
        day = dt.date.fromisoformat(value)
        if rules.min_date and day < _resolve_date(rules.min_date):
            raise FieldValueError("date_min", min=_french(_resolve_date(rules.min_date)))
        if rules.max_date and day > _resolve_date(rules.max_date):
            raise FieldValueError("date_max", max=_french(_resolve_date(rules.max_date)))

    def plausible(self, value: str, rules: Rules, choices: Sequence[Choice]) -> bool:
        """A date from 1900 to ten years from now (a year misread as 2989 is valid, not real)."""
        year = dt.date.fromisoformat(value).year
        return 1900 <= year <= dt.date.today().year + 10

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value:
            return ""
        try:
            return _french(dt.date.fromisoformat(value))
        except ValueError:
            return value  # a source value the type refuses is shown as it is

    def to_source(self, value: str | None) -> object:
        return dt.date.fromisoformat(value) if value else None

    def comb_cells(self, rules: Rules) -> int | None:
        return 8

    def comb_groups(self, cells: int) -> tuple[int, ...]:
        return (2, 4)

    def comb_captions(self) -> tuple[tuple[str, int, int], ...]:
        return DATE_CAPTIONS

    def template_text(self, value: str, max_length: int | None) -> str | None:
        # As a French form prints it: 17/05/1980, or 17051980 in an 8-cell comb.
        shown = self.display(value, "fr", ())
        return shown.replace("/", "") if max_length == 8 else shown


def _resolve_date(spec: str) -> dt.date:
    """`today`, `today-18y`, `today+30d` or an ISO date."""
    match = re.fullmatch(r"today(?:([+-])(\d+)([dy]))?", spec)
    if not match:
        return dt.date.fromisoformat(spec)
    today = dt.date.today()
    if not match.group(1):
        return today
    amount = int(match.group(2)) * (1 if match.group(1) == "+" else -1)
    if match.group(3) == "d":
        return today + dt.timedelta(days=amount)
    try:
        return today.replace(year=today.year + amount)
    except ValueError:  # 29 February
        return today.replace(year=today.year + amount, day=28)


def _french(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def check_date_spec(spec: str) -> None:
    """Raise ValueError when a min_date/max_date rule cannot be read."""
    _resolve_date(spec)
