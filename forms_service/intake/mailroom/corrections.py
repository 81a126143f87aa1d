"""Clerks' corrections of values read from paper: recorded per field, summed up as accuracy.

A change proposed from a scan carries what was read; once a clerk accepts it (as read, or
after editing it), the pair (read value, value decided) is recorded once. In production this
is the true measure of OCR accuracy, per field type and engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.changes.model import UNREAD
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import (
    SCANNED_CHANNELS,
    ChangeSet,
    FieldChangeRow,
    FieldChangeStatus,
)
from forms_service.storage.scans import OcrCorrection

#: Field states in which a clerk has said what the value is.
DECIDED = (FieldChangeStatus.ACCEPTED, FieldChangeStatus.QUEUED, FieldChangeStatus.APPLIED)


def record_corrections(
    session: Session, definitions: Mapping[str, FormDefinition], *, now: dt.datetime
) -> int:
    """Record every scanned value a clerk decided since the last call; how many were added.

    Values applied by the policy without a clerk are not recorded (nobody checked them);
    rejected changes neither (a rejection says the change is unwanted, not misread).
    """
    rows = session.execute(
        select(FieldChangeRow, ChangeSet)
        .join(ChangeSet, FieldChangeRow.change_set_id == ChangeSet.id)
        .where(
            ChangeSet.channel.in_([c.value for c in SCANNED_CHANNELS]),
            FieldChangeRow.status.in_(DECIDED),
            FieldChangeRow.first_reviewer.is_not(None),
        )
    ).all()
    if not rows:
        return 0
    seen = {
        (c, f)
        for c, f in session.execute(
            select(OcrCorrection.change_set_id, OcrCorrection.field).where(
                OcrCorrection.change_set_id.in_({cs.id for _, cs in rows})
            )
        )
    }
    added = 0
    for row, change_set in rows:
        if (change_set.id, row.field) in seen or row.evidence.get("kind") != "scan":
            continue
        definition = definitions.get(change_set.form_id)
        field_type = "unknown"
        same = row.edited_from is None
        if definition is not None:
            try:
                field_def = definition.field(row.field)
                field_type = field_def.type_name
                same = row.edited_from is None or field_def.same(row.edited_from, row.proposed)
            except KeyError:
                pass
        read = row.edited_from if row.edited_from is not None else row.proposed
        if row.evidence.get("verdict") == UNREAD:
            # Nothing was read: the clerk keyed the whole value (a miss, not a confirmation).
            read, same = None, False
        session.add(
            OcrCorrection(
                at=row.decided_at or now,
                document_id=change_set.document_id,
                change_set_id=change_set.id,
                form_id=change_set.form_id,
                field=row.field,
                field_type=field_type,
                read_value=read,
                corrected_value=row.proposed,
                correct=same,
                confidence=float(row.evidence.get("confidence", row.confidence)),
                engine=str(row.evidence.get("engine") or "unknown")[:32],
                clerk=(row.second_reviewer or row.first_reviewer or "")[:64],
            )
        )
        added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class AccuracyLine:
    """Checked readings of one field type and engine, and how many a clerk had to correct."""

    field_type: str
    engine: str
    checked: int
    corrected: int
    mean_confidence_correct: float | None
    mean_confidence_corrected: float | None

    @property
    def accuracy(self) -> float:
        """Share of checked readings the clerk kept as read."""
        return (self.checked - self.corrected) / self.checked if self.checked else 0.0


def accuracy_summary(session: Session, *, since: dt.datetime | None = None) -> list[AccuracyLine]:
    """Accuracy per field type and engine from the recorded corrections, worst first."""
    query = select(OcrCorrection)
    if since is not None:
        query = query.where(OcrCorrection.at >= since)
    groups: dict[tuple[str, str], list[OcrCorrection]] = {}
    for correction in session.execute(query).scalars():
        groups.setdefault((correction.field_type, correction.engine), []).append(correction)
    lines = []
    for (field_type, engine), found in groups.items():
        right = [c.confidence for c in found if c.correct]
        wrong = [c.confidence for c in found if not c.correct]
        lines.append(
            AccuracyLine(
                field_type=field_type,
                engine=engine,
                checked=len(found),
                corrected=len(wrong),
                mean_confidence_correct=sum(right) / len(right) if right else None,
                mean_confidence_corrected=sum(wrong) / len(wrong) if wrong else None,
            )
        )
    return sorted(lines, key=lambda line: (line.accuracy, line.field_type))
