"""Deliver outbox messages to source systems: optimistic writes, back-off, dead letters.

A message is claimed inside one transaction of the service database (SELECT … FOR UPDATE
SKIP LOCKED on PostgreSQL, so N workers share the work; BEGIN IMMEDIATE on SQLite, one writer
at a time) and its result is stored in the same transaction. If a crash comes after the
source was written but before that commit, the next delivery finds the source already holding
the new values and counts the message as delivered: no duplicate effect.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.changes.diff import canonical
from forms_service.changes.model import Action, Outcome, decode_raw, encode_raw, error_kind
from forms_service.changes.settlement import change_set_event, record_event, settle, transition
from forms_service.connectors.interfaces import Connector, FieldWrite, SourceUnavailable
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import Conflict, NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import (
    ChangeSet,
    FieldChangeRow,
    FieldChangeStatus,
    OutboxMessage,
    OutboxStatus,
)

log = logging.getLogger(__name__)

#: Called in the transaction that records a delivered message, with its change set, the
#: rows it applied and the time: the consent ledger records applied consent answers there.
DeliveredHook = Callable[[Session, ChangeSet, Sequence[FieldChangeRow], dt.datetime], object]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: first_delay, then doubled each attempt up to max_delay.

    Attributes:
        max_attempts: attempts before the message is dead-lettered.
        first_delay: the wait after the first failed attempt.
        max_delay: the longest wait between two attempts.
    """

    max_attempts: int = 8
    first_delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(hours=6)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait after the `attempts`-th failed attempt."""
        factor: int = 2 ** max(attempts - 1, 0)
        return min(self.first_delay * factor, self.max_delay)


class Delivery(StrEnum):
    """What one delivery attempt did."""

    DELIVERED = "delivered"
    CONFLICT = "conflict"
    RETRY = "retry"
    DEAD = "dead"
    NOTHING = "nothing"


class OutboxDeliverer:
    """Applies outbox messages through the connectors."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        connectors: Mapping[str, Connector],
        definitions: Mapping[str, FormDefinition],
        *,
        clock: Clock = utc_now,
        retry: RetryPolicy | None = None,
        on_delivered: DeliveredHook | None = None,
    ) -> None:
        self.sessions = sessions
        self.connectors = connectors
        self.definitions = definitions
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.on_delivered = on_delivered

    def deliver(self, message_id: int) -> Delivery:
        """Deliver one message if it is due and nobody else holds it (NOTHING otherwise)."""
        with self.sessions() as session, session.begin():
            message = self._claim(session, self.clock(), message_id)
            if message is None:
                return Delivery.NOTHING
            return self._deliver(session, message)

    def deliver_quietly(self, message_ids: Sequence[int]) -> None:
        """Deliver messages right after approval (embedded default); failures wait for retry."""
        for message_id in message_ids:
            try:
                self.deliver(message_id)
            except Exception as exc:  # the message stays pending: `outbox run` retries it
                log.error("outbox message %s: delivery failed (%s)", message_id, error_kind(exc))

    def run_once(self, *, limit: int = 500) -> dict[str, int]:
        """Deliver every due message (at most `limit`); counts per result."""
        counts: dict[str, int] = {}
        for _ in range(limit):
            with self.sessions() as session, session.begin():
                message = self._claim(session, self.clock(), None)
                if message is None:
                    break
                result = self._deliver(session, message)
            counts[result.value] = counts.get(result.value, 0) + 1
        return counts

    def run(
        self,
        *,
        poll_seconds: float = 5.0,
        should_stop: Callable[[], bool] = lambda: False,
        on_round: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        """Deliver due messages until `should_stop()`; sleep `poll_seconds` when idle."""
        while not should_stop():
            counts = self.run_once()
            if on_round is not None and counts:
                on_round(counts)
            if not counts:
                time.sleep(poll_seconds)

    def requeue(self, message_id: int, *, actor: str) -> None:
        """Send a dead letter again (after the source is repaired); its fields are queued again.

        Raises:
            NotFound: no such message.
            Conflict: the message is not dead.
        """
        with self.sessions() as session, session.begin():
            message = session.get(OutboxMessage, message_id, with_for_update=True)
            if message is None:
                raise NotFound("unknown outbox message", field="message")
            if message.status is not OutboxStatus.DEAD:
                raise Conflict("only a dead letter can be sent again", field="message")
            now = self.clock()
            message.status = OutboxStatus.PENDING
            message.attempts = 0
            message.next_attempt_at = now
            change_set = self._change_set(session, message)
            for row in self._rows(change_set, message):
                if row.status is FieldChangeStatus.FAILED:
                    transition(row, Action.REQUEUE, now)
            record_event(session, "requeued", change_set, actor=actor, now=now, message=message.id)
            settle(session, change_set, now)

    def dead_letters(self) -> list[int]:
        """Ids of dead-lettered messages (an alert while any exists)."""
        with self.sessions() as session:
            return list(
                session.execute(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.status == OutboxStatus.DEAD)
                    .order_by(OutboxMessage.id)
                ).scalars()
            )

    # -- internals -----------------------------------------------------------------------

    @staticmethod
    def _claim(session: Session, now: dt.datetime, message_id: int | None) -> OutboxMessage | None:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if message_id is not None:
            query = query.where(OutboxMessage.id == message_id)
        return session.execute(query).scalar_one_or_none()

    @staticmethod
    def _change_set(session: Session, message: OutboxMessage) -> ChangeSet:
        change_set = session.get(ChangeSet, message.change_set_id, with_for_update=True)
        assert change_set is not None  # noqa: S101 - foreign key
        return change_set

    @staticmethod
    def _rows(change_set: ChangeSet, message: OutboxMessage) -> list[FieldChangeRow]:
        names = {write["field"] for write in message.writes.values()}
        return [row for row in change_set.fields if row.field in names]

    def _deliver(self, session: Session, message: OutboxMessage) -> Delivery:
        now = self.clock()
        message.attempts += 1
        writes = {
            column: FieldWrite(decode_raw(w["expected"]), decode_raw(w["new"]))
            for column, w in message.writes.items()
        }
        try:
            connector = self.connectors[message.connector]
            applied, conflicts, missing = _apply(connector, message, writes)
        except SourceUnavailable as exc:
            return self._failed(session, message, now, exc.reason)
        except Exception as exc:  # never lose the message: retry, then dead-letter
            log.error("outbox message %s: connector error (%s)", message.id, error_kind(exc))
            return self._failed(session, message, now, type(exc).__name__)
        with session.no_autoflush:  # the message's attempt is flushed once, with its result
            change_set = self._change_set(session, message)
            rows = {row.field: row for row in self._rows(change_set, message)}
        if missing:
            message.attempts = max(message.attempts, self.retry.max_attempts)
            return self._failed(session, message, now, "the record no longer exists in the source")
        if conflicts:
            definition = self.definitions.get(change_set.form_id)
            message.status = OutboxStatus.CONFLICT
            message.last_error = "the source changed: " + ", ".join(sorted(conflicts))
            for column, write in message.writes.items():
                row = rows[write["field"]]
                if column not in conflicts:
                    transition(row, Action.HOLD, now)
                    continue
                value = conflicts[column]
                transition(row, Action.MISMATCH, now)
                row.current = (
                    canonical(definition.field(row.field), value)
                    if definition is not None
                    else (None if value is None else str(value))
                )
                row.current_raw = encode_raw(value)
                row.outcome = Outcome.CONFLICT.value
                row.resolution = None  # the source moved again: a new choice is needed
                row.first_reviewer = row.second_reviewer = None
                row.first_reviewer_id = row.second_reviewer_id = None
                record_event(
                    session,
                    "conflict",
                    change_set,
                    actor="outbox",
                    now=now,
                    row=row,
                    before=row.current,
                    after=row.proposed,
                    message=message.id,
                )
            settle(session, change_set, now)
            return Delivery.CONFLICT
        message.status = OutboxStatus.DELIVERED
        message.delivered_at = now
        message.last_error = None
        events = []
        delivered = []
        for write in message.writes.values():
            row = rows[write["field"]]
            delivered.append(row)
            transition(row, Action.DELIVER, now)
            events.append(
                change_set_event(
                    "applied",
                    change_set.id,
                    change_set.document_id,
                    actor="outbox",
                    now=now,
                    row=row,
                    before=row.current,
                    after=row.proposed,
                    message=message.id,
                    already=write["field"] not in applied,
                )
            )
        audit.record_all(session, events)  # one statement for the message's fields
        if self.on_delivered is not None:
            self.on_delivered(session, change_set, delivered, now)
        settle(session, change_set, now)
        return Delivery.DELIVERED

    def _failed(
        self, session: Session, message: OutboxMessage, now: dt.datetime, reason: str
    ) -> Delivery:
        message.last_error = reason[:500]
        if message.attempts < self.retry.max_attempts:
            message.next_attempt_at = now + self.retry.delay(message.attempts)
            return Delivery.RETRY
        message.status = OutboxStatus.DEAD
        change_set = self._change_set(session, message)
        for row in self._rows(change_set, message):
            transition(row, Action.FAIL, now)
            record_event(
                session,
                "failed",
                change_set,
                actor="outbox",
                now=now,
                row=row,
                before=row.current,
                after=row.proposed,
                message=message.id,
                attempts=message.attempts,
                reason=message.last_error,
            )
        settle(session, change_set, now)
        return Delivery.DEAD


def _apply(
    connector: Connector, message: OutboxMessage, writes: Mapping[str, FieldWrite]
) -> tuple[set[str], dict[str, Any], bool]:
    """Apply `writes`; columns already holding their new value count as done.

    Returns:
        (fields written now, {column: current value} of real conflicts, record missing).
    """
    pending = dict(writes)
    written: set[str] = set()
    for _ in range(3):
        result = connector.apply(message.record_type, message.record_key, pending)
        if result.applied:
            written |= {message.writes[c]["field"] for c in pending}
            return written, {}, False
        if result.missing:
            return written, {}, True
        already = {
            c for c, v in result.mismatches.items() if c in pending and _same(v, pending[c].new)
        }
        conflicts = {c: v for c, v in result.mismatches.items() if c not in already}
        if conflicts:
            return written, conflicts, False
        pending = {c: w for c, w in pending.items() if c not in already}
        if not pending:
            return written, {}, False
    raise SourceUnavailable("the source kept changing during the write")


def _same(source_value: Any, written: Any) -> bool:
    """Whether the source holds what we write (a JSON source holds dates as ISO strings)."""
    if source_value == written:
        return True
    plain = encode_raw(written).get("value")
    return isinstance(source_value, str) and isinstance(plain, str) and source_value == plain
