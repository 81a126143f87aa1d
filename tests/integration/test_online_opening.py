"""The use case every online page starts with: a link opened for one purpose."""

from __future__ import annotations

import pytest

from forms_service.connectors.interfaces import Selection
from forms_service.definitions.model import Channel
from forms_service.intake.online.model import ClosedLink, Purpose
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, DocumentStatus
from tests.integration.changes_support import submit


def _token(runtime: Runtime, form_id: str) -> str:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=("C000001",)), "test")
    return issued.link.rsplit("/f/", 1)[1]


def _opened_at(runtime: Runtime, document_id: str) -> object:
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.opened_at


def test_the_form_page_is_prefilled_and_its_shown_values_signed(runtime: Runtime) -> None:
    token = _token(runtime, "consent-preferences")
    now = runtime.intake.clock()
    runtime.intake.clock = lambda: now
    opened = runtime.intake.open_form(token, Purpose.SHOW)
    assert not opened.needs_identity and opened.answer is None
    assert opened.prefill is not None and opened.prefill.live
    assert opened.shown is not None
    shown = runtime.intake.shown_values(opened.document, opened.shown)
    assert shown.values == {
        f.name: opened.prefill.values.get(f.name)
        for f in opened.definition.fields_for(Channel.ONLINE)
    }
    assert (shown.opened_at, shown.live) == (now, True)  # the intake's clock
    assert _opened_at(runtime, opened.document.id) == now


def test_nothing_personal_before_the_identity_question(runtime: Runtime) -> None:
    token = _token(runtime, "contact-update")
    opened = runtime.intake.open_form(token, Purpose.SHOW)
    assert opened.needs_identity
    assert opened.prefill is None and opened.shown is None
    assert _opened_at(runtime, opened.document.id) is None  # opened means "saw the form"
    seen = runtime.intake.open_form(
        token, Purpose.SHOW, identified=lambda d: d == opened.document.id
    )
    assert not seen.needs_identity and seen.prefill is not None


def test_a_processed_answer_closes_the_form_but_not_its_confirmation(runtime: Runtime) -> None:
    token = _token(runtime, "consent-preferences")
    document = runtime.intake.open_form(token, Purpose.IDENTIFY).document
    submit(runtime, document, {})
    with runtime.sessions() as session, session.begin():
        stored = session.get(Document, document.id)
        assert stored is not None
        stored.status = DocumentStatus.CLOSED
    for purpose in (Purpose.SHOW, Purpose.ANSWER):
        with pytest.raises(ClosedLink):
            runtime.intake.open_form(token, purpose)
    confirmed = runtime.intake.open_form(token, Purpose.CONFIRM)
    assert confirmed.answer is not None
    assert runtime.intake.open_form(token, Purpose.IDENTIFY).answer is None  # not read
