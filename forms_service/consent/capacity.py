"""Channel capacity: the messages booked per day and per hour, read once a period, written once.

A plan books each message it queues in the period it goes in; a period full moves the message
to the next one (the next hour, the next day at midnight in the rules' zone), so a campaign
beyond capacity is spread over the following days in the order it is planned.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.consent.rules import ContactRules
from forms_service.storage.pressure import ChannelBooking

#: How many periods ahead a message may be moved before the plan gives up (ten years of days).
_HORIZON = 3660


class Bookings:
    """The bookings of the channels' periods, as one plan sees and adds to them.

    One per plan: each batch's transaction `use`s it; a plan that writes `save`s what each
    batch booked (the next batch reads the table again: another plan may book meanwhile);
    a dry run keeps its bookings in memory from one batch to the next.
    """

    def __init__(self, session: Session | None, rules: ContactRules) -> None:
        self.session: Session | None = session
        self.rules = rules
        self._stored: dict[tuple[str, str, dt.datetime], int] = {}
        #: (purpose, channel, from) -> the slot a message asking from then got, why, the rule
        #: (the gate's memory for this plan: a refused time stays refused).
        self.slots: dict[tuple[str, str, dt.datetime], tuple[dt.datetime, str | None, Any]] = {}
        #: A full period -> a later period to look at next (full periods only fill up).
        self._full: dict[tuple[str, str, dt.datetime], dt.datetime] = {}
        #: Channels whose stored bookings are read (all of them from the first period asked).
        self._read: dict[str, dt.datetime] = {}
        self.added: Counter[tuple[str, str, dt.datetime]] = Counter()

    def use(self, session: Session, *, fresh: bool) -> None:
        """Read and write in `session` (a batch's); `fresh`: forget what was read before."""
        self.session = session
        if fresh:
            self._stored.clear()
            self._read.clear()
            self._full.clear()
            self.slots.clear()

    def limited(self, channel: str) -> bool:
        """Whether the channel has a capacity at all."""
        return channel in self.rules.capacity

    def first_free(self, channel: str, at: dt.datetime) -> dt.datetime:
        """The first moment from `at` when both the channel's day and hour have room."""
        capacity = self.rules.capacity.get(channel)
        if capacity is None:
            return at
        for _ in range(_HORIZON * 24):
            moved = at
            if capacity.per_day is not None:
                day = self.day_of(at)
                free = self._free_from(channel, "day", day, capacity.per_day)
                if free != day:
                    moved = free
            if moved == at and capacity.per_hour is not None:
                hour = _hour_of(at)
                free = self._free_from(channel, "hour", hour, capacity.per_hour)
                if free != hour:
                    moved = free
            if moved == at:
                return at
            at = moved
        raise RuntimeError(f"no capacity left on {channel} within {_HORIZON} days")

    def _free_from(self, channel: str, period: str, start: dt.datetime, limit: int) -> dt.datetime:
        """The first period from `start` with room (full periods stay full: jumped over)."""
        seen = []
        while self._booked(channel, period, start) >= limit:
            seen.append(start)
            jump = self._full.get((channel, period, start))
            start = jump if jump is not None else self._next(period, start)
        for full in seen:  # the next plan's message jumps straight here
            self._full[(channel, period, full)] = start
        return start

    def _next(self, period: str, start: dt.datetime) -> dt.datetime:
        return self._next_day(start) if period == "day" else start + dt.timedelta(hours=1)

    def book(self, channel: str, at: dt.datetime) -> None:
        """Count one message on the channel at `at` (in memory until `save`)."""
        capacity = self.rules.capacity.get(channel)
        if capacity is None:
            return
        if capacity.per_day is not None:
            self.added[(channel, "day", self.day_of(at))] += 1
        if capacity.per_hour is not None:
            self.added[(channel, "hour", _hour_of(at))] += 1

    def save(self) -> None:
        """Write what was booked (in the caller's transaction)."""
        if self.session is None:
            raise RuntimeError("bookings saved outside a transaction")
        for (channel, period, start), count in self.added.items():
            row = self.session.get(ChannelBooking, (channel, period, start))
            if row is None:
                self.session.add(
                    ChannelBooking(channel=channel, period=period, starts_at=start, booked=count)
                )
            else:
                row.booked += count
        self.session.flush()
        for key, count in self.added.items():
            self._stored[key] = self._stored.get(key, 0) + count
        self.added.clear()

    def day_of(self, at: dt.datetime) -> dt.datetime:
        """The start (UTC) of the local day `at` falls in."""
        local = at.astimezone(self.rules.time_zone).date()
        return dt.datetime.combine(local, dt.time(0), tzinfo=self.rules.time_zone).astimezone(
            dt.UTC
        )

    def _next_day(self, day: dt.datetime) -> dt.datetime:
        local = day.astimezone(self.rules.time_zone).date() + dt.timedelta(days=1)
        return dt.datetime.combine(local, dt.time(0), tzinfo=self.rules.time_zone).astimezone(
            dt.UTC
        )

    def _booked(self, channel: str, period: str, start: dt.datetime) -> int:
        since = self._read.get(channel)
        if (since is None or start < since) and self.session is not None:
            # One query per channel: every booking from the day asked on (a table of a few
            # rows per day), not one per period a deferred message lands in.
            since = self.day_of(start) if period == "day" else start
            since = min(since, self.day_of(start))
            for row_period, row_start, booked in self.session.execute(
                select(
                    ChannelBooking.period, ChannelBooking.starts_at, ChannelBooking.booked
                ).where(ChannelBooking.channel == channel, ChannelBooking.starts_at >= since)
            ):
                self._stored[(channel, row_period, row_start)] = int(booked)
            self._read[channel] = since
        key = (channel, period, start)
        return self._stored.get(key, 0) + self.added[key]


def _hour_of(at: dt.datetime) -> dt.datetime:
    at = at.astimezone(dt.UTC)
    return at.replace(minute=0, second=0, microsecond=0)
