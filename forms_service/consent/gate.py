"""The gate: whether one message may go now, later (until when) or never, and by which rule.

Pure decisions over what the caller read in bulk (the customers' past contacts, the channels'
bookings): `Gate.decide` takes a batch of messages, in the order they were planned, ranks them
by purpose (service, then regulatory, then commercial, unless configured), and lets each one
count against the next ones of the same customer, so a batch is decided as if sent one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from forms_service.consent.capacity import Bookings
from forms_service.consent.interfaces import ConsentState, ConsentView, Decision, NoLedger, Verdict
from forms_service.consent.pressure import PastContact, past_contacts
from forms_service.consent.rules import NO_RULES, Calendar, Cap, ContactRules, Over

#: Reasons of the gate's decisions (stable codes, as history details and dashboard keys).
FREQUENCY_CAPPED = "frequency_capped"
QUIET_HOURS = "quiet_hours"
CAPACITY = "capacity"
CONSENT_WITHDRAWN = "consent_withdrawn"
_SEND = Decision(Verdict.SEND)
_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)
#: Rounds of caps before a message's time settles (each drops a past message from a window).
_ROUNDS = 1000
#: Steps between calendars and capacity (a day closed, a full hour) before a slot is found.
_SLOT_STEPS = 100_000


@dataclass(frozen=True)
class Contact:
    """One message the gate decides on: who, how, why."""

    key: str
    customer: str
    channel: str
    purpose: str


class Gate:
    """Decides each message against the consent ledger and the contact rules."""

    def __init__(self, rules: ContactRules = NO_RULES, consent: ConsentView | None = None) -> None:
        self.rules = rules
        self.consent_view: ConsentView = consent or NoLedger()
        self._holidays = None
        if rules.holiday_country:
            import holidays

            self._holidays = holidays.country_holidays(rules.holiday_country)
        #: (purpose, channel) -> the calendars and caps that govern it.
        self._governing: dict[tuple[str, str], tuple[list[Calendar], list[Cap]]] = {}
        #: (calendar id, local day) -> its open intervals (UTC): a batch asks the same days.
        self._days: dict[tuple[str, dt.date], list[tuple[dt.datetime, dt.datetime]]] = {}

    # -- consent ---------------------------------------------------------------------------

    def consent(
        self, session: Session, customers: Collection[str], purpose: str, channel: str
    ) -> Mapping[str, ConsentState]:
        """The ledger's known states (service messages need no consent: none asked)."""
        if purpose == "service" or not customers:
            return {}
        return self.consent_view.states(session, customers, purpose, channel)

    # -- pressure --------------------------------------------------------------------------

    def past(
        self,
        session: Session,
        customers: Collection[str],
        now: dt.datetime,
        *,
        exclude: Collection[str] = (),
    ) -> dict[str, list[PastContact]]:
        """The customers' counted messages the caps can see (one query per batch)."""
        if not self.rules.caps or not customers:
            return {}
        return past_contacts(session, customers, now - self.rules.longest_window, exclude=exclude)

    def decide(
        self,
        contacts: Sequence[Contact],
        now: dt.datetime,
        past: Mapping[str, list[PastContact]],
        bookings: Bookings | None = None,
    ) -> dict[str, Decision]:
        """Each message's decision (by `Contact.key`), the batch ranked by purpose first."""
        seen = {customer: list(rows) for customer, rows in past.items()}
        order = sorted(
            range(len(contacts)), key=lambda i: (self.rules.priority(contacts[i].purpose), i)
        )
        decisions: dict[str, Decision] = {}
        for index in order:
            contact = contacts[index]
            rows = seen.setdefault(contact.customer, [])
            decision = self._one(contact, now, rows, bookings)
            decisions[contact.key] = decision
            if decision.verdict is not Verdict.SUPPRESS:
                at = decision.not_before or now
                rows.append(PastContact(contact.channel, contact.purpose, at))
                if bookings is not None:
                    bookings.book(contact.channel, at)
        return decisions

    def _one(
        self,
        contact: Contact,
        now: dt.datetime,
        rows: list[PastContact],
        bookings: Bookings | None,
    ) -> Decision:
        calendars, caps = self._governing_rules(contact.purpose, contact.channel)
        limited = bookings is not None and bookings.limited(contact.channel)
        if not calendars and not caps and not limited:
            return _SEND
        for calendar in calendars:  # a calendar that suppresses: outside it now, never
            if calendar.over is Over.SUPPRESS and self.next_open(calendar, now) != now:
                return Decision(Verdict.SUPPRESS, QUIET_HOURS, _calendar_detail(calendar))
        at = now
        reason: str | None = None
        detail: Mapping[str, object] = {}
        # Each round: the customer's caps first (the reason a person would give), then the
        # calendars and the channel's capacity; until neither moves the time.
        for _ in range(_ROUNDS):
            start = at
            for cap in caps:
                used, frees_at = _room(cap, contact.channel, rows, at)
                if frees_at is None:
                    continue
                if cap.over is Over.SUPPRESS or (frees_at - now) > cap.window:
                    return Decision(Verdict.SUPPRESS, FREQUENCY_CAPPED, _cap_detail(cap, used))
                at = frees_at
                if reason is None:
                    reason, detail = FREQUENCY_CAPPED, _cap_detail(cap, used)
            slot, why, why_detail = self._slot(contact, calendars, at, bookings)
            if slot != at:
                at = slot
                if reason is None:
                    reason, detail = why, why_detail
            if at == start:
                break
        else:
            raise RuntimeError(f"no time found for message {contact.key} in {_ROUNDS} rounds")
        if at == now:
            return _SEND
        return Decision(Verdict.DEFER, reason, detail, at)

    def _slot(
        self,
        contact: Contact,
        calendars: list[Calendar],
        at: dt.datetime,
        bookings: Bookings | None,
    ) -> tuple[dt.datetime, str | None, Mapping[str, object]]:
        """The first time from `at` the calendars and the channel's capacity both allow.

        With the reason of the first move. Remembered for the plan: a time refused once
        stays refused (bookings only grow, calendars do not change), so the next message
        asking from the same time starts where this one ended.
        """
        limited = bookings is not None and bookings.limited(contact.channel)
        key = (contact.purpose, contact.channel, at)
        if bookings is not None:
            known = bookings.slots.get(key)
            if known is not None:
                start, reason, detail = known
                at = start
            else:
                reason, detail = None, {}
        else:
            reason, detail = None, {}
        for _ in range(_SLOT_STEPS):
            moved = at
            for calendar in calendars:
                opens = self.next_open(calendar, moved)
                if opens != moved and reason is None:
                    reason, detail = QUIET_HOURS, _calendar_detail(calendar)
                moved = opens
            if limited and bookings is not None:
                free = bookings.first_free(contact.channel, moved)
                if free != moved and reason is None:
                    reason = CAPACITY
                    detail = {"rule": f"capacity-{contact.channel}", "channel": contact.channel}
                moved = free
            if moved == at:
                break
            at = moved
        else:
            raise RuntimeError(f"the calendars and the capacity of {contact.channel} never meet")
        if bookings is not None:
            bookings.slots[key] = (at, reason, detail)
        return at, reason, detail

    def _governing_rules(self, purpose: str, channel: str) -> tuple[list[Calendar], list[Cap]]:
        key = (purpose, channel)
        found = self._governing.get(key)
        if found is None:
            found = self._governing[key] = (
                [c for c in self.rules.calendars if c.holds(purpose, channel)],
                [c for c in self.rules.caps if c.holds(purpose, channel)],
            )
        return found

    def next_open(self, calendar: Calendar, at: dt.datetime) -> dt.datetime:
        """The first moment from `at` when the calendar lets a message go."""
        day = at.astimezone(self.rules.time_zone).date()
        for _ in range(800):
            for opens, closes in self._open_on(calendar, day):
                if at < closes:
                    return max(at, opens)
            day += dt.timedelta(days=1)
        raise RuntimeError(f"calendar {calendar.id!r} never opens")

    def _open_on(self, calendar: Calendar, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        key = (calendar.id, day)
        found = self._days.get(key)
        if found is None:
            allowed = day.weekday() in calendar.days and (
                calendar.public_holidays or self._holidays is None or day not in self._holidays
            )
            zone = self.rules.time_zone
            found = (
                [(_at(day, start, zone), _at(day, end, zone)) for start, end in calendar.hours]
                if allowed
                else []
            )
            if len(self._days) > 10_000:
                self._days.clear()
            self._days[key] = found
        return found


def _at(day: dt.date, minutes: int, zone: dt.tzinfo) -> dt.datetime:
    """`minutes` past midnight on the local wall clock of `day` (08:00 stays 08:00 in DST)."""
    local = dt.datetime.combine(
        day + dt.timedelta(days=minutes // 1440),
        dt.time((minutes % 1440) // 60, minutes % 60),
        tzinfo=zone,
    )
    return local.astimezone(dt.UTC)


def _room(
    cap: Cap, channel: str, rows: list[PastContact], at: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """What the cap has used at `at`, and when it has room again (None: room now)."""
    if not rows:
        return 0, None
    since = at - cap.window
    counted = sorted(
        (row for row in rows if row.at > since and cap.counted(row.purpose, row.channel)),
        key=lambda row: row.at,
    )
    used = sum(cap.weight(row.channel) for row in counted)
    need = cap.weight(channel)
    if used + need <= cap.limit:
        return used, None
    left = used
    for row in counted:
        left -= cap.weight(row.channel)
        if left + need <= cap.limit:
            return used, row.at + cap.window
    return used, _NEVER  # heavier than the cap alone: it never fits


def _cap_detail(cap: Cap, used: int) -> dict[str, object]:
    return {
        "rule": cap.id,
        "count": used,
        "limit": cap.limit,
        "window": f"{cap.window.days}d",
        "text": f"{cap.describe()} reached",
    }


def _calendar_detail(calendar: Calendar) -> dict[str, object]:
    return {"rule": calendar.id}
