"""The contact rules file: the shipped one loads; every bad rule is refused naming its line."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from forms_service.consent.rules import NO_RULES, Over, load_contact_rules, parse_contact_rules
from forms_service.definitions.service import DefinitionError

ROOT = Path(__file__).resolve().parents[3]


def _problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_contact_rules(textwrap.dedent(text), "consent/contact_rules.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_shipped_rules_load_with_their_caps_calendar_and_capacity() -> None:
    rules = load_contact_rules(ROOT / "form_definitions")
    assert rules.time_zone.key == "Europe/Paris"
    ids = {cap.id: cap for cap in rules.caps}
    monthly = ids["commercial-3-per-30d"]
    assert (monthly.limit, monthly.window, monthly.over) == (3, dt.timedelta(days=30), Over.DEFER)
    assert monthly.channels == {"email", "sms", "letter"}
    # Service and regulatory messages do not count against it unless configured.
    assert monthly.counts == {"commercial"}
    (calendar,) = rules.calendars
    assert 6 not in calendar.days and calendar.hours == ((8 * 60, 20 * 60),)
    # 1000 scans a day at a 25 % return rate: 4000 letters a day, under the printer's 5000.
    assert rules.capacity["letter"].per_day == 4000
    assert rules.capacity["sms"].per_hour == 2000


def test_no_file_means_no_rules(tmp_path: Path) -> None:
    assert load_contact_rules(tmp_path) is NO_RULES


def test_a_missing_time_zone_is_refused_at_the_file_start() -> None:
    assert _problems("caps: []\n") == [
        "consent/contact_rules.yaml, line 1: 'time_zone' is missing: give the customers' zone, "
        "e.g. Europe/Paris"
    ]


def test_an_unknown_time_zone_names_its_line() -> None:
    (problem,) = _problems("holidays: FR\ntime_zone: Europe/Lutece\n")
    assert problem.startswith("consent/contact_rules.yaml, line 2: 'time_zone'")


def test_unknown_purposes_and_channels_name_their_lines() -> None:
    problems = _problems(
        """\
        time_zone: Europe/Paris
        caps:
          - id: promo
            purposes: [marketing]
            channels: [email]
            limit: 2
            window_days: 7
          - id: calls
            purposes: [commercial]
            channels: [phone]
            limit: 4
            window_days: 30
        """
    )
    assert any("line 4: unknown purpose 'marketing'" in p for p in problems)
    assert any("line 10: unknown channel 'phone'" in p for p in problems)


def test_a_cap_of_zero_is_refused() -> None:
    (problem,) = _problems(
        """\
        time_zone: Europe/Paris
        caps:
          - id: none-at-all
            purposes: [commercial]
            limit: 0
            window_days: 7
        """
    )
    assert problem.startswith("consent/contact_rules.yaml, line 5: cap 'none-at-all': 'limit'")


def test_overlapping_caps_and_calendars_are_refused() -> None:
    problems = _problems(
        """\
        time_zone: Europe/Paris
        caps:
          - {id: a, purposes: [commercial], channels: [sms, email], limit: 2, window_days: 7}
          - {id: b, purposes: [commercial], channels: [sms], limit: 1, window_days: 7}
          - {id: c, purposes: [commercial], channels: [sms], limit: 3, window_days: 30}
        calendars:
          - {id: day, purposes: [commercial], channels: [sms], hours: ["08:00-20:00"]}
          - {id: night, purposes: [commercial, regulatory], hours: ["21:00-22:00"]}
        capacity:
          - {channel: letter, per_day: 10}
          - {channel: letter, per_hour: 3}
        """
    )
    assert problems == [
        "consent/contact_rules.yaml, line 11: overlapping rules: the capacity of 'letter' is "
        "also given on line 10",
        "consent/contact_rules.yaml, line 4: overlapping rules: cap 'b' and cap 'a' (line 3) "
        "both limit commercial on sms over 7 days",
        "consent/contact_rules.yaml, line 8: overlapping rules: calendar 'night' and calendar "
        "'day' (line 7) both govern commercial on sms",
    ]


def test_yaml_errors_name_their_line() -> None:
    (problem,) = _problems("time_zone: Europe/Paris\ncaps: [\n  {id: a\n")
    assert problem.startswith("consent/contact_rules.yaml, line ")
    assert "cannot be read as YAML" in problem
