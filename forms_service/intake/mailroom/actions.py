"""Who did what to a batch's pages: recorded with each action, read per batch, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms_service.storage.scans import ScanPage, ScanPageAction

#: The actor of what the mailroom does by itself (a blank page set aside).
MAILROOM = "mailroom"


class Action(StrEnum):
    """What was done to a page (or, for `RENAMED`, to its batch)."""

    ASSIGNED = "assigned"
    REJECTED = "rejected"
    REQUEUED = "requeued"
    SET_ASIDE = "set_aside"
    NOT_BLANK = "not_blank"
    RENAMED = "renamed"


@dataclass(frozen=True)
class ActionView:
    """One line of a batch's history."""

    at: dt.datetime
    actor: str
    action: Action
    page_id: str | None
    #: The page's place in the batch (None for an action on the batch).
    sequence: int | None
    detail: Mapping[str, Any]

    @property
    def person(self) -> str:
        """The actor as operators know them: a user's name, or the mailroom itself."""
        return self.actor.removeprefix("user:")


def record(
    session: Session,
    batch_id: str,
    action: Action,
    *,
    actor: str,
    at: dt.datetime,
    page_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one line to a batch's history, inside the caller's transaction."""
    session.add(
        ScanPageAction(
            batch_id=batch_id,
            page_id=page_id,
            at=at,
            actor=actor,
            action=action.value,
            detail=dict(detail or {}),
        )
    )


def of_batch(
    session: Session, batch_id: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[ActionView], int]:
    """A batch's history, newest first, one screen of it, and how many lines it has in all."""
    total = session.execute(
        select(func.count()).select_from(ScanPageAction).where(ScanPageAction.batch_id == batch_id)
    ).scalar_one()
    rows = session.execute(
        select(ScanPageAction, ScanPage.sequence)
        .outerjoin(ScanPage, ScanPage.id == ScanPageAction.page_id)
        .where(ScanPageAction.batch_id == batch_id)
        .order_by(ScanPageAction.at.desc(), ScanPageAction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        ActionView(
            at=row.at,
            actor=row.actor,
            action=Action(row.action),
            page_id=row.page_id,
            sequence=sequence,
            detail=row.detail or {},
        )
        for row, sequence in rows
    ], int(total)
