"""Helpers of the change-set tests: answer a document online, a clock the test moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from forms_service.connectors.interfaces import Selection
from forms_service.definitions.model import Channel
from forms_service.runtime import Runtime
from forms_service.storage.model import Document


class ManualClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def issue(runtime: Runtime, form_id: str, key: str = "C000001") -> Document:
    """Issue `form_id` to record `key`; the stored document, detached."""
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "test")
    with runtime.sessions() as session:
        document = session.get(Document, issued.document_id)
        assert document is not None
        session.expunge(document)
    return document


def submit(runtime: Runtime, document: Document, changes: Mapping[str, Any]) -> str:
    """Answer `document` online: what was shown, with `changes`; the submission id."""
    definition = runtime.intake.definition(document)
    online = definition.fields_for(Channel.ONLINE)
    shown = {f.name: document.snapshot.get(f.name) for f in online}
    receipt = runtime.intake.submit(
        document, shown | dict(changes), shown, locale="fr", opened_at=None
    )
    return receipt.submission.id


def crm_record(runtime: Runtime, key: str = "C000001") -> dict[str, Any]:
    """The demo CRM's record `key`, read through its connector."""
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    return dict(record)
