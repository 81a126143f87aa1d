"""Delivery's values: its settings, a campaign's send plan, and the message state table."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from forms_service.delivery.interfaces import Channel, ReportStatus
from forms_service.storage.messages import MessageStatus

S = MessageStatus


@dataclass(frozen=True)
class DeliverySettings:
    """How sending behaves (FORMS_DELIVERY_* settings).

    Attributes:
        max_attempts: sends tried on temporary failures before the message is dead-lettered.
        first_retry_delay: wait after the first temporary failure, doubled each attempt.
        max_retry_delay: the longest wait between two attempts.
        sending_timeout: a message left `sending` longer than this (its worker died between
            the send and its record) is marked `unknown` by the sweep, never resent blindly.
        rates: channel -> messages per second every worker together may send (0: no limit).
        requeue_after: the sweep hands a queued message to a job again once it has waited
            this long since it was queued or retried (its job may have been lost).
        batch_size: messages a `delivery.send_batch` job sends (one claim, one read of the
            records, one provider session).
        record_every: messages of a batch taken (`sending`) and recorded in one transaction:
            a worker killed mid-batch leaves at most twice this many (the group handed over
            and the one taken next) for the sweep to mark `unknown` (1: two at most).
    """

    max_attempts: int = 6
    first_retry_delay: dt.timedelta = dt.timedelta(seconds=60)
    max_retry_delay: dt.timedelta = dt.timedelta(hours=1)
    sending_timeout: dt.timedelta = dt.timedelta(minutes=10)
    rates: Mapping[str, float] = field(default_factory=dict)
    requeue_after: dt.timedelta = dt.timedelta(minutes=10)
    batch_size: int = 200
    record_every: int = 25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be 1 or more")
        if self.batch_size < 1:
            raise ValueError("batch_size must be 1 or more")
        if self.record_every < 1:
            raise ValueError("record_every must be 1 or more")
        if any(rate < 0 for rate in self.rates.values()):
            raise ValueError("rates must be 0 (no limit) or more")

    def retry_delay(self, attempts: int) -> dt.timedelta:
        """The wait before attempt `attempts + 1`, after `attempts` temporary failures."""
        delay: dt.timedelta = self.first_retry_delay * (2 ** max(0, attempts - 1))
        return min(delay, self.max_retry_delay)


@dataclass
class SendPlan:
    """What a campaign's send did (or, in a dry run, would do).

    Attributes:
        campaign: the campaign's name.
        channels: channel -> documents (to be) sent on it.
        unreachable: reason -> documents no channel can reach, by the reason of their first
            choice of channel.
        skipped: reason -> channels passed over for a later one (counted per document).
        already: documents that already had their first message (a resumed send).
        closed: documents not sent because they are answered, expired or revoked.
        dry_run: nothing was written or sent.
        gate: channel -> the consent gate's columns (selected, sendable_now, deferred,
            capacity, suppressed_consent, suppressed_cap, unreachable), per document.
        deferred_until: channel -> (earliest, latest) time a deferred message may go.
        decisions: `reason: rule` -> messages deferred or suppressed by it.
    """

    campaign: str
    channels: Counter[str] = field(default_factory=Counter)
    unreachable: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    already: int = 0
    closed: int = 0
    dry_run: bool = False
    gate: dict[str, Counter[str]] = field(default_factory=dict)
    deferred_until: dict[str, tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)
    decisions: Counter[str] = field(default_factory=Counter)

    def count_gate(self, channel: str, column: str, until: dt.datetime | None = None) -> None:
        """Count one document in the gate's table (and when a deferred one may go)."""
        row = self.gate.setdefault(channel, Counter())
        row["selected"] += 1
        row[column] += 1
        if until is not None:
            first, last = self.deferred_until.get(channel, (until, until))
            self.deferred_until[channel] = (min(first, until), max(last, until))

    @property
    def documents(self) -> int:
        """Documents looked at."""
        return (
            sum(self.channels.values())
            + sum(self.unreachable.values())
            + self.already
            + (self.closed)
        )

    def as_dict(self) -> dict[str, object]:
        """The plan as the API and the CLI's JSON give it."""
        return {
            "campaign": self.campaign,
            "dry_run": self.dry_run,
            "documents": self.documents,
            "channels": dict(self.channels),
            "unreachable": dict(self.unreachable),
            "skipped": dict(self.skipped),
            "already": self.already,
            "closed": self.closed,
            "gate": {
                channel: {column: row.get(column, 0) for column in GATE_COLUMNS}
                for channel, row in sorted(self.gate.items())
            },
            "deferred_until": {
                channel: {"first": first.isoformat(), "last": last.isoformat()}
                for channel, (first, last) in sorted(self.deferred_until.items())
            },
            "decisions": dict(self.decisions),
        }


#: The dry run's columns, per channel, in the order they are shown.
GATE_COLUMNS = (
    "selected",
    "sendable_now",
    "deferred",
    "capacity",
    "suppressed_consent",
    "suppressed_cap",
    "unreachable",
)


#: report status -> (the message's new status, the statuses it may come from).
REPORT_TRANSITIONS: Mapping[ReportStatus, tuple[MessageStatus, frozenset[MessageStatus]]] = {
    ReportStatus.ACCEPTED: (S.ACCEPTED, frozenset({S.SENDING, S.SENT, S.UNKNOWN})),
    ReportStatus.DELIVERED: (
        S.DELIVERED,
        frozenset({S.SENDING, S.SENT, S.ACCEPTED, S.SOFT_BOUNCED, S.UNKNOWN}),
    ),
    ReportStatus.SOFT_BOUNCE: (
        S.SOFT_BOUNCED,
        frozenset({S.SENDING, S.SENT, S.ACCEPTED, S.UNKNOWN}),
    ),
    # An asynchronous bounce may follow the relay's "delivered" (it was only the next hop's).
    ReportStatus.HARD_BOUNCE: (
        S.FAILED,
        frozenset({S.SENDING, S.SENT, S.ACCEPTED, S.SOFT_BOUNCED, S.DELIVERED, S.UNKNOWN}),
    ),
    ReportStatus.COMPLAINT: (
        S.FAILED,
        frozenset({S.SENDING, S.SENT, S.ACCEPTED, S.SOFT_BOUNCED, S.DELIVERED, S.UNKNOWN}),
    ),
}

#: Channels in their default order, as strings (a campaign's stored order).
CHANNEL_VALUES = tuple(c.value for c in Channel)
