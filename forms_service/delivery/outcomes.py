"""What a hand-over's outcome writes, in the caller's transaction: the row and the history.

Shared by the single send (`DeliveryService.send_message`) and the batch (delivery/batches.py),
so that a message sent alone or in a batch leaves the same rows and events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from forms_service.consent.pressure import uncount_contact
from forms_service.delivery.interfaces import PermanentFailure, SendResult, TemporaryFailure
from forms_service.delivery.model import DeliverySettings
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.messages import Message, MessageStatus


def record_sent(session: Session, message_id: str, result: SendResult, now: dt.datetime) -> None:
    """The provider took the message: its reference, `sent` (unless a report came first)."""
    message = session.get_one(Message, message_id)
    if message.status is MessageStatus.SENDING:  # a report may have come first
        message.status = MessageStatus.SENT
    message.provider_ref = result.provider_ref[:255]
    message.sent_at = result.at
    message.updated_at = now
    record_sent_event(session, message, result.at, attempt=message.attempts)


def record_sent_event(session: Session, message: Message, at: dt.datetime, **detail: Any) -> None:
    """The document's history says the message (or reminder) went out at `at`."""
    record_event(
        session,
        message.document_id,
        EventKind.REMINDER_SENT if message.reminder else EventKind.SENT,
        at=at,
        channel=message.channel,
        message_id=message.id,
        detail={"reminder": message.reminder, **detail},
    )


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
