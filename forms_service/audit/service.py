"""Record audit events in a hash chain and verify that nobody edited or deleted one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from forms_service.storage.model import AuditEvent

GENESIS = "0" * 64


def _digest(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(
        [
            prev_hash,
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
    )
    return hashlib.sha256(payload.encode()).hexdigest()


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
    if session.get_bind().dialect.name == "postgresql":
        # One writer at a time extends the chain; released at commit.
        session.execute(text("SELECT pg_advisory_xact_lock(7240001)"))
    last = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    event = AuditEvent(
        at=at,
        kind=kind,
        actor=actor,
        document_id=document_id,
        field=field,
        before=before,
        after=after,
        detail=dict(detail or {}),
        prev_hash=last or GENESIS,
        hash="",
    )
    event.hash = _digest(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


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
    """Walk the chain in order; report the first edited, inserted or deleted row."""
    previous = GENESIS
    count = 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        count += 1
        if event.prev_hash != previous:
            return ChainReport(count, event.id, "a row before this one was deleted or inserted")
        if _digest(previous, event) != event.hash:
            return ChainReport(count, event.id, "this row was edited")
        previous = event.hash
    return ChainReport(count, None)
