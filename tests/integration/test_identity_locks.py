"""Issue 18, point 4: the identity question's locks escalate; its answers' digests are keyed.

The probes: 5 guesses per 30 minutes for ever (about 240 a day, enough to find a birth date
within a link's life), and digests a copy of the database alone could reverse in 0.1 s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html

from flask.testing import FlaskClient
from sqlalchemy import select, update

from forms_service.cli import cli
from forms_service.issuing.identity import KEYED, legacy_digest
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditEvent, Document
from tests.integration.test_online_form import (
    _answer_challenge,
    _birth_date,
    _document_id,
    _issue,
)

WRONG = {"birth_date": "01/01/1900"}


def _document(runtime: Runtime, document_id: str) -> Document:
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        session.expunge(document)
    return document


def _guess_until_locked(client: FlaskClient, runtime: Runtime, path: str) -> Document:
    for _ in range(runtime.settings.challenge_max_failures):
        assert _answer_challenge(client, path, WRONG).status_code == 422
    return _document(runtime, _document_id(path))


def _expire_lock(runtime: Runtime, document_id: str) -> None:
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(challenge_locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


def test_each_lock_lasts_longer_and_the_last_until_an_adviser_unlocks(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    document_id = _document_id(path)
    start = dt.datetime.now(dt.UTC)
    first = _guess_until_locked(client, runtime, path)
    assert first.challenge_locks == 1 and first.challenge_locked_until is not None
    assert first.challenge_locked_until - start < dt.timedelta(minutes=31)
    locked = _answer_challenge(client, path, {"birth_date": _birth_date(runtime)})
    assert locked.status_code == 429
    assert "Trop de réponses erronées" in html.unescape(locked.text)
    _expire_lock(runtime, document_id)
    second = _guess_until_locked(client, runtime, path)
    assert second.challenge_locks == 2 and second.challenge_locked_until is not None
    assert second.challenge_locked_until - start > dt.timedelta(hours=5, minutes=59)
    _expire_lock(runtime, document_id)
    third = _guess_until_locked(client, runtime, path)
    assert third.challenge_locks == 3 and third.challenge_blocked_at is not None
    # Blocked: whatever the time, the page says so before any guess, the right answer is refused.
    _expire_lock(runtime, document_id)
    page = client.get(path)
    assert page.status_code == 429
    assert "un conseiller peut le débloquer" in html.unescape(page.text)
    with runtime.sessions() as session:
        kinds = list(
            session.execute(
                select(AuditEvent.kind).where(AuditEvent.document_id == document_id)
            ).scalars()
        )
    assert kinds.count("identity_locked") == 2 and kinds.count("identity_blocked") == 1
    assert kinds.count("challenge_failed") == 15  # at most 15 guesses in the link's life
    # The adviser unlocks it (having checked who is asking): the right answer opens the form.
    reference = third.reference
    runner = client.application.test_cli_runner()
    done = runner.invoke(cli, ["unlock-identity", reference.lower(), "--by", "adviser.dupont"])
    assert done.exit_code == 0, done.output
    assert runner.invoke(cli, ["unlock-identity", reference, "--by", "x"]).exit_code != 0
    opened = _answer_challenge(client, path, {"birth_date": _birth_date(runtime)})
    assert opened.status_code == 303
    with runtime.sessions() as session:
        unlocked = session.execute(
            select(AuditEvent).where(AuditEvent.kind == "identity_unlocked")
        ).scalar_one()
    assert unlocked.actor == "cli:adviser.dupont" and unlocked.detail["blocked"] is True


def test_a_right_answer_after_a_lock_does_not_give_the_guesses_back(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    _guess_until_locked(client, runtime, path)
    _expire_lock(runtime, _document_id(path))
    assert _answer_challenge(client, path, {"birth_date": _birth_date(runtime)}).status_code == 303
    document = _document(runtime, _document_id(path))
    assert document.challenge_locks == 1  # the next lock is the long one
    assert document.challenge_failures == 0 and document.challenge_locked_until is None


def test_the_page_says_how_locks_escalate_in_french_and_english(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    french = html.unescape(client.get(path).text)
    assert (
        "Après 5 réponses erronées, le formulaire est bloqué 30 minutes, la fois suivante "
        "6 heures, puis jusqu'à ce que vous nous contactiez." in french
    )
    english = html.unescape(client.get(path + "?lang=en").text)
    assert (
        "After 5 wrong answers the form is locked for 30 minutes, the next time for 6 hours, "
        "and after that until you contact us." in english
    )


def test_answers_are_stored_as_keyed_digests(client: FlaskClient, runtime: Runtime) -> None:
    """A salted SHA-256 beside its salt gave a birth date away from the database alone."""
    path = _issue(runtime, "contact-update")
    document = _document(runtime, _document_id(path))
    salt = document.challenge_digests["salt"]
    stored = document.challenge_digests["birth_date"]
    iso = _birth_date(runtime)
    day, month, year = iso.split("/")
    answer = f"{year}-{month}-{day}"
    assert stored.startswith(KEYED)
    assert stored != legacy_digest(salt, answer)
    # Whoever holds the database but not IDENTITY_ANSWER_KEY cannot test a guess.
    assert hashlib.sha256(f"{salt}\x00{answer}".encode()).hexdigest() not in stored
    assert _answer_challenge(client, path, {"birth_date": iso}).status_code == 303


def test_a_document_issued_with_a_legacy_digest_still_verifies_and_is_upgraded(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    document_id = _document_id(path)
    iso = _birth_date(runtime)
    day, month, year = iso.split("/")
    salt = "00" * 16
    old = {"salt": salt, "birth_date": legacy_digest(salt, f"{year}-{month}-{day}")}
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(Document).where(Document.id == document_id).values(challenge_digests=old)
        )
    assert _answer_challenge(client, path, WRONG).status_code == 422
    assert _document(runtime, document_id).challenge_digests == old  # a wrong one changes none
    assert _answer_challenge(client, path, {"birth_date": iso}).status_code == 303
    upgraded = _document(runtime, document_id).challenge_digests
    assert upgraded["salt"] == salt
    assert upgraded["birth_date"].startswith(KEYED)
    other = client.application.test_client()  # a new browser answers against the new digest
    assert _answer_challenge(other, path, {"birth_date": iso}).status_code == 303
    assert _answer_challenge(other.application.test_client(), path, WRONG).status_code == 422
