"""What a hand-over's outcome writes, in the caller's transaction: the row and the history.

Shared by the single send (`DeliveryService.send_message`) and the batch (delivery/batches.py),
so that a message sent alone or in a batch leaves the same rows and events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from forms_service.consent.pressure import uncount_contact
from forms_service.delivery.interfaces import PermanentFailure, SendResult, TemporaryFailure
from forms_service.delivery.model import DeliverySettings
from forms_service.storage.events import DocumentEvent, EventKind, record_event
from forms_service.storage.messages import MESSAGE_IDS, Message, MessageStatus, among


def record_sent(session: Session, message_id: str, result: SendResult, now: dt.datetime) -> None:
    """The provider took the message: its reference, `sent` (unless a report came first)."""
    record_sent_many(session, [(message_id, result)], now)


def record_sent_many(
    session: Session, sent: Sequence[tuple[str, SendResult]], now: dt.datetime
) -> None:
    """`record_sent` for each (message id, result), in three statements whatever their number.

    A report may have come first (a bounce arrives while its group is still being handed
    over): the report settled the row and wrote its `sent` event (`FollowUp.record_report`), so
    only the rows still `sending` (or `unknown`, if a sweep gave up on them) become `sent`
    and get their event here.
    """
    if not sent:
        return
    results = dict(sent)
    connection = session.connection()
    rows = connection.execute(_TO_SENT, {"ids": list(results)}).all()
    connection.execute(
        _HANDED_OVER,
        [
            {"sent_id": message_id, "sent_ref": result.provider_ref[:255], "sent_at": result.at,
             "now": now}
            for message_id, result in sent
        ],
    )  # fmt: skip
    if rows:
        connection.execute(
            _SENT_EVENTS,
            [
                sent_event(row.id, row.document_id, row.channel, row.reminder, results[row.id].at)
                | {"detail": {"reminder": row.reminder, "attempt": row.attempts}}
                for row in rows
            ],
        )


# Built once: a statement built for each group cost several times the database's own work.
_TO_SENT: Final = (
    update(Message)
    .where(among(MESSAGE_IDS, MessageStatus.SENDING, MessageStatus.UNKNOWN))
    .values(status=MessageStatus.SENT)
    .returning(Message.id, Message.document_id, Message.channel, Message.reminder, Message.attempts)
)
_HANDED_OVER: Final = (
    update(Message)
    .where(Message.id == bindparam("sent_id"))
    .values(
        provider_ref=bindparam("sent_ref"),
        sent_at=bindparam("sent_at"),
        updated_at=bindparam("now"),
    )
)
_SENT_EVENTS: Final = insert(DocumentEvent)


def record_sent_event(session: Session, message: Message, at: dt.datetime, **detail: Any) -> None:
    """The document's history says the message (or reminder) went out at `at`."""
    event = sent_event(message.id, message.document_id, message.channel, message.reminder, at)
    record_event(session, **event, detail={"reminder": message.reminder, **detail})


def sent_event(
    message_id: str, document_id: str, channel: str, reminder: int, at: dt.datetime
) -> dict[str, Any]:
    """The columns of a message's `sent` (or `reminder_sent`) event, all but its detail."""
    return {
        "document_id": document_id,
        "kind": EventKind.REMINDER_SENT if reminder else EventKind.SENT,
        "at": at,
        "channel": channel,
        "message_id": message_id,
    }


def record_temporary(
    session: Session,
    message_id: str,
    exc: TemporaryFailure,
    settings: DeliverySettings,
    now: dt.datetime,
) -> str:
    """Queue the message again after its back-off, or dead-letter it: `retry`, `dead_lettered`."""
    message = session.get_one(Message, message_id)
    if message.attempts >= settings.max_attempts:
        reason = f"gave_up_after_{message.attempts}_attempts"
        fail(session, message, reason, now, detail={"last": exc.code})
        uncount_contact(session, message_id)
        return "dead_lettered"
    message.status = MessageStatus.QUEUED
    message.next_attempt_at = now + settings.retry_delay(message.attempts)
    message.reason = exc.code
    message.updated_at = now
    return "retry"


def permanent_reason(exc: PermanentFailure) -> str:
    """The reason a permanent failure is recorded with (the field refused, or its code)."""
    return exc.field or exc.code


def record_permanent(session: Session, message_id: str, reason: str, now: dt.datetime) -> None:
    """The provider refused the message for good (the caller queues the fallback after)."""
    message = session.get_one(Message, message_id)
    fail(session, message, reason, now, detail={})
    uncount_contact(session, message_id)  # refused at hand-over: never reached them


def fail(
    session: Session,
    message: Message,
    reason: str,
    now: dt.datetime,
    *,
    detail: Mapping[str, Any],
) -> None:
    """Mark the message failed and say why in the document's history."""
    message.status = MessageStatus.FAILED
    message.reason = reason[:64]
    message.failed_at = now
    message.updated_at = now
    record_event(
        session,
        message.document_id,
        EventKind.FAILED,
        at=now,
        channel=message.channel,
        message_id=message.id,
        detail={"reason": message.reason, "reminder": message.reminder, **detail},
    )
