"""An online answer and its change set are stored in one transaction; what happens when not."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms_service.audit.service import verify
from forms_service.changes.service import ChangeService
from forms_service.connectors.interfaces import SourceUnavailable
from forms_service.core.errors import NotFound
from forms_service.definitions.model import Channel
from forms_service.intake.online import service as intake_service
from forms_service.intake.online.model import ClosedLink, Receipt, RevokedLink
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    AuditEvent,
    ChangeSet,
    ChangeSetStatus,
    Document,
    DocumentStatus,
    OutboxMessage,
    OutboxStatus,
    Submission,
    SubmissionStatus,
)
from tests.integration.changes_support import crm_record, issue, submit


def _count(session: Session, model: type[Any], *where: Any) -> int:
    query = select(func.count()).select_from(model)
    return int(session.execute(query.where(*where)).scalar_one())


def _kinds(runtime: Runtime, document_id: str) -> list[str]:
    with runtime.sessions() as session:
        return list(
            session.execute(
                select(AuditEvent.kind)
                .where(AuditEvent.document_id == document_id)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def _chain_ok(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        report = verify(session)
    assert report.ok, report


class DownSource:
    """A connector whose reads fail as an unreachable source's do."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read(self, record_type: str, key: str) -> Mapping[str, Any] | None:
        self.reads += 1
        raise SourceUnavailable("the CRM does not answer")


def test_the_change_set_exists_as_soon_as_the_answer_is_acknowledged(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {"city": "Lyon"})
    # No worker ran and nothing else was called: the change set came with the answer.
    view = runtime.changes.change_set_of_submission(submission_id)
    assert [row.field for row in view.rows] == ["city"]
    assert view.status is ChangeSetStatus.OPEN
    with runtime.sessions() as session:
        stored = session.get(Submission, submission_id)
        assert stored is not None and stored.status is SubmissionStatus.IN_REVIEW
        found = session.get(Document, document.id)
        assert found is not None and found.status is DocumentStatus.ANSWERED
    assert _kinds(runtime, document.id)[-1] == "submitted"
    assert runtime.changes.propose_pending() == []  # nothing was left for the worker
    _chain_ok(runtime)


def test_an_auto_applied_answer_is_queued_with_it_and_delivered_once(runtime: Runtime) -> None:
    wanted = not crm_record(runtime)["consent_sms"]
    document = issue(runtime, "consent-preferences")
    submission_id = submit(runtime, document, {"consent_sms": wanted})
    assert crm_record(runtime)["consent_sms"] is wanted  # delivered right after commit
    with runtime.sessions() as session:
        messages = list(session.execute(select(OutboxMessage)).scalars())
        assert [m.status for m in messages] == [OutboxStatus.DELIVERED]
        stored = session.get(Submission, submission_id)
        assert stored is not None and stored.status is SubmissionStatus.APPLIED
    assert _kinds(runtime, document.id)[-3:] == ["submitted", "auto_applied", "applied"]
    assert runtime.outbox.run_once() == {}  # nothing delivered twice
    _chain_ok(runtime)


def test_an_answer_that_changes_nothing_is_closed_with_it(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {})
    view = runtime.changes.change_set_of_submission(submission_id)
    assert view.status is ChangeSetStatus.NO_CHANGE and view.rows == ()
    assert _kinds(runtime, document.id)[-2:] == ["submitted", "confirmed_no_change"]
    # The same answer again is the same answer (a double click), not a second one...
    again = submit(runtime, document, {})
    assert again == submission_id
    # ...while a different one is a new answer.
    changed = submit(runtime, document, {"city": "Lyon"})
    assert changed != submission_id
    with runtime.sessions() as session:
        assert _count(session, Submission) == 2
    _chain_ok(runtime)


def test_concurrent_answers_that_change_nothing_store_one(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    definition = runtime.intake.definition(document)
    shown = {f.name: document.snapshot.get(f.name) for f in definition.fields_for(Channel.ONLINE)}
    barrier = threading.Barrier(4)
    receipts: list[Receipt] = []
    errors: list[BaseException] = []

    def answer() -> None:
        try:
            barrier.wait(timeout=30)
            receipts.append(
                runtime.intake.submit(document, shown, shown, locale="fr", opened_at=None)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(r.repeated for r in receipts) == [False, True, True, True]
    with runtime.sessions() as session:
        assert _count(session, Submission) == 1
        assert _count(session, ChangeSet) == 1


def test_an_answer_given_while_the_source_is_down_is_proposed_later(runtime: Runtime) -> None:
    down = DownSource(runtime.connectors["crm"])
    runtime.intake.proposer = ChangeService(
        runtime.sessions, runtime.definitions, {"crm": down}, clock=runtime.changes.clock
    )
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {"city": "Lyon"})
    assert down.reads == 1
    with runtime.sessions() as session:
        stored = session.get(Submission, submission_id)
        assert stored is not None and stored.status is SubmissionStatus.RECEIVED
        assert stored.values["city"] == "Lyon"
        assert _count(session, ChangeSet) == 0
    with pytest.raises(NotFound):
        runtime.changes.change_set_of_submission(submission_id)
    # The source is back: the outbox worker's round proposes what was left.
    (created,) = runtime.changes.propose_pending()
    view = runtime.changes.change_set(created)
    assert [row.field for row in view.rows] == ["city"]
    assert _kinds(runtime, document.id)[-1] == "submitted"
    _chain_ok(runtime)


def test_a_change_set_the_database_refuses_leaves_the_answer_stored(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_args: Any) -> list[int]:
        raise IntegrityError("INSERT INTO change_sets", {}, Exception("refused"))

    monkeypatch.setattr(intake_service, "store", refused)
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {"city": "Lyon"})
    with runtime.sessions() as session:
        # The failed transaction left nothing behind; the answer alone was stored after it.
        assert _count(session, Submission) == 1
        stored = session.get(Submission, submission_id)
        assert stored is not None and stored.status is SubmissionStatus.RECEIVED
        assert _count(session, ChangeSet) == 0
    assert _kinds(runtime, document.id).count("submitted") == 1
    monkeypatch.undo()
    (created,) = runtime.changes.propose_pending()
    assert [row.field for row in runtime.changes.change_set(created).rows] == ["city"]
    _chain_ok(runtime)


def test_an_answer_whose_proposal_fails_is_stored_alone(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise KeyError("a definition the proposal cannot read")

    monkeypatch.setattr(runtime.changes, "plan", broken)
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {"city": "Lyon"})
    with runtime.sessions() as session:
        stored = session.get(Submission, submission_id)
        assert stored is not None and stored.status is SubmissionStatus.RECEIVED
        assert _count(session, ChangeSet) == 0


def test_a_repeated_submit_leaves_the_document_as_it_was(runtime: Runtime) -> None:
    """The submit locks the document with the UPDATE of its status; a repeat rolls it back."""
    document = issue(runtime, "contact-update")
    first = submit(runtime, document, {"city": "Lyon"})  # a change to review: stays pending
    with runtime.sessions() as session:
        before = session.get(Document, document.id)
        assert before is not None and before.status is DocumentStatus.ANSWERED
        events = _count(session, AuditEvent)
    definition = runtime.intake.definition(document)
    shown = {f.name: document.snapshot.get(f.name) for f in definition.fields_for(Channel.ONLINE)}
    receipt = runtime.intake.submit(
        document, shown | {"city": "Lyon"}, shown, locale="fr", opened_at=None
    )
    assert receipt.repeated and receipt.submission.id == first
    assert [c.field for c in receipt.changes] == ["city"]  # read before the rollback
    with runtime.sessions() as session:
        after = session.get(Document, document.id)
        assert after is not None and after.status is DocumentStatus.ANSWERED
        assert _count(session, Submission) == 1 and _count(session, AuditEvent) == events


def test_a_link_revoked_or_closed_after_it_was_read_stores_nothing(runtime: Runtime) -> None:
    revoked = issue(runtime, "contact-update")
    closed = issue(runtime, "contact-update", "C000002")
    runtime.issuing.revoke(revoked.id, actor="test")
    with runtime.sessions() as session, session.begin():
        stored = session.get(Document, closed.id)
        assert stored is not None
        stored.status = DocumentStatus.CLOSED
    with pytest.raises(RevokedLink):
        submit(runtime, revoked, {"city": "Lyon"})
    with pytest.raises(ClosedLink):
        submit(runtime, closed, {"city": "Lyon"})
    with runtime.sessions() as session:
        assert _count(session, Submission) == 0
        statuses = {d.id: d.status for d in session.scalars(select(Document))}
    assert statuses == {revoked.id: DocumentStatus.REVOKED, closed.id: DocumentStatus.CLOSED}
