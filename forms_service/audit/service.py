"""Record audit events in a hash chain and verify that nobody edited or deleted one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from forms_service.storage.model import AuditChainHead, AuditEvent

GENESIS = "0" * 64
#: The one row of the chain head.
HEAD_ID = 1
#: Session.info key: (transaction, head) of the head this session's transaction has locked.
_HELD_HEAD = "forms_audit_head"


def chain_body(event: AuditEvent) -> str:
    """The event's canonical JSON after the previous hash: what its hash covers, but that hash.

    `_digest` hashes `["<previous hash>", ` followed by this text, which is
    `json.dumps([previous, at, kind, ...])` exactly; PostgreSQL's chain trigger
    (migration 0012) hashes the same text when the event commits.
    """
    return json.dumps(
        [
            event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            event.kind,
            event.actor,
            event.document_id,
            event.field,
            event.before,
            event.after,
            event.detail,
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )[1:]


def _digest(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(f'["{prev_hash}", {chain_body(event)}'.encode()).hexdigest()


@dataclass(frozen=True)
class NewEvent:
    """An event to append to the chain (`record_all` gives it its place and hash)."""

    kind: str
    actor: str
    at: dt.datetime
    document_id: str | None = None
    field: str | None = None
    before: str | None = None
    after: str | None = None
    detail: Mapping[str, Any] | None = None


def record(
    session: Session,
    kind: str,
    *,
    actor: str,
    at: dt.datetime,
    document_id: str | None = None,
    field: str | None = None,
    before: str | None = None,
    after: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    new = NewEvent(kind, actor, at, document_id, field, before, after, detail)
    return record_all(session, [new])[0]


def record_all(session: Session, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append events to the chain in their order, inside the caller's transaction.

    On SQLite the chain head is locked once per transaction and updated once per call however
    many events there are: a campaign batch records all its documents' events with one head update.
    Written with Core statements (the events are never read back in the transaction); the
    returned events carry their ids but are not in the session. On PostgreSQL they get their
    place and hash when the transaction commits (migration 0012), so that the chain
    head is locked for the commit only; on SQLite (one process) here.
    """
    if not events:
        return []
    rows = [
        AuditEvent(
            at=new.at,
            kind=new.kind,
            actor=new.actor,
            document_id=new.document_id,
            field=new.field,
            before=new.before,
            after=new.after,
            detail=dict(new.detail or {}),
        )
        for new in events
    ]
    connection = session.connection()  # Core only: no autoflush, no ORM execution layer
    if connection.dialect.name == "postgresql":
        # Chained when the transaction commits (migration 0012), in insertion order:
        # nothing of the chain is locked until then.
        for event in rows:
            event.pending_body = chain_body(event)
    else:
        head = _locked_head(session)
        previous = head.last_hash
        for place, event in enumerate(rows, head.events + 1):
            event.seq = place
            event.prev_hash = previous
            event.hash = previous = _digest(previous, event)
        head.events += len(rows)
        head.last_hash = previous
        connection.execute(
            _UPDATE_HEAD, {"head_id": HEAD_ID, "events": head.events, "last_hash": previous}
        )
    ids = connection.execute(
        _INSERT_EVENTS, [{key: getattr(e, key) for key in _EVENT_COLUMNS} for e in rows]
    ).scalars()
    for event, event_id in zip(rows, ids, strict=True):
        event.id = event_id
    return rows


@dataclass
class _HeldHead:
    """The chain head as the locking transaction last wrote it."""

    events: int
    last_hash: str


_EVENTS = cast(Table, AuditEvent.__table__)
_HEADS = cast(Table, AuditChainHead.__table__)
_EVENT_COLUMNS = tuple(c.key for c in _EVENTS.columns if c.key != "id")
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
_LOCK_HEAD = (
    select(_HEADS.c.events, _HEADS.c.last_hash)
    .where(_HEADS.c.id == bindparam("head_id"))
    .with_for_update()
)
_UPDATE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.id == bindparam("head_id"))
    .values(events=bindparam("events"), last_hash=bindparam("last_hash"))
)


def _locked_head(session: Session) -> _HeldHead:
    """The chain head, locked until the caller's transaction ends; locked once per transaction.

    SQLite only (PostgreSQL chains at commit, migration 0012): its writers take the
    whole database in turn, and the head's row lock keeps the chain one line anyway.
    """
    # The innermost transaction: a lock taken in a savepoint goes if the savepoint rolls back.
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_HELD_HEAD)
    if transaction is not None and held is not None and held[0] is transaction:
        head: _HeldHead = held[1]
        return head
    connection = session.connection()
    found = connection.execute(_LOCK_HEAD, {"head_id": HEAD_ID}).one_or_none()
    if found is not None:
        held_head = _HeldHead(found.events, found.last_hash if found.events else GENESIS)
    else:
        # A database emptied by hand (or older than the head): the head starts again here.
        last = connection.execute(
            select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).scalar_one_or_none()
        events = connection.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_not(None))
        ).scalar_one()
        held_head = _HeldHead(events, last or GENESIS)
        connection.execute(
            insert(_HEADS).values(id=HEAD_ID, events=events, last_hash=held_head.last_hash)
        )
    session.info[_HELD_HEAD] = (transaction, held_head)
    return held_head


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain."""

    events: int
    broken_at: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the whole chain is intact."""
        return self.broken_at is None


def verify(session: Session) -> ChainReport:
    """Walk the chain in order; report the first edited, inserted or deleted row.

    The chain alone cannot show that its last rows were deleted: the chain head (count and
    last hash, updated in every recording transaction) does. The chain's order is `seq` (on
    PostgreSQL the commit order, not the ids'); a committed row without a place was never
    chained (the chain trigger dropped, or the row written around the service).
    """
    previous = GENESIS
    count = 0
    last_id = 0
    events = select(AuditEvent).order_by(AuditEvent.seq.is_(None), AuditEvent.seq, AuditEvent.id)
    for event in session.execute(events).scalars():
        count += 1
        if event.seq is None or event.hash is None:
            return ChainReport(count, event.id, "this row was never chained")
        if event.prev_hash != previous:
            return ChainReport(count, event.id, "a row before this one was deleted or inserted")
        if _digest(previous, event) != event.hash:
            return ChainReport(count, event.id, "this row was edited")
        previous = event.hash
        last_id = event.id
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        if count:
            return ChainReport(count, last_id, "the chain head is missing")
        return ChainReport(count, None)
    if head.events != count or head.last_hash != previous:
        missing = head.events - count
        reason = (
            f"the last {missing} row(s) after this one were deleted"
            if missing > 0
            else "the chain head does not match the rows"
        )
        return ChainReport(count, last_id, reason)
    return ChainReport(count, None)


#: Roles that may read personal values (before/after) in the audit log.
PERSONAL_VALUE_READERS = frozenset({"supervisor", "admin"})
#: What a redacted value is replaced with.
REDACTED = "[redacted]"


@dataclass(frozen=True)
class AuditEntry:
    """An audit event as one reader may see it."""

    id: int
    at: dt.datetime
    kind: str
    actor: str
    document_id: str | None
    field: str | None
    before: str | None
    after: str | None
    detail: Mapping[str, Any]
    redacted: bool


def redact(
    events: Iterable[AuditEvent],
    roles: Iterable[str],
    *,
    allowed: Iterable[str] = PERSONAL_VALUE_READERS,
) -> list[AuditEntry]:
    """The events as `roles` may see them: personal values hidden unless a role is allowed.

    Args:
        events: stored audit events.
        roles: the reader's role names.
        allowed: role names that may see personal values.
    """
    see_all = bool(set(roles) & set(allowed))
    entries = []
    for event in events:
        hide = not see_all and (event.before is not None or event.after is not None)
        entries.append(
            AuditEntry(
                id=event.id,
                at=event.at,
                kind=event.kind,
                actor=event.actor,
                document_id=event.document_id,
                field=event.field,
                before=REDACTED if hide and event.before is not None else event.before,
                after=REDACTED if hide and event.after is not None else event.after,
                detail=dict(event.detail),
                redacted=hide,
            )
        )
    return entries


def events_of(
    session: Session,
    *,
    document_id: str | None = None,
    limit: int = 200,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """The latest events (of one document when given), newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if document_id is not None:
        query = query.where(AuditEvent.document_id == document_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.execute(query).scalars())
