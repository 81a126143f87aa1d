"""A form's consent answers, once applied to the source, written to the ledger.

The outbox calls `record_applied` in the transaction that records the source write
(changes/outbox.py, `on_delivered`): the CRM's opt-in column and the ledger change together,
with the evidence (the document, the channel the answer came on, the submission's time and
language, the wording the customer read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.consent.ledger import ConsentEntry, ConsentLedger, Source, Wording
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import ChangeSet, Document, FieldChangeRow, Submission


class AnswerConsents:
    """Turns the applied consent fields of a change set into ledger events."""

    def __init__(self, definitions: Mapping[str, FormDefinition], ledger: ConsentLedger) -> None:
        self.definitions = definitions
        self.ledger = ledger

    def record_applied(
        self,
        session: Session,
        change_set: ChangeSet,
        rows: Sequence[FieldChangeRow],
        now: dt.datetime,
    ) -> int:
        """Record the consents among `rows` (just applied); how many events were written."""
        definition = self.definitions.get(change_set.form_id)
        if definition is None:
            return 0
        consenting = []
        for row in rows:
            try:
                spec = definition.field(row.field)
            except KeyError:
                continue
            if spec.consent is not None and row.proposed in ("true", "false"):
                consenting.append((spec, row))
        if not consenting:
            return 0
        document = session.get_one(Document, change_set.document_id)
        submission = session.get_one(Submission, change_set.submission_id)
        key = customer_key(
            definition.source.connector, definition.source.record_type, document.record_key
        )
        entries = []
        for spec, row in consenting:
            assert spec.consent is not None  # noqa: S101 - filtered above
            entries.append(
                ConsentEntry(
                    customer=key,
                    purpose=spec.consent.purpose,
                    channel=spec.consent.channel,
                    state=ConsentState.GRANTED
                    if row.proposed == "true"
                    else ConsentState.WITHDRAWN,
                    at=submission.received_at,
                    source=Source.FORM,
                    document_id=document.id,
                    via=change_set.channel,
                    # A clerk who corrected the read value stands behind it.
                    actor=row.first_reviewer if row.edited_from is not None else None,
                    wording=Wording(spec.consent_wording(submission.locale), submission.locale),
                    detail={
                        "form": definition.id,
                        "version": document.form_version,
                        "field": row.field,
                        "change_set": change_set.id,
                        "submission": submission.id,
                        "confidence": row.confidence,
                        "edited": row.edited_from is not None,
                    },
                )
            )
        self.ledger.record(session, entries)
        return len(entries)
