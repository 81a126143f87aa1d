"""Dates, numbers, money and durations in the reader's language, by Babel (CLDR data).

The functions take the locale; the template filters (`moment`, `day`, `number`, `percent`,
`money`, `duration`) use the request's (`web.context.locale`) and the back office's time
zone (`BACKOFFICE_TIMEZONE`).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.numbers import NumberPattern
from flask import Flask, current_app

from forms_service.core.i18n import catalogue, known_locale
from forms_service.web.context import locale

#: Day first in both languages (no month-first ambiguity); CLDR gives the month names.
_MOMENT = "d MMM y HH:mm"
_DAY = {"fr": "dd/MM/y", "en": "d MMM y"}


@functools.cache
def _cldr(locale: str) -> Locale:
    # Parsed once per language: Babel's functions would parse the locale on every call.
    return Locale.parse(known_locale(locale))


@functools.cache
def _number_pattern(decimals: int) -> NumberPattern:
    # Parsed once: Babel's format_decimal parses its pattern on every call, and a queue page
    # writes some seventy numbers.
    return numbers.parse_pattern("#,##0" + _decimals(decimals))


@functools.cache
def _percent_pattern(locale: str, decimals: int) -> NumberPattern:
    cldr = _cldr(locale).percent_formats[None].pattern  # "#,##0 %" in French, "#,##0%"
    return numbers.parse_pattern(cldr.replace("#,##0", "#,##0" + _decimals(decimals), 1))


def format_datetime(value: dt.datetime, locale: str, zone: dt.tzinfo) -> str:
    """A moment in `zone`: "2 déc. 2026 14:05" in French, "2 Dec 2026 14:05" in English."""
    return dates.format_datetime(value, _MOMENT, tzinfo=zone, locale=_cldr(locale))


def format_time(value: dt.datetime, locale: str, zone: dt.tzinfo) -> str:
    """A time of day in `zone`: "14:05"."""
    return dates.format_datetime(value, "HH:mm", tzinfo=zone, locale=_cldr(locale))


def format_date(value: dt.date, locale: str) -> str:
    """A day: "02/12/2026" in French, "2 Dec 2026" in English (no month-first ambiguity)."""
    cldr = _cldr(locale)
    return dates.format_date(value, _DAY[str(cldr)], locale=cldr)


def _decimals(decimals: int) -> str:
    return "." + "0" * decimals if decimals else ""


def format_number(value: int | float, locale: str, decimals: int = 0) -> str:
    """1 234,5 in French (narrow no-break spaces), 1,234.5 in English."""
    return str(_number_pattern(decimals).apply(value, _cldr(locale)))


def format_percent(ratio: float, locale: str, decimals: int = 0) -> str:
    """A ratio as a percentage: "87 %" in French, "87%" in English."""
    pattern = _percent_pattern(known_locale(locale), decimals)
    # CLDR's French puts a no-break space before "%"; French typography wants the narrow one,
    # the same as between digit groups.
    return str(pattern.apply(ratio, _cldr(locale))).replace("\xa0%", "\u202f%")


def format_money(amount: Decimal | int | float, currency: str, locale: str) -> str:
    """An amount of `currency` (ISO 4217): "1 234,50 €" in French, "€1,234.50" in English."""
    return numbers.format_currency(amount, currency, locale=known_locale(locale))


def format_duration(delta: dt.timedelta, locale: str) -> str:
    """A wait in its two largest units: "3 jours 4 h", "2 h 05 min", "12 min"."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        day_text = catalogue(locale).ungettext("%(num)s day", "%(num)s days", days)
        return f"{day_text % {'num': format_number(days, locale)}} {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


#: Where the app keeps the back office's zone (`BACKOFFICE_TIMEZONE`, given to the filters).
_ZONE = "forms_service.office_zone"


def office_zone() -> ZoneInfo:
    """The back office's time zone (`BACKOFFICE_TIMEZONE`): its days and its clocks."""
    zone: ZoneInfo = current_app.extensions[_ZONE]
    return zone


def _moment(value: dt.datetime) -> str:
    return format_datetime(value, locale(), office_zone())


def _day(value: dt.date) -> str:
    return format_date(value, locale())


def _number(value: float, decimals: int = 0) -> str:
    return format_number(value, locale(), decimals)


def _percent(ratio: float, decimals: int = 0) -> str:
    return format_percent(ratio, locale(), decimals)


def _money(amount: Decimal | int | float, currency: str) -> str:
    return format_money(amount, currency, locale())


def _duration(value: dt.timedelta) -> str:
    return format_duration(value, locale())


def register_filters(app: Flask, office_timezone: str) -> None:
    """Template filters that format in the request's language (and the office's zone)."""
    app.extensions[_ZONE] = _zone(office_timezone)
    for name, function in (
        ("moment", _moment),
        ("day", _day),
        ("number", _number),
        ("percent", _percent),
        ("money", _money),
        ("duration", _duration),
    ):
        app.add_template_filter(function, name)
