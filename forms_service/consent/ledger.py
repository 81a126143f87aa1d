"""The consent ledger: every opt-in and opt-out, and each customer's current state, in bulk.

`record` appends events and moves `consent_states` in the caller's transaction (one statement
per table and batch: an import of a million rows stays a few thousand statements). The state
of a key follows its latest event by the customer's time (`at`): a history imported after a
newer opt-out does not undo it. `states` reads a campaign's batch by primary key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from forms_service.consent.interfaces import CHANNELS, PURPOSES, ConsentState
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import InvalidInput
from forms_service.storage.consent import ConsentEvent, ConsentStateRow, ConsentText

#: Purposes a consent can be given or withdrawn for: service messages are contractual.
CONSENTABLE_PURPOSES = tuple(p for p in PURPOSES if p != "service")
#: Keys read per query (well under SQLite's and PostgreSQL's bound-parameter limits).
READ_BATCH = 900
#: Rows written per statement.
WRITE_BATCH = 1000
_STATES = {state.value: state for state in ConsentState}


class Source(StrEnum):
    """Through what a consent came."""

    #: A form's answer, applied (its change set).
    FORM = "form"
    #: A clerk who recorded it (on the phone, at a desk).
    CLERK = "clerk"
    #: An API client.
    API = "api"
    #: Read from the source's opt-in columns.
    IMPORT = "import"
    #: The unsubscribe link of a message.
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class Wording:
    """The exact text a customer was shown or read out; its SHA-256 is its version."""

    text: str
    locale: str | None = None

    @property
    def hash(self) -> str:
        """The SHA-256 of the UTF-8 text, in hex."""
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class ConsentEntry:
    """One opt-in or opt-out to append.

    Attributes:
        customer: the customer key (`customer_key`).
        purpose: regulatory or commercial.
        channel: email, sms or letter.
        state: granted or withdrawn.
        at: when the customer gave it.
        source: through what.
        document_id: the document answered or unsubscribed from.
        via: the way it came (online, pdf, paper, email, phone, crm).
        actor: the clerk or API client, None for the customer themself.
        wording: the text shown or read out, None when unknown (an import).
        unknown_customer: the source has no such record: kept, and reported.
        detail: codes and references, never personal data.
    """

    customer: str
    purpose: str
    channel: str
    state: ConsentState
    at: dt.datetime
    source: Source
    document_id: str | None = None
    via: str | None = None
    actor: str | None = None
    wording: Wording | None = None
    unknown_customer: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentRecord:
    """One event of a customer's history, as read back with its wording."""

    id: int
    purpose: str
    channel: str
    state: ConsentState
    at: dt.datetime
    recorded_at: dt.datetime
    source: str
    document_id: str | None
    via: str | None
    actor: str | None
    text_hash: str | None
    text: str | None
    unknown_customer: bool
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class CurrentConsent:
    """The current state of one (purpose, channel) of a customer."""

    purpose: str
    channel: str
    state: ConsentState
    at: dt.datetime
    event_id: int


def check_entry(entry: ConsentEntry) -> None:
    """Refuse a purpose, channel or state the ledger does not know (InvalidInput)."""
    if entry.purpose not in CONSENTABLE_PURPOSES:
        raise InvalidInput(
            f"no consent is recorded for purpose {entry.purpose!r} "
            f"(known: {', '.join(CONSENTABLE_PURPOSES)}; service messages need none)",
            field="purpose",
        )
    if entry.channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {entry.channel!r} (known: {', '.join(CHANNELS)})", field="channel"
        )
    if not entry.customer or len(entry.customer) > 200:
        raise InvalidInput("a customer key of 1 to 200 characters is needed", field="customer")
    if entry.at.tzinfo is None:
        raise InvalidInput("the time of a consent needs its time zone", field="at")


class ConsentLedger:
    """The ledger's writes and reads; a `ConsentView` for the gate."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    # -- writes --------------------------------------------------------------------------

    def record(self, session: Session, entries: Sequence[ConsentEntry]) -> list[int]:
        """Append `entries` and move the current states, in the caller's transaction.

        Returns the new events' ids, in the entries' order. Raises InvalidInput (nothing
        written) when one entry names an unknown purpose or channel.
        """
        for entry in entries:
            check_entry(entry)
        now = self.clock()
        ids: list[int] = []
        for start in range(0, len(entries), WRITE_BATCH):
            batch = entries[start : start + WRITE_BATCH]
            self._store_texts(session, [e.wording for e in batch if e.wording], now)
            # Core statements, executed many: the ORM's bulk path compiles a statement of
            # every row's values, several times slower for a batch of 1,000.
            new_ids = _insert_events(session, [_event_row(entry, now) for entry in batch])
            self._move_states(session, batch, new_ids)
            ids += new_ids
        return ids

    @staticmethod
    def _store_texts(session: Session, wordings: Iterable[Wording], now: dt.datetime) -> None:
        unique = {w.hash: w for w in wordings}
        if not unique:
            return
        rows = [
            {"hash": h, "text": w.text, "locale": w.locale, "created_at": now}
            for h, w in unique.items()
        ]
        statement = _dialect_insert(session, ConsentText.__table__)
        session.execute(statement.on_conflict_do_nothing(index_elements=["hash"]), rows)

    @staticmethod
    def _move_states(session: Session, batch: Sequence[ConsentEntry], ids: Sequence[int]) -> None:
        # One row per key in a statement (PostgreSQL refuses to update a row twice in one):
        # the batch's latest event of each key, by the customer's time, then by order.
        latest: dict[tuple[str, str, str], tuple[ConsentEntry, int]] = {}
        for entry, event_id in zip(batch, ids, strict=True):
            key = (entry.customer, entry.purpose, entry.channel)
            held = latest.get(key)
            if held is None or entry.at >= held[0].at:
                latest[key] = (entry, event_id)
        rows = [
            {
                "customer": entry.customer,
                "purpose": entry.purpose,
                "channel": entry.channel,
                "state": entry.state.value,
                "at": entry.at,
                "event_id": event_id,
            }
            for entry, event_id in latest.values()
        ]
        table = cast(Table, ConsentStateRow.__table__)
        statement = _dialect_insert(session, table)
        excluded = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["customer", "purpose", "channel"],
                set_={"state": excluded.state, "at": excluded.at, "event_id": excluded.event_id},
                where=excluded.at >= table.c.at,
            ),
            rows,
        )

    # -- reads ---------------------------------------------------------------------------

    def states(
        self, session: Session, customers: Collection[str], purpose: str, channel: str
    ) -> Mapping[str, ConsentState]:
        """The known state of each customer for (purpose, channel); unknown ones are absent."""
        found: dict[str, ConsentState] = {}
        keys = list(dict.fromkeys(customers))
        table = cast(Table, ConsentStateRow.__table__)
        # Core on the session's connection: the ORM's row handling costs more than the query.
        connection = session.connection()
        query = select(table.c.customer, table.c.state).where(
            table.c.customer.in_(bindparam("keys", expanding=True)),
            table.c.purpose == purpose,
            table.c.channel == channel,
        )
        for start in range(0, len(keys), READ_BATCH):
            rows = connection.execute(query, {"keys": keys[start : start + READ_BATCH]})
            found.update((customer, _STATES[state]) for customer, state in rows)
        return found

    def current(self, session: Session, customer: str) -> list[CurrentConsent]:
        """Every known (purpose, channel) state of one customer."""
        rows = session.scalars(
            select(ConsentStateRow)
            .where(ConsentStateRow.customer == customer)
            .order_by(ConsentStateRow.purpose, ConsentStateRow.channel)
        )
        return [
            CurrentConsent(r.purpose, r.channel, ConsentState(r.state), r.at, r.event_id)
            for r in rows
        ]

    def history(self, session: Session, customer: str) -> list[ConsentRecord]:
        """Every event of one customer, newest first, with the wording shown."""
        rows = session.execute(
            select(ConsentEvent, ConsentText.text)
            .outerjoin(ConsentText, ConsentText.hash == ConsentEvent.text_hash)
            .where(ConsentEvent.customer == customer)
            .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
        )
        return [_record(event, text) for event, text in rows]

    def unknown_customers(self, session: Session, *, limit: int = 100) -> tuple[int, list[str]]:
        """Events kept for customers the source did not know: how many, and the first keys."""
        count = session.scalar(select(func.count()).where(ConsentEvent.unknown_customer.is_(True)))
        keys = session.scalars(
            select(ConsentEvent.customer)
            .where(ConsentEvent.unknown_customer.is_(True))
            .group_by(ConsentEvent.customer)
            .order_by(ConsentEvent.customer)
            .limit(limit)
        )
        return int(count or 0), list(keys)


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert event rows; their ids, in order."""
    events = cast(Table, ConsentEvent.__table__)
    if session.get_bind().dialect.name == "postgresql":
        # The ids drawn from the sequence first, in one query (safe beside other writers),
        # then the rows with their ids: several times faster than an ordered RETURNING.
        ids = list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('consent_events', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(rows)},
            )
        )
        session.execute(insert(events), [row | {"id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    # SQLite cannot keep RETURNING's order for many rows (SQLAlchemy then inserts one row
    # a statement); its transactions write alone (BEGIN IMMEDIATE) and rowids follow the
    # largest one: the batch's ids are the last ones.
    session.execute(insert(events), rows)
    last = int(session.scalar(select(func.max(events.c.id))) or 0)
    return list(range(last - len(rows) + 1, last + 1))


def _dialect_insert(session: Session, table: Any) -> Any:
    """INSERT … ON CONFLICT of the session's database (both speak it)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _event_row(entry: ConsentEntry, now: dt.datetime) -> dict[str, Any]:
    return {
        "customer": entry.customer,
        "purpose": entry.purpose,
        "channel": entry.channel,
        "state": entry.state.value,
        "at": entry.at,
        "recorded_at": now,
        "source": entry.source.value,
        "document_id": entry.document_id,
        "via": entry.via,
        "actor": entry.actor,
        "text_hash": entry.wording.hash if entry.wording else None,
        "unknown_customer": entry.unknown_customer,
        "detail": dict(entry.detail),
    }


def _record(event: ConsentEvent, text: str | None) -> ConsentRecord:
    return ConsentRecord(
        id=event.id,
        purpose=event.purpose,
        channel=event.channel,
        state=ConsentState(event.state),
        at=event.at,
        recorded_at=event.recorded_at,
        source=event.source,
        document_id=event.document_id,
        via=event.via,
        actor=event.actor,
        text_hash=event.text_hash,
        text=text,
        unknown_customer=event.unknown_customer,
        detail=event.detail,
    )
