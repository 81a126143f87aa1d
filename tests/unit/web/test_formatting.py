"""Dates, numbers and durations per locale (the back office's and the mailroom's)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from forms_service.web.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_percent,
)

PARIS = ZoneInfo("Europe/Paris")


def test_a_moment_is_written_in_the_zone_and_the_language() -> None:
    moment = dt.datetime(2026, 12, 1, 23, 5, tzinfo=dt.UTC)  # already the 2nd in Paris
    assert format_datetime(moment, "fr", PARIS) == "2 déc. 2026 00:05"
    assert format_datetime(moment, "en", PARIS) == "2 Dec 2026 00:05"
    assert format_datetime(moment, "en", dt.UTC) == "1 Dec 2026 23:05"
    summer = dt.datetime(2026, 7, 14, 12, 0, tzinfo=dt.UTC)
    assert format_datetime(summer, "fr", PARIS) == "14 juil. 2026 14:00"


def test_a_day_has_no_month_first_ambiguity() -> None:
    assert format_date(dt.date(2026, 3, 4), "fr") == "04/03/2026"
    assert format_date(dt.date(2026, 3, 4), "en") == "4 Mar 2026"


def test_numbers_and_percentages_group_as_each_language_does() -> None:
    assert format_number(1234567, "fr") == "1\u202f234\u202f567"
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(1234.5, "fr", 1) == "1\u202f234,5"
    assert format_number(1234.5, "en", 1) == "1,234.5"
    assert format_percent(0.874, "fr") == "87\u202f%"
    assert format_percent(0.874, "en") == "87%"


@pytest.mark.parametrize(
    ("delta", "fr", "en"),
    [
        (dt.timedelta(seconds=30), "0 min", "0 min"),
        (dt.timedelta(minutes=12), "12 min", "12 min"),
        (dt.timedelta(hours=2, minutes=5), "2 h 05 min", "2 h 05 min"),
        (dt.timedelta(days=1, hours=3), "1 jour 3 h", "1 day 3 h"),
        (dt.timedelta(days=3, hours=5, minutes=10), "3 jours 5 h", "3 days 5 h"),
    ],
)
def test_a_wait_in_its_two_largest_units(delta: dt.timedelta, fr: str, en: str) -> None:
    assert (format_duration(delta, "fr"), format_duration(delta, "en")) == (fr, en)


def test_an_unknown_language_falls_back_to_french() -> None:
    assert format_number(1000, "de") == "1\u202f000"
