"""Dates, numbers and durations as the back office's and the mailroom's readers write them."""

from __future__ import annotations

import datetime as dt

from forms_service.i18n import DEFAULT_LOCALE

_MONTHS = {
    "fr": (
        "janv.", "févr.", "mars", "avr.", "mai", "juin",
        "juil.", "août", "sept.", "oct.", "nov.", "déc.",
    ),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}  # fmt: skip
#: French groups digits with a narrow no-break space and writes a space before "%".
_NARROW_NBSP = "\u202f"
_UNITS = {
    "fr": {"d": ("jour", "jours"), "h": ("h", "h"), "min": ("min", "min")},
    "en": {"d": ("day", "days"), "h": ("h", "h"), "min": ("min", "min")},
}


def _locale(locale: str) -> str:
    return locale if locale in _MONTHS else DEFAULT_LOCALE


def format_datetime(value: dt.datetime, locale: str, zone: dt.tzinfo) -> str:
    """A moment in `zone`: "2 déc. 2026 14:05" in French, "2 Dec 2026 14:05" in English."""
    local = value.astimezone(zone)
    month = _MONTHS[_locale(locale)][local.month - 1]
    return f"{local.day} {month} {local.year} {local:%H:%M}"


def format_date(value: dt.date, locale: str) -> str:
    """A day: "02/12/2026" in French, "2 Dec 2026" in English (no month-first ambiguity)."""
    if _locale(locale) == "fr":
        return f"{value:%d/%m/%Y}"
    return f"{value.day} {_MONTHS['en'][value.month - 1]} {value.year}"


def format_number(value: int | float, locale: str, decimals: int = 0) -> str:
    """1 234,5 in French (narrow no-break spaces), 1,234.5 in English."""
    text = f"{value:,.{decimals}f}"
    if _locale(locale) == "fr":
        return text.replace(",", _NARROW_NBSP).replace(".", ",")
    return text


def format_percent(ratio: float, locale: str) -> str:
    """A ratio as a whole percentage: "87 %" in French, "87%" in English."""
    number = format_number(round(ratio * 100), locale)
    return f"{number}{_NARROW_NBSP}%" if _locale(locale) == "fr" else f"{number}%"


def format_duration(delta: dt.timedelta, locale: str) -> str:
    """A wait in its two largest units: "3 jours 4 h", "2 h 05 min", "12 min"."""
    units = _UNITS[_locale(locale)]
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        day_unit = units["d"][days > 1]
        return f"{format_number(days, locale)} {day_unit} {hours} {units['h'][0]}"
    if hours:
        return f"{hours} {units['h'][0]} {mins:02d} {units['min'][0]}"
    return f"{mins} {units['min'][0]}"
