"""The language and formats of the back office and the mailroom (their template filters)."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from forms_service.web.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_percent,
)


def office_locale() -> str:
    """The language of the signed-in user's screens."""
    return "en"


def office_zone() -> ZoneInfo:
    """The back office's time zone (`BACKOFFICE_TIMEZONE`): its days and its clocks."""
    return _zone(str(current_app.config.get("BACKOFFICE_TIMEZONE", "Europe/Paris")))


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _moment(value: dt.datetime) -> str:
    return format_datetime(value, office_locale(), office_zone())


def _day(value: dt.date) -> str:
    return format_date(value, office_locale())


def _number(value: float, decimals: int = 0) -> str:
    return format_number(value, office_locale(), decimals)


def _percent(value: float) -> str:
    return format_percent(value, office_locale())


def _duration(value: dt.timedelta) -> str:
    return format_duration(value, office_locale())


def init_formatting(app: Flask) -> None:
    """Template filters that format in the office's language and time zone."""
    app.add_template_filter(_moment, "moment")
    app.add_template_filter(_day, "day")
    app.add_template_filter(_number, "number")
    app.add_template_filter(_percent, "percent")
    app.add_template_filter(_duration, "duration")
