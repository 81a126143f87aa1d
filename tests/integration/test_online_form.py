"""The online channel end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forms_service.app import create_app
from forms_service.connectors.interfaces import Selection
from forms_service.connectors.sql import SqlConnector
from forms_service.definitions.service import DefinitionError
from forms_service.intake.online.model import Receipt
from forms_service.issuing.tokens import new_document_id
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    AuditEvent,
    Document,
    DocumentStatus,
    SecurityEvent,
    Submission,
)
from tests.conftest import DEFINITIONS, hidden_fields

NEW_LINK_FR = "Pour obtenir un nouveau lien"
NEW_LINK_EN = "To get a new link"


def _issue(runtime: Runtime, form_id: str, key: str = "C000001") -> str:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "test")
    return issued.link.removeprefix("http://localhost")


def _document_id(path: str) -> str:
    return path.removeprefix("/f/").split(".")[0]


def _record(runtime: Runtime, key: str = "C000001") -> dict[str, Any]:
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    return dict(record)


def _birth_date(runtime: Runtime, key: str = "C000001") -> str:
    birth_date: dt.date = _record(runtime, key)["birth_date"]
    return birth_date.strftime("%d/%m/%Y")


def _count(session: Session, model: type[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _answer_challenge(client: FlaskClient, path: str, answers: dict[str, str]) -> Any:
    page = client.get(path)
    assert page.status_code == 200
    fields = hidden_fields(page.text)
    return client.post(f"{path}/challenge", data={"csrf_token": fields["csrf_token"], **answers})


def _pass_challenge(client: FlaskClient, runtime: Runtime, path: str) -> str:
    return _pass_challenge_of(client, runtime, path, "C000001")


def _pass_challenge_of(client: FlaskClient, runtime: Runtime, path: str, key: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    assert "date de naissance" in page.text
    answer = _answer_challenge(client, path, {"birth_date": _birth_date(runtime, key)})
    assert answer.status_code == 303
    form = client.get(path)
    assert form.status_code == 200
    return form.text


def _contact_answer(page: str, record: dict[str, Any], **changes: str) -> dict[str, str]:
    fields = hidden_fields(page)
    data = {
        "csrf_token": fields["csrf_token"],
        "base": fields["base"],
        "address_line": record["address_line"],
        "address_extra": record["address_extra"] or "",
        "postcode": record["postcode"],
        "city": record["city"],
        "email": record["email"],
        "phone": record["phone"],
    }
    data.update(changes)
    return data


# -- the happy path -----------------------------------------------------------------------


def test_contact_update_end_to_end(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    page = _pass_challenge(client, runtime, path)
    # Prefilled with the live source values (escaped in HTML).
    assert html.escape(record["city"], quote=True) in page
    assert html.escape(record["address_line"], quote=True) in page
    assert "Nos systèmes ne répondent pas" not in page
    response = client.post(
        path,
        data=_contact_answer(
            page,
            record,
            address_line="12 rue des Lilas",
            postcode="69003",
            city="Lyon",
            email=record["email"].upper(),  # same address, other case: no change
        ),
    )
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    assert "12 rue des Lilas" in done.text
    assert "69003" in done.text and "Lyon" in done.text
    assert "Adresse e-mail" not in done.text  # unchanged fields are not listed
    assert "Téléphone" not in done.text
    assert done.text.count('<th scope="row">') == 3  # exactly the three changed fields
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["postcode"] == "69003"
        assert submission.raw_values["city"] == "Lyon"
        assert submission.base["city"] == record["city"]
        assert submission.channel == "online"
        assert submission.locale == "fr"
        assert submission.opened_at is not None
        assert submission.received_at >= submission.opened_at
        assert submission.evidence["city"] == {"kind": "typed"}
        document = session.get(Document, _document_id(path))
        assert document is not None
        assert document.status is DocumentStatus.ANSWERED
        assert document.opened_at is not None
        kinds = session.execute(select(AuditEvent.kind).order_by(AuditEvent.id)).scalars().all()
        assert kinds == ["issued", "opened", "submitted"]
    # The source is not touched by a submission: review and write-back come later.
    assert _record(runtime)["city"] == record["city"]


def test_a_form_without_challenge_opens_directly(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "consent-preferences")
    record = _record(runtime)
    page = client.get(path)
    assert page.status_code == 200
    assert "Vos préférences de contact" in page.text
    fields = hidden_fields(page.text)
    new_channel = "post" if record["preferred_channel"] != "post" else "sms"
    data = {
        "csrf_token": fields["csrf_token"],
        "base": fields["base"],
        "preferred_channel": new_channel,
        "interests": ["savings", "credit"],
    }
    # Ticked boxes are sent, unticked ones are absent: flip consent_sms only.
    for name in ("consent_email", "consent_partners"):
        if record[name]:
            data[name] = "y"
    if not record["consent_sms"]:
        data["consent_sms"] = "y"
    response = client.post(path, data=data)
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert "recevoir des SMS" in done.text
    assert "Canal préféré" in done.text
    assert "Épargne, Crédit" in done.text or record["interests"] == "savings,credit"
    assert "par e-mail" not in done.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["consent_sms"] == ("false" if record["consent_sms"] else "true")
        assert submission.values["consent_email"] == (
            "true" if record["consent_email"] else "false"
        )
        assert submission.values["preferred_channel"] == new_channel
        assert submission.values["interests"] == "savings,credit"


def test_submitting_without_changes_says_nothing_changes(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    page = _pass_challenge(client, runtime, path)
    response = client.post(path, data=_contact_answer(page, _record(runtime)))
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert "rien ne change" in done.text
    assert "<table" not in done.text


def test_second_submit_returns_the_same_submission(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    page = _pass_challenge(client, runtime, path)
    first = client.post(path, data=_contact_answer(page, record, city="Lyon", postcode="69003"))
    assert first.status_code == 303
    assert "again" not in first.headers["Location"]
    # The same page posted again (double click, back button), even with other values.
    second = client.post(path, data=_contact_answer(page, record, city="Paris", postcode="75011"))
    assert second.status_code == 303
    assert second.headers["Location"].endswith("?again=1")
    done = client.get(second.headers["Location"])
    assert "Nous avions déjà reçu votre réponse" in done.text
    english = client.get(f"{path}/done?lang=en&again=1")
    assert "We had already received your answer" in english.text
    assert "What will change:" in english.text
    receipt = done.text.split("<main", 1)[1].split("</main>", 1)[0]  # not the footer's address
    assert "Lyon" in receipt and "Paris" not in receipt
    # Opening the link again shows the answer instead of a new form.
    reopened = client.get(path)
    assert reopened.status_code == 302
    assert reopened.headers["Location"].endswith("/done")
    with runtime.sessions() as session:
        assert _count(session, Submission) == 1
        kinds = session.execute(select(AuditEvent.kind)).scalars().all()
        assert kinds.count("submitted") == 1


def test_the_error_summary_counts_in_each_language(client: FlaskClient, runtime: Runtime) -> None:
    """One error is said in the singular, several in the plural (ngettext), in both languages."""
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    page = _pass_challenge(client, runtime, path)
    one = client.post(path, data=_contact_answer(page, record, email="not-an-email"))
    assert one.status_code == 422
    assert "Le formulaire contient 1 erreur :" in one.text
    two = client.post(
        f"{path}?lang=en", data=_contact_answer(one.text, record, email="x", phone="123")
    )
    assert two.status_code == 422
    assert "The form has 2 errors:" in two.text


def test_invalid_values_redisplay_with_messages(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    page = _pass_challenge(client, runtime, path)
    fields = hidden_fields(page)
    response = client.post(
        path,
        data={
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "address_line": "",
            "postcode": "00000",
            "city": "Lyon",
            "email": "not-an-email",
            "phone": "123",
        },
    )
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in response.text
    assert "Code postal incorrect" in response.text
    assert "Adresse e-mail incorrecte" in response.text
    assert "Numéro de téléphone incorrect" in response.text
    assert "Le formulaire contient 4 erreurs :" in response.text
    assert (
        "<title>Erreur : Mise à jour de vos coordonnées – Mutuelle Horizon</title>" in response.text
    )
    assert 'href="#postcode"' in response.text  # the summary links to each field
    assert 'aria-invalid="true"' in response.text
    assert 'value="not-an-email"' in response.text  # what was typed is kept
    with runtime.sessions() as session:
        assert _count(session, Submission) == 0


def test_bank_details_check_iban_and_mandate(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "bank-details")
    record = _record(runtime)
    page = client.get(path)
    assert "date de naissance" in page.text and "code postal" in page.text
    answer = _answer_challenge(
        client, path, {"birth_date": _birth_date(runtime), "postcode": record["postcode"]}
    )
    assert answer.status_code == 303
    form = client.get(path).text
    # The current IBAN is shown masked, and is nowhere whole in the page (nor in its base).
    current = str(record["iban"]).replace(" ", "")
    assert current not in form.replace(" ", "") and current[4:-4] not in form
    assert f"Actuellement : {current[:4]} ••••" in form
    # The SEPA mandate is shown whole before its agreement box.
    mandate = form.index("Mandat de prélèvement SEPA")
    assert mandate < form.index('name="mandate"')
    assert 'data-mandate="creditor_id">FR72ZZZ123456<' in form
    reference = re.search(r'data-mandate="reference">(MH-[A-Z0-9-]+)<', form)
    assert reference is not None and len(reference.group(1)) <= 35
    assert "8 semaines suivant la date de débit" in html.unescape(form)
    assert "Type de paiement :</dt><dd>récurrent" in form
    fields = hidden_fields(form)
    base = {"csrf_token": fields["csrf_token"], "base": fields["base"]}
    wrong = client.post(
        path,
        data={**base, "account_holder": "Jean Dupont", "iban": "FR76 3000 6000 0112 3456 7890 188"},
    )
    assert wrong.status_code == 422
    assert "IBAN incorrect" in wrong.text
    assert "Cochez cette case pour continuer." in wrong.text
    right = client.post(
        path,
        data={
            **base,
            "account_holder": "Jean Dupont",
            "iban": "fr76 3000 6000 0112 3456 7890 189",
            "mandate": "y",
        },
    )
    assert right.status_code == 303
    done = client.get(right.headers["Location"])
    assert "FR76 •••• •••• •••• •••• •••0 189" in done.text  # masked on the confirmation too
    assert "3000 6000" not in done.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["iban"] == "FR7630006000011234567890189"
        assert submission.values["mandate"] == "true"


def test_an_empty_iban_box_keeps_the_current_iban(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "bank-details")
    record = _record(runtime)
    _answer_challenge(
        client, path, {"birth_date": _birth_date(runtime), "postcode": record["postcode"]}
    )
    fields = hidden_fields(client.get(path).text)
    kept = client.post(
        path,
        data={
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "account_holder": "Jean Dupont",
            "iban": "",
            "mandate": "y",
        },
    )
    assert kept.status_code == 303
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["iban"] == str(record["iban"]).replace(" ", "")


# -- the challenge ------------------------------------------------------------------------


def test_challenge_comes_before_any_personal_data(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    page = client.get(path)
    assert page.status_code == 200
    assert "Vérification de votre identité" in page.text
    for column in ("first_name", "last_name", "address_line", "city", "email", "postcode"):
        assert str(record[column]) not in page.text, column
        assert html.escape(str(record[column]), quote=True) not in page.text, column
    assert _birth_date(runtime) not in page.text
    assert record["birth_date"].isoformat() not in page.text
    # Neither the form nor the confirmation can be reached around the challenge.
    fields = hidden_fields(page.text)
    skipped = client.post(path, data={"csrf_token": fields["csrf_token"], "city": "Lyon"})
    assert skipped.status_code == 302
    done = client.get(f"{path}/done")  # the confirmation asks the identity question itself
    assert done.status_code == 200 and "Vérification de votre identité" in done.text
    assert html.escape(str(record["city"]), quote=True) not in done.text
    with runtime.sessions() as session:
        assert _count(session, Submission) == 0
        document = session.get(Document, _document_id(path))
        assert document is not None
        assert document.opened_at is None  # opened means "saw the form"


def test_wrong_answers_are_counted_then_locked(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    document_id = _document_id(path)
    limit = int(runtime.settings["CHALLENGE_MAX_FAILURES"])
    for attempt in range(1, limit + 1):
        wrong = _answer_challenge(client, path, {"birth_date": "01/01/1900"})
        assert wrong.status_code == 422
        assert "ne correspondent pas" in wrong.text
        with runtime.sessions() as session:
            document = session.get(Document, document_id)
            assert document is not None
            if attempt < limit:
                assert document.challenge_failures == attempt
                assert document.challenge_locked_until is None
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        assert document.challenge_locked_until is not None
        locked_until = document.challenge_locked_until
    # Locked: even the right answer is refused, with a 429 page saying why.
    locked = _answer_challenge(client, path, {"birth_date": _birth_date(runtime)})
    assert locked.status_code == 429
    assert "Trop de réponses erronées" in html.unescape(locked.text)
    with runtime.sessions() as session:
        kinds = session.execute(select(SecurityEvent.kind)).scalars().all()
        assert kinds.count("challenge_failed") == limit
        assert kinds.count("challenge_locked") == 1
        assert _count(session, Submission) == 0
    # After the lock, the right answer opens the form.
    later = locked_until + dt.timedelta(seconds=1)
    runtime.intake.clock = lambda: later
    runtime.issuing.clock = lambda: later
    opened = _answer_challenge(client, path, {"birth_date": _birth_date(runtime)})
    assert opened.status_code == 303
    with runtime.sessions() as session:  # the expired lock is cleared
        document = session.get(Document, document_id)
        assert document is not None and document.challenge_locked_until is None
    assert client.get(path).status_code == 200


def test_the_right_answer_resets_the_failures_counted(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    for _ in range(2):
        assert _answer_challenge(client, path, {"birth_date": "01/01/1900"}).status_code == 422
    with runtime.sessions() as session:
        document = session.get(Document, _document_id(path))
        assert document is not None and document.challenge_failures == 2
    assert _answer_challenge(client, path, {"birth_date": _birth_date(runtime)}).status_code == 303
    with runtime.sessions() as session:
        document = session.get(Document, _document_id(path))
        assert document is not None
        assert document.challenge_failures == 0 and document.challenge_locked_until is None
        kinds = session.execute(select(SecurityEvent.kind)).scalars().all()
        assert kinds.count("challenge_failed") == 2


def test_a_malformed_answer_is_a_field_message_not_a_failure(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    answer = _answer_challenge(client, path, {"birth_date": "the day I was born"})
    assert answer.status_code == 422
    assert "Date incorrecte (JJ/MM/AAAA)." in answer.text
    with runtime.sessions() as session:
        document = session.get(Document, _document_id(path))
        assert document is not None
        assert document.challenge_failures == 0


def test_challenge_accepts_iso_dates_from_date_inputs(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    iso = _record(runtime)["birth_date"].isoformat()
    assert _answer_challenge(client, path, {"birth_date": iso}).status_code == 303


def test_passing_one_challenge_does_not_open_another_document(
    client: FlaskClient, runtime: Runtime
) -> None:
    mine = _issue(runtime, "contact-update", "C000001")
    theirs = _issue(runtime, "contact-update", "C000002")
    _pass_challenge(client, runtime, mine)
    other = client.get(theirs)
    assert "Vérification de votre identité" in other.text


# -- bad links ----------------------------------------------------------------------------


def _assert_only_a_security_event(runtime: Runtime, kind: str, audit_before: int) -> None:
    with runtime.sessions() as session:
        kinds = session.execute(select(SecurityEvent.kind)).scalars().all()
        assert kinds == [kind]
        assert _count(session, Submission) == 0
        assert _count(session, AuditEvent) == audit_before
        assert session.execute(select(Document.opened_at)).scalars().all() in ([], [None])


def _audit_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return _count(session, AuditEvent)


def test_tampered_link_is_refused_and_recorded(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "consent-preferences")
    audit_before = _audit_count(runtime)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "a été modifié" in html.unescape(response.text)
    assert NEW_LINK_FR in response.text
    _assert_only_a_security_event(runtime, "link_tampered", audit_before)


@pytest.mark.parametrize("suffix", ["", "/done"])
def test_a_truncated_link_is_tampered_on_every_page(
    client: FlaskClient, runtime: Runtime, suffix: str
) -> None:
    path = _issue(runtime, "contact-update")
    response = client.get(path[:-5] + suffix)
    assert response.status_code == 400
    assert "Ce lien est incomplet" in response.text
    with runtime.sessions() as session:
        kinds = session.execute(select(SecurityEvent.kind)).scalars().all()
        assert kinds == ["link_tampered"]


def test_expired_link_says_so(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    audit_before = _audit_count(runtime)
    document_id = _document_id(path)
    token = runtime.signer.sign(document_id, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    response = client.get(f"/f/{token}")
    assert response.status_code == 410
    assert "Ce lien a expiré." in response.text
    assert NEW_LINK_FR in response.text
    _assert_only_a_security_event(runtime, "link_expired", audit_before)
    with runtime.sessions() as session:
        event = session.execute(select(SecurityEvent)).scalar_one()
        assert event.document_id == document_id
        assert event.client  # a pseudonym, not the address
        assert event.client != "127.0.0.1"


def test_document_expiry_is_checked_even_with_a_valid_signature(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(Document).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    # The token still carries the original expiry in the future.
    response = client.get(path)
    assert response.status_code == 410
    assert "Ce lien a expiré." in response.text


def test_revoked_link_says_so(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    runtime.issuing.revoke(_document_id(path), actor="test")
    audit_before = _audit_count(runtime)
    response = client.get(path)
    assert response.status_code == 410
    assert "Ce formulaire a été retiré." in html.unescape(response.text)
    assert NEW_LINK_FR in response.text
    _assert_only_a_security_event(runtime, "link_revoked", audit_before)


def test_unknown_document_says_so(client: FlaskClient, runtime: Runtime) -> None:
    _issue(runtime, "contact-update")
    audit_before = _audit_count(runtime)
    token = runtime.signer.sign(new_document_id(), dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    response = client.get(f"/f/{token}")
    assert response.status_code == 404
    assert "ne mène à aucun formulaire" in html.unescape(response.text)
    assert NEW_LINK_FR in response.text
    _assert_only_a_security_event(runtime, "link_unknown_document", audit_before)


def test_closed_document_accepts_no_more_answers(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "consent-preferences")
    with runtime.sessions() as session, session.begin():
        session.execute(update(Document).values(status=DocumentStatus.CLOSED))
    # A closed link leads to its receipt; with no answer to show, it says it is closed.
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 410
    assert "déjà été traitée" in html.unescape(response.text)


def test_bad_link_pages_are_in_english_too(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    runtime.issuing.revoke(_document_id(path), actor="test")
    response = client.get(path, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status_code == 410
    assert "This form was withdrawn." in response.text
    assert NEW_LINK_EN in response.text
    assert '<html lang="en">' in response.text


def test_a_missing_csrf_token_changes_nothing(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "consent-preferences")
    page = client.get(path)
    fields = hidden_fields(page.text)
    response = client.post(path, data={"base": fields["base"], "preferred_channel": "sms"})
    assert response.status_code == 400
    assert "La page a expiré" in html.unescape(response.text)
    with runtime.sessions() as session:
        assert _count(session, Submission) == 0


def test_a_forged_base_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "consent-preferences")
    page = client.get(path)
    fields = hidden_fields(page.text)
    response = client.post(
        path,
        data={"csrf_token": fields["csrf_token"], "base": "e30.forged", "preferred_channel": "sms"},
    )
    assert response.status_code == 400
    with runtime.sessions() as session:
        assert _count(session, Submission) == 0


# -- source unavailable -------------------------------------------------------------------


def test_live_values_are_shown_when_the_source_changed(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "consent-preferences")
    record = _record(runtime)
    connector = runtime.connectors["crm"]
    assert isinstance(connector, SqlConnector)
    table, _ = connector._table("customer")
    with connector.engine.begin() as connection:
        connection.execute(
            update(table).where(table.c.customer_no == "C000001").values(preferred_channel="sms")
        )
    page = client.get(path)
    assert '<input checked id="preferred_channel-1"' in page.text  # sms, live
    assert page.text.count("<input checked") == 1 + sum(
        bool(record[n]) for n in ("consent_email", "consent_sms", "consent_partners")
    ) + len([i for i in (record["interests"] or "").split(",") if i])
    assert "Nos systèmes ne répondent pas" not in page.text


def test_snapshot_is_shown_with_a_note_when_the_source_is_unreachable(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    connector = runtime.connectors["crm"]
    assert isinstance(connector, SqlConnector)
    _pass_challenge(client, runtime, path)
    # Take the CRM away for real: the database file is gone.
    crm_file = Path(connector.engine.url.database or "")
    connector.engine.dispose()
    crm_file.unlink()
    page = client.get(path).text
    assert "Nos systèmes ne répondent pas pour le moment" in html.unescape(page)
    assert 'role="status"' in page
    assert html.escape(record["city"], quote=True) in page  # from the snapshot
    # A mistake redisplays the form with the note still there.
    mistake = client.post(path, data=_contact_answer(page, record, postcode="00000"))
    assert mistake.status_code == 422
    assert "Nos systèmes ne répondent pas pour le moment" in html.unescape(mistake.text)
    # An answer can still be given; it is compared with the snapshot the customer saw.
    response = client.post(path, data=_contact_answer(page, record, city="Lyon"))
    assert response.status_code == 303
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.base["city"] == record["city"]
        assert submission.values["city"] == "Lyon"


# -- languages ----------------------------------------------------------------------------


def test_english_with_lang_parameter_is_remembered(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    page = client.get(f"{path}?lang=en")
    assert page.status_code == 200
    assert "Confirm who you are" in page.text
    assert "Your date of birth" in page.text
    assert '<html lang="en">' in page.text
    again = client.get(path)  # no parameter: the session remembers
    assert "Confirm who you are" in again.text
    french = client.get(f"{path}?lang=fr")
    assert "Vérification de votre identité" in french.text


def test_english_from_accept_language_with_english_messages(
    client: FlaskClient, runtime: Runtime
) -> None:
    english = {"Accept-Language": "en-US,en;q=0.9,fr;q=0.5"}
    path = _issue(runtime, "contact-update")
    challenge = client.get(path, headers=english)
    assert "Confirm who you are" in challenge.text
    fields = hidden_fields(challenge.text)
    wrong = client.post(
        f"{path}/challenge",
        data={"csrf_token": fields["csrf_token"], "birth_date": "01/01/1900"},
        headers=english,
    )
    assert "The answers do not match our records." in wrong.text
    assert "<title>Error: Confirm who you are" in wrong.text
    client.post(
        f"{path}/challenge",
        data={"csrf_token": fields["csrf_token"], "birth_date": _birth_date(runtime)},
        headers=english,
    )
    page = client.get(path, headers=english)
    assert "Update your contact details" in page.text
    assert "Address (number and street)" in page.text
    fields = hidden_fields(page.text)
    response = client.post(
        path,
        data={
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "address_line": "",
            "postcode": "123",
            "city": "Lyon",
            "email": "nobody",
            "phone": "",
        },
        headers=english,
    )
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert "Invalid French postcode: 5 digits (example: 75011)." in response.text
    assert "Invalid e-mail address" in response.text
    assert "The form has 3 errors:" in response.text
    assert "Ce champ est obligatoire" not in response.text


def test_french_is_the_default(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    for headers in ({}, {"Accept-Language": "de-DE,de;q=0.9"}):
        page = client.get(path, headers=headers)
        assert '<html lang="fr">' in page.text
        assert "Vérification de votre identité" in page.text


# -- start-up -----------------------------------------------------------------------------


def test_a_broken_definition_stops_start_up_with_the_reason(
    tmp_path: Path, app_settings: dict[str, Any]
) -> None:
    broken = tmp_path / "definitions"
    broken.mkdir()
    for source in DEFINITIONS.glob("*.yaml"):
        (broken / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    text = (broken / "bank-details.yaml").read_text(encoding="utf-8")
    (broken / "bank-details.yaml").write_text(
        text.replace("type: iban", "type: ibna"), encoding="utf-8"
    )
    with pytest.raises(DefinitionError) as caught:
        create_app({**app_settings, "DEFINITIONS_DIR": str(broken)})
    assert str(caught.value).startswith("bank-details.yaml: field 'iban': unknown type 'ibna'")


# -- rate limits --------------------------------------------------------------------------


def test_identity_answers_are_rate_limited_per_client(app_settings: dict[str, Any]) -> None:
    from forms_service.web.extensions import limiter

    app = create_app(
        {**app_settings, "RATELIMIT_ENABLED": True, "RATELIMIT_CHALLENGE": "3 per minute"}
    )
    runtime: Runtime = app.extensions["forms_service"]
    try:
        with app.app_context():
            limiter.reset()  # the limiter's memory is per process, shared by test apps
        client = app.test_client()
        paths = [_issue(runtime, "contact-update", f"C00000{n}") for n in (1, 2)]
        statuses = [
            _answer_challenge(client, paths[n % 2], {"birth_date": "01/01/1900"}).status_code
            for n in range(4)
        ]
        # Three wrong answers are refused one by one; the fourth is not even checked, whatever
        # the document: guessing across many links is slowed down as well.
        assert statuses == [422, 422, 422, 429]
        refused = _answer_challenge(client, paths[0], {"birth_date": _birth_date(runtime)})
        assert refused.status_code == 429
        assert "Trop d'essais" in html.unescape(refused.text)
        with runtime.sessions() as session:
            failures = session.execute(select(Document.challenge_failures)).scalars().all()
            assert sorted(failures) == [1, 2]  # only the answers that were checked count
    finally:
        with app.app_context():
            limiter.reset()
        runtime.engine.dispose()


# -- dirty source values ------------------------------------------------------------------


def _dirty_phone(runtime: Runtime, key: str) -> None:
    connector = runtime.connectors["crm"]
    assert isinstance(connector, SqlConnector)
    table, _ = connector._table("customer")
    with connector.engine.begin() as connection:
        connection.execute(
            update(table).where(table.c.customer_no == key).values(phone="0639062210")
        )


def test_a_refused_source_value_left_untouched_does_not_block_the_answer(
    client: FlaskClient, runtime: Runtime
) -> None:
    # Regressions: a phone number the type refuses made the prefilled form a server error,
    # then blocked the customer with a message about a value they had not touched.
    _dirty_phone(runtime, "C000001")
    path = _issue(runtime, "contact-update")
    record = _record(runtime)
    page = _pass_challenge(client, runtime, path)
    assert 'value="0639062210"' in page
    # Another value in the same format is still refused: only the value shown is kept.
    other = client.post(path, data=_contact_answer(page, record, phone="0639062211"))
    assert other.status_code == 422
    assert "Numéro de téléphone incorrect" in other.text
    unchanged = client.post(path, data=_contact_answer(page, record, city="Lyon"))
    assert unchanged.status_code == 303
    done = client.get(unchanged.headers["Location"])
    assert done.text.count('<th scope="row">') == 1  # the city only
    assert "0639062210" not in done.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["phone"] == submission.base["phone"] == "0639062210"


def test_a_refused_source_value_can_be_corrected(client: FlaskClient, runtime: Runtime) -> None:
    _dirty_phone(runtime, "C000002")
    path = _issue(runtime, "contact-update", "C000002")
    record = _record(runtime, "C000002")
    page = _pass_challenge_of(client, runtime, path, "C000002")
    corrected = client.post(path, data=_contact_answer(page, record, phone="+262 639 06 22 10"))
    assert corrected.status_code == 303
    done = client.get(corrected.headers["Location"])
    assert done.text.count('<th scope="row">') == 1
    assert "0639062210" in done.text  # before, as it was
    assert "+262 639 06 22 10" in done.text  # after, formatted


def test_concurrent_submits_store_one_submission(runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    document = runtime.intake.resolve(path.removeprefix("/f/"))
    record = _record(runtime)
    raw = {
        name: record[name]
        for name in ("address_line", "address_extra", "postcode", "email", "phone")
    }
    raw["city"] = "Lyon"
    barrier = threading.Barrier(4)
    receipts: list[Receipt] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait(timeout=30)
            receipts.append(
                runtime.intake.submit(document, raw, document.snapshot, locale="fr", opened_at=None)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({r.submission.id for r in receipts}) == 1
    assert sorted(r.repeated for r in receipts) == [False, True, True, True]
    assert [c.field for c in receipts[0].changes] == ["city"]
    with runtime.sessions() as session:
        assert _count(session, Submission) == 1


def test_no_token_or_personal_data_reaches_the_logs(
    client: FlaskClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _issue(runtime, "contact-update")
    token = path.removeprefix("/f/")
    record = _record(runtime)
    page = _pass_challenge(client, runtime, path)
    client.post(path, data=_contact_answer(page, record, postcode="0"))  # an error
    client.post(path, data=_contact_answer(page, record, city="Lyon"))
    client.get(path[:-3] + "AAA")  # a tampered link
    logged = "\n".join(str(vars(r)) for r in caplog.records)
    assert caplog.records, "the requests were logged"
    secrets_and_personal = [
        token,
        _document_id(path),
        record["last_name"],
        record["email"],
        record["address_line"],
        _birth_date(runtime),
        record["birth_date"].isoformat(),
    ]
    for value in secrets_and_personal:
        assert str(value) not in logged


def test_reopening_a_form_does_not_rewrite_the_session_cookie(
    client: FlaskClient, runtime: Runtime
) -> None:
    """The session only changes when its content does: no cookie re-signed on every page."""
    path = _issue(runtime, "consent-preferences")
    first = client.get(path)
    assert first.status_code == 200
    assert any(c.startswith("session=") for c in first.headers.getlist("Set-Cookie"))
    again = client.get(path)
    assert again.status_code == 200
    assert again.headers.getlist("Set-Cookie") == []
    # The CSRF token of the reopened page is still accepted.
    record = _record(runtime)
    fields = hidden_fields(again.text)
    data = {
        "csrf_token": fields["csrf_token"],
        "base": fields["base"],
        "preferred_channel": record["preferred_channel"],
        "interests": ["savings"],
    }
    response = client.post(path, data=data)
    assert response.status_code == 303
    data["csrf_token"] = "forged"
    assert client.post(path, data=data).status_code == 400
