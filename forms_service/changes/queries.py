"""Read models of change sets: the review queue with its counts, and one change set's rows."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, or_, select, true, tuple_
from sqlalchemy.orm import Session

from forms_service.changes.model import (
    WAITING,
    ChangeSetView,
    Dashboard,
    FieldRowView,
    OutboxView,
    Outcome,
    QueueEntry,
    QueueFilter,
    QueuePage,
    Reviewer,
)
from forms_service.core.errors import NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    Document,
    FieldChangeRow,
    FieldChangeStatus,
    OutboxMessage,
    OutboxStatus,
)

_Ts = TypeVarTuple("_Ts")
_STATUSES = frozenset(status.value for status in ChangeSetStatus)


def queue_filter(
    *,
    form_id: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    older_than_days: int | None = None,
    actionable_by: Reviewer | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QueueFilter:
    """The queue's filter from the parameters a screen or the API was given.

    Empty values filter nothing; no status, or one that is not a change set's, keeps the
    default (what waits for a clerk); 0 days is no age limit.
    """
    wanted: dict[str, Any] = {
        "form_id": form_id or None,
        "channel": channel or None,
        "older_than": dt.timedelta(days=older_than_days) if older_than_days else None,
        "actionable_by": actionable_by,
        "limit": limit,
        "offset": offset,
    }
    if status in _STATUSES:
        wanted["statuses"] = (ChangeSetStatus(status),)
    return QueueFilter(**wanted)


def _filtered(query: Select[*_Ts], filters: QueueFilter, now: dt.datetime) -> Select[*_Ts]:
    if filters.form_id:
        query = query.where(ChangeSet.form_id == filters.form_id)
    if filters.channel:
        query = query.where(ChangeSet.channel == filters.channel)
    if filters.older_than is not None:
        query = query.where(ChangeSet.created_at <= now - filters.older_than)
    if filters.newer_than is not None:
        query = query.where(ChangeSet.created_at >= now - filters.newer_than)
    if filters.actionable_by is not None:
        query = query.where(actionable_by(filters.actionable_by))
    return query


def _approved_first_by(person: Reviewer) -> ColumnElement[bool]:
    """The line's first approval is this person's (persons compared when both are known)."""
    if person.user_id is None:
        return FieldChangeRow.first_reviewer == person.name
    return or_(
        FieldChangeRow.first_reviewer_id == person.user_id,
        and_(
            FieldChangeRow.first_reviewer_id.is_(None),
            FieldChangeRow.first_reviewer == person.name,
        ),
    )


def actionable_by(person: Reviewer) -> ColumnElement[bool]:
    """The change set has a line `person` may decide: waiting, and not for a second person.

    A four-eyes line this person approved first waits for somebody else (Reviewer.is_).
    """
    return exists().where(
        FieldChangeRow.change_set_id == ChangeSet.id,
        or_(
            FieldChangeRow.status.in_((FieldChangeStatus.PENDING, FieldChangeStatus.CONFLICT)),
            and_(
                FieldChangeRow.status == FieldChangeStatus.AWAITING_SECOND,
                not_(_approved_first_by(person)),
            ),
        ),
    )


def waiting_for_others(session: Session, person: Reviewer) -> int:
    """Change sets waiting for a clerk where nothing is for `person` (their four-eyes firsts)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(ChangeSet)
            .where(
                ChangeSet.status.in_((ChangeSetStatus.OPEN, ChangeSetStatus.CONFLICT)),
                not_(actionable_by(person)),
            )
        ).scalar_one()
    )


def _title(definitions: Mapping[str, FormDefinition], form_id: str, locale: str) -> str:
    definition = definitions.get(form_id)
    return definition.title_in(locale) if definition is not None else form_id


def queue_page(
    session: Session,
    filters: QueueFilter,
    definitions: Mapping[str, FormDefinition],
    now: dt.datetime,
    locale: str,
    *,
    with_counts: bool = True,
) -> QueuePage:
    """The page of the queue `filters` select, conflicts first then oldest first.

    `with_counts` adds the change sets per status over the whole history the filter selects
    (the API's `counts`): a scan of every status, which the back office's pages leave out
    (its dashboard reads what waits and what closed recently instead).
    """
    waiting = (
        select(func.count())
        .where(FieldChangeRow.change_set_id == ChangeSet.id, FieldChangeRow.status.in_(WAITING))
        .correlate(ChangeSet)
        .scalar_subquery()
    )
    fields = (
        select(func.count())
        .where(FieldChangeRow.change_set_id == ChangeSet.id)
        .correlate(ChangeSet)
        .scalar_subquery()
    )
    chosen = _filtered(select(ChangeSet.id), filters, now)
    if filters.statuses:
        chosen = chosen.where(ChangeSet.status.in_(filters.statuses))
    total = session.execute(select(func.count()).select_from(chosen.subquery())).scalar_one()
    conflicts = session.execute(
        select(func.count()).select_from(chosen.where(ChangeSet.has_conflict.is_(True)).subquery())
    ).scalar_one()
    rows = session.execute(
        _filtered(
            select(ChangeSet, Document.reference, fields.label("fields"), waiting.label("waiting"))
            .join(Document, Document.id == ChangeSet.document_id)
            .where(ChangeSet.status.in_(filters.statuses) if filters.statuses else true())
            .order_by(ChangeSet.has_conflict.desc(), ChangeSet.created_at, ChangeSet.id)
            .limit(filters.limit)
            .offset(filters.offset),
            filters,
            now,
        )
    ).all()
    counts = (
        {
            str(status): int(count)
            for status, count in session.execute(
                _filtered(
                    select(ChangeSet.status, func.count()).group_by(ChangeSet.status),
                    filters,
                    now,
                )
            ).all()
        }
        if with_counts
        else {}
    )
    entries = tuple(
        QueueEntry(
            id=cs.id,
            version=cs.version,
            document_id=cs.document_id,
            reference=reference,
            form_id=cs.form_id,
            form_title=_title(definitions, cs.form_id, locale),
            channel=cs.channel,
            status=cs.status,
            has_conflict=cs.has_conflict,
            created_at=cs.created_at,
            fields=int(field_count),
            waiting=int(waiting_count),
        )
        for cs, reference, field_count, waiting_count in rows
    )
    return QueuePage(entries=entries, total=int(total), counts=counts, conflicts=int(conflicts))


#: Statuses the dashboard counts from the index (status, has_conflict, created_at): not closed.
_OPEN_STATUSES = (
    ChangeSetStatus.OPEN,
    ChangeSetStatus.CONFLICT,
    ChangeSetStatus.APPROVED,
    ChangeSetStatus.FAILED,
)


def dashboard(session: Session, today: dt.datetime) -> Dashboard:
    """What waits now and what closed since `today` and the 6 days before, in three statements.

    Each reads an index range and never the whole history: the change sets not closed
    (index `status, has_conflict, created_at`: counted from the index alone, the oldest of
    each group is its first entry), those closed in the last 7 days (index `closed_at`),
    and the dead-lettered outbox messages (index `status`).
    """
    week = today - dt.timedelta(days=6)
    open_rows: dict[tuple[ChangeSetStatus, bool], tuple[int, dt.datetime]] = {
        (ChangeSetStatus(status), bool(conflict)): (int(count), oldest)
        for status, conflict, count, oldest in session.execute(
            select(
                ChangeSet.status,
                ChangeSet.has_conflict,
                func.count(),
                func.min(ChangeSet.created_at),
            )
            .where(ChangeSet.status.in_(_OPEN_STATUSES))
            .group_by(ChangeSet.status, ChangeSet.has_conflict)
        )
    }

    def count(*statuses: ChangeSetStatus, conflict: bool | None = None) -> int:
        return sum(
            n
            for (status, with_conflict), (n, _) in open_rows.items()
            if status in statuses and conflict in (None, with_conflict)
        )

    closed_today: dict[str, int] = {}
    closed_week: dict[str, int] = {}
    for status, in_week, in_today in session.execute(
        select(
            ChangeSet.status,
            func.count(),
            func.count().filter(ChangeSet.closed_at >= today),
        )
        .where(ChangeSet.closed_at >= week)
        .group_by(ChangeSet.status)
    ):
        closed_week[str(status)] = int(in_week)
        if in_today:
            closed_today[str(status)] = int(in_today)
    dead = session.execute(
        select(func.count()).where(OutboxMessage.status == OutboxStatus.DEAD)
    ).scalar_one()
    waiting = (ChangeSetStatus.OPEN, ChangeSetStatus.CONFLICT)
    oldest = min(
        (first for (status, _), (_, first) in open_rows.items() if status in waiting),
        default=None,
    )
    return Dashboard(
        waiting=count(*waiting),
        conflicts=count(*waiting, conflict=True),
        oldest_waiting_at=oldest,
        writing_back=count(ChangeSetStatus.APPROVED),
        failed=count(ChangeSetStatus.FAILED),
        dead_letters=int(dead),
        closed_today=closed_today,
        closed_week=closed_week,
        today=today,
        week=week,
    )


def next_waiting(
    session: Session, after: str | None, filters: QueueFilter, now: dt.datetime
) -> str | None:
    """The id of the change set after `after` in the queue, None at the end.

    The queue's order: conflicts first, then oldest first; the first one when `after` is not
    in the queue (decided, or filtered out). The whole queue `filters` select counts (their
    page, limit and offset, do not), read with a few one-row statements: the review flow
    asks this after every decision, with thousands of change sets waiting.
    """
    chosen = _filtered(select(ChangeSet.id), filters, now)
    if filters.statuses:
        chosen = chosen.where(ChangeSet.status.in_(filters.statuses))
    if after is not None:
        found = session.execute(
            chosen.with_only_columns(ChangeSet.has_conflict, ChangeSet.created_at).where(
                ChangeSet.id == after
            )
        ).one_or_none()
        if found is not None:
            conflict, created_at = found
            later = session.execute(
                chosen.where(
                    ChangeSet.has_conflict == conflict,
                    tuple_(ChangeSet.created_at, ChangeSet.id) > tuple_(created_at, after),
                )
                .order_by(ChangeSet.created_at, ChangeSet.id)
                .limit(1)
            ).scalar_one_or_none()
            if later is not None or not conflict:
                return later
            chosen = chosen.where(ChangeSet.has_conflict == False)  # noqa: E712 - SQL
    return session.execute(
        chosen.order_by(ChangeSet.has_conflict.desc(), ChangeSet.created_at, ChangeSet.id).limit(1)
    ).scalar_one_or_none()


def _display(definition: FormDefinition | None, field: str, value: str | None, locale: str) -> str:
    if value is None:
        return ""
    if definition is None:
        return value
    try:
        return definition.field(field).display(value, locale)
    except (KeyError, ValueError):
        # A value the type cannot format (kept as text from the source) is shown as stored.
        return value


def change_set_view(
    session: Session,
    change_set_id: str,
    definitions: Mapping[str, FormDefinition],
    locale: str,
) -> ChangeSetView:
    """One change set with its rows and outbox messages; NotFound when absent."""
    found = session.execute(
        select(ChangeSet, Document.reference, Document.record_key, Document.snapshot)
        .join(Document, Document.id == ChangeSet.document_id)
        .where(ChangeSet.id == change_set_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:
        raise NotFound("unknown change set", field="change_set")
    cs, reference, record_key, snapshot = found
    definition = definitions.get(cs.form_id)
    rows = []
    for row in cs.fields:
        label = row.field
        if definition is not None:
            with contextlib.suppress(KeyError):
                label = definition.field(row.field).label_in(locale)
        rows.append(
            FieldRowView(
                field=row.field,
                label=label,
                base=row.base,
                current=row.current,
                proposed=row.proposed,
                base_display=_display(definition, row.field, row.base, locale),
                current_display=_display(definition, row.field, row.current, locale),
                proposed_display=_display(definition, row.field, row.proposed, locale),
                outcome=Outcome(row.outcome),
                policy=row.policy,
                confidence=row.confidence,
                evidence=dict(row.evidence),
                verdict=row.verdict,
                status=row.status,
                first_reviewer=row.first_reviewer,
                second_reviewer=row.second_reviewer,
                edited_from=row.edited_from,
                decided_at=row.decided_at,
                resolution=row.resolution,
            )
        )
    messages = session.execute(
        select(OutboxMessage).where(OutboxMessage.change_set_id == cs.id).order_by(OutboxMessage.id)
    ).scalars()
    return ChangeSetView(
        id=cs.id,
        version=cs.version,
        status=cs.status,
        has_conflict=cs.has_conflict,
        document_id=cs.document_id,
        reference=reference,
        record_key=record_key,
        form_id=cs.form_id,
        form_title=_title(definitions, cs.form_id, locale),
        channel=cs.channel,
        submission_id=cs.submission_id,
        created_at=cs.created_at,
        closed_at=cs.closed_at,
        rows=tuple(rows),
        snapshot=dict(snapshot or {}),
        outbox=tuple(
            OutboxView(
                id=m.id,
                status=str(m.status),
                attempts=m.attempts,
                next_attempt_at=m.next_attempt_at,
                last_error=m.last_error,
                delivered_at=m.delivered_at,
            )
            for m in messages
        ),
    )
