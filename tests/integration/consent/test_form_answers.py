"""A consent answer on a form: applied by its policy, then the CRM and the ledger together."""

from __future__ import annotations

from sqlalchemy import func, select

from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.runtime import Runtime
from forms_service.storage.consent import ConsentEvent
from forms_service.storage.model import Submission
from tests.integration.changes_support import crm_record, issue, submit

KEY = "C000002"
CUSTOMER = customer_key("crm", "customer", KEY)


def _events(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def test_an_applied_consent_answer_reaches_the_crm_and_the_ledger_with_its_evidence(
    runtime: Runtime,
) -> None:
    before = crm_record(runtime, KEY)
    document = issue(runtime, "consent-preferences", KEY)
    # The write-back waits for the outbox worker: nothing reaches the ledger before it.
    runtime.changes.on_queued = None
    flipped = {
        "consent_email": not before["consent_email"],
        "consent_sms": not before["consent_sms"],
    }
    submission_id = submit(runtime, document, flipped)
    assert _events(runtime) == 0
    assert crm_record(runtime, KEY)["consent_email"] == before["consent_email"]

    assert runtime.outbox.run_once() == {"delivered": 1}

    assert crm_record(runtime, KEY)["consent_email"] == flipped["consent_email"]
    with runtime.sessions() as session:
        received_at = session.get_one(Submission, submission_id).received_at
        history = runtime.consent_ledger.history(session, CUSTOMER)
        states = runtime.consent_ledger.states(session, [CUSTOMER], "commercial", "email")
    by_channel = {r.channel: r for r in history}
    assert set(by_channel) == {"email", "sms"}
    email = by_channel["email"]
    expected = ConsentState.GRANTED if flipped["consent_email"] else ConsentState.WITHDRAWN
    assert email.state is expected and states == {CUSTOMER: expected}
    assert (email.source, email.via, email.document_id) == ("form", "online", document.id)
    assert email.at == received_at
    assert email.text == "J'accepte de recevoir des informations par e-mail"
    assert (
        email.detail["form"] == "consent-preferences" and email.detail["field"] == "consent_email"
    )
    assert email.detail["submission"] == submission_id
    # Delivered again (a crash after the source write): no second event.
    assert runtime.outbox.run_once() == {}
    assert _events(runtime) == 2


def test_a_non_consent_field_writes_nothing_to_the_ledger(runtime: Runtime) -> None:
    document = issue(runtime, "consent-preferences", KEY)
    before = crm_record(runtime, KEY)
    submit(runtime, document, {"consent_partners": not before["consent_partners"]})
    assert crm_record(runtime, KEY)["consent_partners"] == (not before["consent_partners"])
    assert _events(runtime) == 0
