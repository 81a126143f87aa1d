"""The gate's decisions: caps across channels, calendars, capacity, priorities, by rule."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from forms_service.consent.capacity import Bookings
from forms_service.consent.gate import Contact, Gate
from forms_service.consent.interfaces import Decision, Verdict
from forms_service.consent.pressure import PastContact
from forms_service.consent.rules import parse_contact_rules
from forms_service.storage.model import Base

PARIS = dt.timezone(dt.timedelta(hours=1))  # December: Paris is UTC+1
#: Tuesday 8 December 2026, 10:00 in Paris.
TUESDAY = dt.datetime(2026, 12, 8, 10, 0, tzinfo=PARIS).astimezone(dt.UTC)

RULES = """\
time_zone: Europe/Paris
holidays: FR
caps:
  - {id: commercial-3-per-30d, purposes: [commercial], limit: 3, window_days: 30}
  - {id: sms-1-per-week, purposes: [commercial], channels: [sms], limit: 1, window_days: 7,
     over: suppress}
calendars:
  - id: commercial-sms-hours
    purposes: [commercial]
    channels: [sms]
    days: [mon, tue, wed, thu, fri, sat]
    hours: ["08:00-20:00"]
capacity:
  - {channel: letter, per_day: 2}
"""


def _gate(text: str = RULES) -> Gate:
    return Gate(parse_contact_rules(textwrap.dedent(text), "rules.yaml"))


def _past(*rows: tuple[str, str, dt.datetime]) -> dict[str, list[PastContact]]:
    return {"crm/customer/C1": [PastContact(c, p, at) for c, p, at in rows]}


def _one(
    gate: Gate, channel: str, purpose: str, now: dt.datetime, past: dict[str, list[PastContact]]
) -> Decision:
    return gate.decide([Contact("m", "crm/customer/C1", channel, purpose)], now, past)["m"]


def test_three_commercial_messages_in_30_days_on_any_channels_defer_the_fourth() -> None:
    gate = _gate()
    first = TUESDAY - dt.timedelta(days=20)
    past = _past(
        ("email", "commercial", first),
        ("letter", "commercial", TUESDAY - dt.timedelta(days=10)),
        ("email", "commercial", TUESDAY - dt.timedelta(days=1)),
    )
    decision = _one(gate, "email", "commercial", TUESDAY, past)
    assert decision.verdict is Verdict.DEFER
    assert decision.reason == "frequency_capped"
    # When the oldest of the three leaves the rolling window.
    assert decision.not_before == first + dt.timedelta(days=30)
    assert decision.detail == {
        "rule": "commercial-3-per-30d",
        "count": 3,
        "limit": 3,
        "window": "30d",
        "text": "commercial 3/30d reached",
    }


def test_service_and_regulatory_messages_neither_wait_nor_count_against_commercial_caps() -> None:
    gate = _gate()
    past = _past(
        ("email", "service", TUESDAY - dt.timedelta(days=3)),
        ("email", "regulatory", TUESDAY - dt.timedelta(days=2)),
        ("email", "commercial", TUESDAY - dt.timedelta(days=1)),
        ("letter", "commercial", TUESDAY - dt.timedelta(days=1)),
    )
    assert _one(gate, "email", "commercial", TUESDAY, past).verdict is Verdict.SEND
    full = _past(*[("email", "commercial", TUESDAY - dt.timedelta(days=d)) for d in (1, 2, 3)])
    assert _one(gate, "email", "service", TUESDAY, full).verdict is Verdict.SEND


def test_counts_can_include_service_messages_when_configured() -> None:
    gate = _gate(
        "time_zone: Europe/Paris\ncaps:\n  - {id: all-2, purposes: [commercial], "
        "counts: [service, commercial], limit: 2, window_days: 7}\n"
    )
    past = _past(
        ("email", "service", TUESDAY - dt.timedelta(days=3)),
        ("email", "commercial", TUESDAY - dt.timedelta(days=1)),
    )
    assert _one(gate, "email", "commercial", TUESDAY, past).verdict is Verdict.DEFER


def test_a_cap_that_says_suppress_suppresses() -> None:
    past = _past(("sms", "commercial", TUESDAY - dt.timedelta(days=2)))
    decision = _one(_gate(), "sms", "commercial", TUESDAY, past)
    assert (decision.verdict, decision.reason) == (Verdict.SUPPRESS, "frequency_capped")
    assert decision.detail["text"] == "commercial 1/7d reached"


def test_no_commercial_sms_on_sundays_holidays_or_at_night() -> None:
    gate = _gate()
    sunday = dt.datetime(2026, 12, 13, 11, 0, tzinfo=PARIS).astimezone(dt.UTC)
    decision = _one(gate, "sms", "commercial", sunday, {})
    assert decision.reason == "quiet_hours"
    assert decision.not_before == dt.datetime(2026, 12, 14, 8, 0, tzinfo=PARIS)
    night = dt.datetime(2026, 12, 8, 21, 30, tzinfo=PARIS).astimezone(dt.UTC)
    assert _one(gate, "sms", "commercial", night, {}).not_before == dt.datetime(
        2026, 12, 9, 8, 0, tzinfo=PARIS
    )
    # Christmas (a Friday) is a public holiday: the next Saturday at 08:00.
    christmas = dt.datetime(2026, 12, 25, 9, 0, tzinfo=PARIS).astimezone(dt.UTC)
    assert _one(gate, "sms", "commercial", christmas, {}).not_before == dt.datetime(
        2026, 12, 26, 8, 0, tzinfo=PARIS
    )
    # Summer time: 08:00 is still 08:00 on the wall clock (06:00 UTC).
    july = dt.datetime(2026, 7, 7, 5, 0, tzinfo=dt.UTC)
    assert _one(gate, "sms", "commercial", july, {}).not_before == dt.datetime(
        2026, 7, 7, 6, 0, tzinfo=dt.UTC
    )
    assert _one(gate, "sms", "service", sunday, {}).verdict is Verdict.SEND
    assert _one(gate, "email", "commercial", sunday, {}).verdict is Verdict.SEND


def test_a_deferred_time_obeys_the_calendar_too() -> None:
    # The weekly SMS cap (deferring this time) frees a Sunday: the message waits for Monday.
    gate = _gate(RULES.replace("over: suppress", "over: defer"))
    sunday_ago = dt.datetime(2026, 12, 6, 9, 0, tzinfo=PARIS).astimezone(dt.UTC)
    monday = dt.datetime(2026, 12, 7, 9, 0, tzinfo=PARIS).astimezone(dt.UTC)
    decision = _one(gate, "sms", "commercial", monday, _past(("sms", "commercial", sunday_ago)))
    assert decision.reason == "frequency_capped"
    assert decision.not_before == dt.datetime(2026, 12, 14, 8, 0, tzinfo=PARIS)


def test_a_batch_counts_its_own_messages_and_ranks_service_first() -> None:
    gate = _gate()
    past = _past(*[("email", "commercial", TUESDAY - dt.timedelta(days=d)) for d in (5, 6)])
    contacts = [
        Contact("promo-1", "crm/customer/C1", "email", "commercial"),
        Contact("promo-2", "crm/customer/C1", "letter", "commercial"),
        Contact("notice", "crm/customer/C1", "email", "service"),
    ]
    decisions = gate.decide(contacts, TUESDAY, past)
    assert decisions["promo-1"].verdict is Verdict.SEND
    assert decisions["promo-2"].verdict is Verdict.DEFER
    assert decisions["notice"].verdict is Verdict.SEND


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as opened:
        yield opened


def test_capacity_spreads_a_campaign_over_the_following_days_in_priority_order(
    session: Session,
) -> None:
    gate = _gate()
    bookings = Bookings(session, gate.rules)
    contacts = [
        Contact(f"m{n}", f"crm/customer/C{n}", "letter", "commercial" if n < 3 else "service")
        for n in range(5)
    ]
    decisions = gate.decide(contacts, TUESDAY, {}, bookings)
    bookings.save()
    # Two letters a day: the two service letters first, then commercial ones day by day.
    assert decisions["m3"].verdict is decisions["m4"].verdict is Verdict.SEND
    wednesday = dt.datetime(2026, 12, 9, 0, 0, tzinfo=PARIS)
    assert [decisions[f"m{n}"].not_before for n in range(3)] == [
        wednesday,
        wednesday,
        wednesday + dt.timedelta(days=1),
    ]
    assert {decisions[f"m{n}"].reason for n in range(3)} == {"capacity"}
    # The next plan sees what this one booked.
    later = Bookings(session, gate.rules)
    (decision,) = gate.decide(
        [Contact("x", "crm/customer/C9", "letter", "service")], TUESDAY, {}, later
    ).values()
    assert decision.not_before == wednesday + dt.timedelta(days=1)
