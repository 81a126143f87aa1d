"""Change sets end to end on SQLite and PostgreSQL: propose, review, write back, conflicts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from forms_service.changes.model import (
    ChoiceRequired,
    InvalidTransition,
    Outcome,
    QueueFilter,
    SecondReviewerRequired,
    StaleChangeSet,
)
from forms_service.changes.review import Decision
from forms_service.connectors.interfaces import FieldWrite
from forms_service.core.errors import InvalidInput, NotFound
from forms_service.issuing.tokens import new_document_id
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    AuditEvent,
    ChangeSetStatus,
    Document,
    DocumentStatus,
    FieldChangeStatus,
    OutboxMessage,
    OutboxStatus,
    Submission,
    SubmissionStatus,
)
from tests.integration.changes_support import crm_record, issue, submit


def _kinds(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(session.execute(select(AuditEvent.kind).order_by(AuditEvent.id)).scalars())


def _outbox(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.sessions() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_submission_becomes_a_change_set_of_only_real_changes(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    before = crm_record(runtime)
    submission_id = submit(
        runtime,
        document,
        {
            "address_line": "12 rue des Lilas",
            "city": "Villeurbanne",
            "email": before["email"].upper(),
        },
    )
    view = runtime.changes.change_set_of_submission(submission_id)
    assert [r.field for r in view.rows] == ["address_line", "city"]
    assert view.status is ChangeSetStatus.OPEN
    city = view.row("city")
    assert city.label == "Ville"
    assert (city.base, city.current, city.proposed) == (
        before["city"],
        before["city"],
        "Villeurbanne",
    )
    assert city.outcome is Outcome.CHANGE
    assert city.policy == "review" and city.verdict == "valid"
    assert city.evidence == {"kind": "typed"} and city.confidence == 1.0
    assert city.status is FieldChangeStatus.PENDING
    with runtime.sessions() as session:
        assert session.get_one(Submission, submission_id).status is SubmissionStatus.IN_REVIEW
    assert _outbox(runtime) == []  # nothing written before a clerk decides
    assert crm_record(runtime) == before
    # Proposing again returns the same change set.
    assert runtime.changes.propose(submission_id).id == view.id


def test_no_change_is_closed_and_counted_as_an_answer(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {})
    view = runtime.changes.change_set_of_submission(submission_id)
    assert view.rows == () and view.status is ChangeSetStatus.NO_CHANGE
    assert view.closed_at is not None
    with runtime.sessions() as session:
        assert session.get_one(Submission, submission_id).status is SubmissionStatus.NO_CHANGE
    assert _kinds(runtime)[-1] == "confirmed_no_change"
    assert runtime.changes.queue().total == 0


def test_safe_fields_are_applied_at_once(runtime: Runtime) -> None:
    document = issue(runtime, "consent-preferences")
    before = crm_record(runtime)
    submission_id = submit(
        runtime, document, {"consent_sms": "false" if before["consent_sms"] else "true"}
    )
    view = runtime.changes.change_set_of_submission(submission_id)
    (row,) = view.rows
    assert row.policy == "auto" and row.status is FieldChangeStatus.APPLIED
    assert view.status is ChangeSetStatus.APPLIED
    assert crm_record(runtime)["consent_sms"] is (not before["consent_sms"])
    assert [m.status for m in _outbox(runtime)] == [OutboxStatus.DELIVERED]
    assert _kinds(runtime)[-2:] == ["auto_applied", "applied"]
    with runtime.sessions() as session:
        stored = session.get(Document, document.id)
        assert stored is not None and stored.status is DocumentStatus.CLOSED
    # The customer's confirmation still shows the answer.
    assert runtime.intake.pending_submission(document) is not None


def test_accept_writes_the_outbox_and_applies(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    submission_id = submit(
        runtime, document, {"address_line": "12 rue des Lilas", "city": "Lyon 3e"}
    )
    view = runtime.changes.change_set_of_submission(submission_id)
    view = runtime.changes.accept(view.id, "city", actor="alice", version=view.version)
    assert view.row("city").status is FieldChangeStatus.ACCEPTED
    assert _outbox(runtime) == []  # the change set waits until every field is decided
    with pytest.raises(StaleChangeSet):
        runtime.changes.accept(view.id, "address_line", actor="alice", version=view.version - 1)
    view = runtime.changes.accept(view.id, "address_line", actor="alice", version=view.version)
    assert view.status is ChangeSetStatus.APPLIED
    assert {r.status for r in view.rows} == {FieldChangeStatus.APPLIED}
    record = crm_record(runtime)
    assert (record["address_line"], record["city"]) == ("12 rue des Lilas", "Lyon 3e")
    (message,) = _outbox(runtime)
    assert message.status is OutboxStatus.DELIVERED and message.attempts == 1
    assert set(message.writes) == {"address_line", "city"}
    assert _kinds(runtime)[-4:] == ["approved", "approved", "applied", "applied"]
    with pytest.raises(InvalidTransition):
        runtime.changes.reject(view.id, "city", actor="bob", version=view.version)


def test_reject_and_edit_are_revalidated(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    before = crm_record(runtime)
    submission_id = submit(runtime, document, {"postcode": "69003", "city": "Lyon"})
    view = runtime.changes.change_set_of_submission(submission_id)
    with pytest.raises(InvalidInput) as caught:
        runtime.changes.edit(view.id, "postcode", "00000", actor="alice", version=view.version)
    assert caught.value.field == "postcode" and "postcode" in caught.value.reason.lower()
    assert runtime.changes.change_set(view.id).version == view.version  # nothing changed
    view = runtime.changes.edit(
        view.id, "postcode", " 69 008 ", actor="alice", version=view.version, accept=True
    )
    postcode = view.row("postcode")
    assert (postcode.proposed, postcode.edited_from) == ("69008", "69003")
    assert postcode.status is FieldChangeStatus.ACCEPTED
    view = runtime.changes.reject(
        view.id, "city", actor="alice", version=view.version, reason="typo"
    )
    assert view.status is ChangeSetStatus.PARTIALLY_APPLIED
    record = crm_record(runtime)
    assert (record["postcode"], record["city"]) == ("69008", before["city"])
    assert "edited" in _kinds(runtime) and "rejected" in _kinds(runtime)


def test_decisions_on_several_lines_are_one_transaction(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    before = crm_record(runtime)
    submission_id = submit(
        runtime, document, {"address_line": "12 rue des Lilas", "city": "Lyon", "postcode": "69003"}
    )
    view = runtime.changes.change_set_of_submission(submission_id)
    kinds = _kinds(runtime)
    # One line the change set does not change: nothing is decided, not even the others.
    with pytest.raises(NotFound):
        runtime.changes.decide(
            view.id,
            {"city": Decision.ACCEPT, "email": Decision.REJECT},
            actor="alice",
            version=view.version,
        )
    assert runtime.changes.change_set(view.id).version == view.version
    assert runtime.changes.change_set(view.id).row("city").status is FieldChangeStatus.PENDING
    assert _kinds(runtime) == kinds
    decided = runtime.changes.decide(
        view.id,
        {"postcode": Decision.REJECT, "city": Decision.ACCEPT, "address_line": Decision.ACCEPT},
        actor="alice",
        version=view.version,
        reason="typo",
    )
    assert decided.status is ChangeSetStatus.PARTIALLY_APPLIED
    record = crm_record(runtime)
    assert (record["address_line"], record["city"], record["postcode"]) == (
        "12 rue des Lilas",
        "Lyon",
        before["postcode"],
    )
    # The events of the lines decided one by one: the accepted first, then the rejected.
    assert _kinds(runtime)[len(kinds) :] == [
        "approved",
        "approved",
        "rejected",
        "applied",
        "applied",
    ]
    with pytest.raises(InvalidTransition):
        runtime.changes.decide(view.id, {}, actor="alice", version=decided.version)


def test_four_eyes_needs_a_second_different_person(runtime: Runtime) -> None:
    document = issue(runtime, "bank-details")
    submission_id = submit(
        runtime, document, {"iban": "FR76 3000 6000 0112 3456 7890 189", "mandate": "true"}
    )
    view = runtime.changes.change_set_of_submission(submission_id)
    assert {r.policy for r in view.rows} == {"four_eyes"}
    view = runtime.changes.approve_all(view.id, actor="alice", version=view.version)
    assert {r.status for r in view.rows} == {FieldChangeStatus.AWAITING_SECOND}
    with pytest.raises(SecondReviewerRequired):
        runtime.changes.accept(view.id, "iban", actor="alice", version=view.version)
    with pytest.raises(InvalidTransition):
        runtime.changes.approve_all(view.id, actor="alice", version=view.version)
    assert _outbox(runtime) == []
    view = runtime.changes.approve_all(view.id, actor="bob", version=view.version)
    assert view.status is ChangeSetStatus.APPLIED
    iban = view.row("iban")
    assert (iban.first_reviewer, iban.second_reviewer) == ("alice", "bob")
    assert crm_record(runtime)["iban"] == "FR7630006000011234567890189"


def test_two_reviewers_approving_at_once_apply_once(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    submission_id = submit(runtime, document, {"city": "Bron", "postcode": "69500"})
    view = runtime.changes.change_set_of_submission(submission_id)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def approve(actor: str) -> None:
        barrier.wait()
        try:
            runtime.changes.approve_all(view.id, actor=actor, version=view.version)
            outcomes[actor] = "won"
        except StaleChangeSet:
            outcomes[actor] = "stale"

    threads = [threading.Thread(target=approve, args=(a,)) for a in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["stale", "won"]
    (message,) = _outbox(runtime)
    assert message.status is OutboxStatus.DELIVERED
    assert _kinds(runtime).count("applied") == 2  # one per field, once
    assert crm_record(runtime)["city"] == "Bron"


def test_a_source_changed_after_issue_is_a_conflict_and_nothing_is_overwritten(
    runtime: Runtime,
) -> None:
    document = issue(runtime, "contact-update")
    before = crm_record(runtime)
    crm = runtime.connectors["crm"]
    # Someone else moves the customer after the letter left.
    assert crm.apply("customer", "C000001", {"city": FieldWrite(before["city"], "Caluire")}).applied
    submission_id = submit(runtime, document, {"city": "Villeurbanne"})
    view = runtime.changes.change_set_of_submission(submission_id)
    city = view.row("city")
    assert city.outcome is Outcome.CONFLICT and city.current == "Caluire"
    assert view.has_conflict and city.policy == "review"
    # Conflicts come first in the queue.
    other = issue(runtime, "contact-update", "C000002")
    submit(runtime, other, {"city": "Vénissieux"})
    page = runtime.changes.queue()
    assert page.total == 2 and page.conflicts == 1
    assert page.entries[0].id == view.id and page.entries[0].has_conflict
    assert page.counts == {"open": 2}  # a conflict found by the diff waits like any change
    assert crm_record(runtime)["city"] == "Caluire"
    # Rejecting keeps the source's value.
    runtime.changes.reject(view.id, "city", actor="alice", version=view.version)
    assert crm_record(runtime)["city"] == "Caluire"


def test_a_source_changed_during_review_turns_the_field_into_a_conflict(runtime: Runtime) -> None:
    document = issue(runtime, "contact-update")
    before = crm_record(runtime)
    submission_id = submit(runtime, document, {"city": "Villeurbanne", "postcode": "69100"})
    view = runtime.changes.change_set_of_submission(submission_id)
    crm = runtime.connectors["crm"]
    assert crm.apply("customer", "C000001", {"city": FieldWrite(before["city"], "Caluire")}).applied
    view = runtime.changes.approve_all(view.id, actor="alice", version=view.version)
    assert view.status is ChangeSetStatus.CONFLICT and view.has_conflict
    city, postcode = view.row("city"), view.row("postcode")
    assert city.status is FieldChangeStatus.CONFLICT and city.current == "Caluire"
    assert postcode.status is FieldChangeStatus.ACCEPTED  # held: nothing was written
    record = crm_record(runtime)
    assert (record["city"], record["postcode"]) == ("Caluire", before["postcode"])
    assert _outbox(runtime)[0].status is OutboxStatus.CONFLICT
    assert "conflict" in _kinds(runtime)
    # The clerk sees the new value and decides knowingly (a choice, with a reason: the plain
    # accept is refused): the write expects "Caluire" now.
    with pytest.raises(ChoiceRequired):
        runtime.changes.accept(view.id, "city", actor="alice", version=view.version)
    view = runtime.changes.take_answer(
        view.id,
        "city",
        reason="the customer's answer is newer",
        actor="alice",
        version=view.version,
    )
    assert view.status is ChangeSetStatus.APPLIED
    record = crm_record(runtime)
    assert (record["city"], record["postcode"]) == ("Villeurbanne", "69100")


def test_queue_filters_and_counts(runtime: Runtime) -> None:
    submit(runtime, issue(runtime, "contact-update"), {"city": "Bron"})
    submit(
        runtime,
        issue(runtime, "bank-details", "C000002"),
        {"account_holder": "Jeanne Martin", "mandate": "true"},
    )
    submit(runtime, issue(runtime, "consent-preferences", "C000003"), {})
    assert runtime.changes.queue().total == 2
    page = runtime.changes.queue(QueueFilter(form_id="bank-details"))
    assert [e.form_id for e in page.entries] == ["bank-details"]
    assert page.entries[0].fields in (1, 2)  # the mandate may be ticked already
    assert page.entries[0].waiting == page.entries[0].fields
    assert page.entries[0].form_title == "Vos coordonnées bancaires"
    assert runtime.changes.queue(QueueFilter(channel="paper")).total == 0
    assert runtime.changes.queue(QueueFilter(newer_than=dt.timedelta(hours=1))).total == 2
    assert runtime.changes.queue(QueueFilter(older_than=dt.timedelta(hours=1))).total == 0
    everything = runtime.changes.queue(QueueFilter(statuses=()))
    assert everything.total == 3
    assert everything.counts == {"open": 2, "no_change": 1}
    first = runtime.changes.next_in_queue()
    assert first is not None and runtime.changes.next_in_queue(first) is not None
    with runtime.sessions() as session:
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0


def test_next_in_queue_walks_the_whole_queue_in_its_order(runtime: Runtime) -> None:
    changes = runtime.changes
    waiting = [
        changes.change_set_of_submission(
            submit(runtime, issue(runtime, "contact-update", key), {"city": city})
        ).id
        for key, city in (("C000001", "Bron"), ("C000002", "Caluire"), ("C000003", "Vénissieux"))
    ]
    document = issue(runtime, "contact-update", "C000004")
    before = crm_record(runtime, "C000004")
    crm = runtime.connectors["crm"]
    assert crm.apply("customer", "C000004", {"city": FieldWrite(before["city"], "Oullins")}).applied
    conflicted = changes.change_set_of_submission(submit(runtime, document, {"city": "Lyon"})).id
    order = [conflicted, *waiting]  # conflicts first, then oldest first
    assert [entry.id for entry in changes.queue().entries] == order
    walked: list[str] = []
    following = changes.next_in_queue()
    while following is not None and len(walked) < 10:
        walked.append(following)
        following = changes.next_in_queue(following)
    assert walked == order
    # The whole queue counts, not a page of it (it used to look at the first page only).
    assert changes.next_in_queue(order[0], QueueFilter(limit=1)) == order[1]
    assert changes.next_in_queue(order[2], QueueFilter(limit=1, offset=3)) == order[3]
    # A decided change set has left the queue: the next one is the first waiting.
    view = changes.change_set(order[1])
    changes.approve_all(order[1], actor="alice", version=view.version)
    assert changes.next_in_queue(order[1]) == order[0]
    assert changes.next_in_queue(order[0]) == order[2]
    assert changes.next_in_queue(None, QueueFilter(form_id="bank-details")) is None
    assert changes.next_in_queue(order[3], QueueFilter(channel="paper")) is None


def _paper_submission(
    runtime: Runtime, document: Document, values: dict[str, str], evidence: dict[str, object]
) -> str:
    """A submission as the paper channel stores it: readings with their confidence."""
    with runtime.sessions() as session, session.begin():
        submission = Submission(
            id=new_document_id(),
            document_id=document.id,
            channel="paper",
            status=SubmissionStatus.RECEIVED,
            raw_values=values,
            values=document.snapshot | values,
            base=dict(document.snapshot),
            evidence=evidence,
            received_at=dt.datetime.now(dt.UTC),
        )
        session.add(submission)
    return submission.id


def test_unsure_or_invalid_readings_wait_for_a_clerk(runtime: Runtime) -> None:
    document = issue(runtime, "consent-preferences")
    before = crm_record(runtime)
    sms = "false" if before["consent_sms"] else "true"
    channel = "sms" if before["preferred_channel"] != "sms" else "post"
    submission_id = _paper_submission(
        runtime,
        document,
        {"consent_sms": sms, "preferred_channel": channel},
        {
            "consent_sms": {"kind": "scan", "confidence": 0.55},
            "preferred_channel": {"kind": "scan", "confidence": 0.97, "verdict": "choice"},
        },
    )
    view = runtime.changes.propose(submission_id)
    assert view.channel == "paper"
    assert {r.field: r.policy for r in view.rows} == {
        "consent_sms": "review",
        "preferred_channel": "review",
    }
    assert view.row("consent_sms").confidence == 0.55
    assert view.row("preferred_channel").verdict == "choice"
    assert _outbox(runtime) == []  # auto fields, but nothing applied unseen
    with pytest.raises(InvalidInput) as caught:
        runtime.changes.accept(view.id, "preferred_channel", actor="alice", version=view.version)
    assert caught.value.field == "preferred_channel"
    view = runtime.changes.edit(
        view.id, "preferred_channel", channel, actor="alice", version=view.version, accept=True
    )
    view = runtime.changes.accept(view.id, "consent_sms", actor="alice", version=view.version)
    assert view.status is ChangeSetStatus.APPLIED
    assert crm_record(runtime)["preferred_channel"] == channel


def test_an_edit_after_a_first_approval_needs_both_again(runtime: Runtime) -> None:
    document = issue(runtime, "bank-details")
    submission_id = submit(
        runtime, document, {"account_holder": "Jeanne Martin", "mandate": "true"}
    )
    view = runtime.changes.change_set_of_submission(submission_id)
    view = runtime.changes.accept(view.id, "account_holder", actor="alice", version=view.version)
    assert view.row("account_holder").status is FieldChangeStatus.AWAITING_SECOND
    view = runtime.changes.edit(
        view.id, "account_holder", "Jeanne  Martin-Durand ", actor="bob", version=view.version
    )
    holder = view.row("account_holder")
    assert holder.status is FieldChangeStatus.PENDING and holder.first_reviewer is None
    assert (holder.proposed, holder.edited_from) == ("Jeanne Martin-Durand", "Jeanne Martin")
