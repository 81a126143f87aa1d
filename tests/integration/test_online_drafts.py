"""Save and resume: the answer in progress is kept on the server, sealed, and resumed anywhere.

On SQLite and PostgreSQL: what the page posts is kept encrypted; another browser, after the
identity question, starts from it; a value changed in the source since is shown before
sending; a refused answer is kept without any script; the answer sent, nothing is kept.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from flask.testing import FlaskClient
from sqlalchemy import select, update

from forms_service.runtime import Runtime
from forms_service.storage.drafts import Draft
from tests.conftest import hidden_fields
from tests.integration.reviewing import change_source
from tests.integration.test_online_form import (
    _contact_answer,
    _document_id,
    _issue,
    _pass_challenge,
    _record,
)


def _draft(client: FlaskClient, path: str, page: str, runtime: Runtime, **changes: str) -> object:
    data = _contact_answer(page, _record(runtime), **changes)
    return client.post(f"{path}/draft", data=data)


def _rows(runtime: Runtime) -> list[Draft]:
    with runtime.sessions() as session:
        return list(session.execute(select(Draft)).scalars())


def test_an_answer_in_progress_is_resumed_in_another_browser(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    page = _pass_challenge(client, runtime, path)
    saved = _draft(client, path, page, runtime, city="Lyon", postcode="69003")
    assert saved.status_code == 200  # type: ignore[attr-defined]
    assert re.fullmatch(r"Enregistré à \d{2}:\d{2}", saved.json["status"])  # type: ignore[attr-defined]
    (row,) = _rows(runtime)
    # Sealed: nothing of the answer is readable in the database.
    assert "Lyon" not in row.sealed and "69003" not in row.sealed
    assert row.expires_at > dt.datetime.now(dt.UTC)

    # Meanwhile the source changes a field the customer did not touch.
    key = "C000001"
    change_source(runtime, key, {"address_line": "7 quai Saint-Vincent"})
    other = client.application.test_client()
    resumed = _pass_challenge(other, runtime, path)
    assert "Nous avons repris la réponse que vous aviez commencée le" in resumed
    fields = dict(
        re.findall(r'<input[^>]*name="(city|postcode|address_line)"[^>]*value="([^"]*)"', resumed)
    )
    assert fields["city"] == "Lyon" and fields["postcode"] == "69003"
    # The untouched box shows the live value, and the change is listed before sending.
    assert fields["address_line"] == "7 quai Saint-Vincent"
    changed = re.search(r'<li data-changed="1">([^<]+)</li>', html.unescape(resumed))
    assert changed is not None and "→ 7 quai Saint-Vincent" in changed.group(1)

    # The answer sent from there, nothing more is kept.
    answer = _contact_answer(resumed, _record(runtime), city="Lyon", postcode="69003")
    assert other.post(path, data=answer).status_code == 303
    assert _rows(runtime) == []


def test_a_refused_answer_is_kept_without_any_script(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    page = _pass_challenge(client, runtime, path)
    refused = client.post(
        path, data=_contact_answer(page, _record(runtime), city="Lyon", postcode="1")
    )
    assert refused.status_code == 422
    assert len(_rows(runtime)) == 1
    again = client.get(path).text
    assert 'name="city"' in again and 'value="Lyon"' in again


def test_drafts_are_refused_without_identity_or_token_and_forgotten_once_expired(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    stranger = client.application.test_client()
    challenge = stranger.get(path).text
    token = hidden_fields(challenge)["csrf_token"]
    blocked = stranger.post(f"{path}/draft", data={"csrf_token": token, "city": "Lyon"})
    assert blocked.status_code == 403
    page = _pass_challenge(client, runtime, path)
    no_csrf = {
        k: v for k, v in _contact_answer(page, _record(runtime)).items() if k != "csrf_token"
    }
    assert client.post(f"{path}/draft", data=no_csrf).status_code == 400
    forged = {**_contact_answer(page, _record(runtime)), "base": "s1.forged"}
    assert client.post(f"{path}/draft", data=forged).status_code == 400
    assert _rows(runtime) == []
    _draft(client, path, page, runtime, city="Lyon")
    with runtime.sessions() as session, session.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.execute(update(Draft).values(expires_at=past))
    assert "Nous avons repris" not in client.get(path).text
    assert runtime.intake.drafts is not None and runtime.intake.drafts.purge_expired() == 1
    assert _document_id(path)


def test_the_recovery_sweep_deletes_expired_drafts_and_keeps_the_others(
    client: FlaskClient, runtime: Runtime
) -> None:
    from forms_service.jobs.sweeps import SweepSettings, SweepTimer

    expired_path = _issue(runtime, "contact-update", "C000001")
    _draft(
        client, expired_path, _pass_challenge(client, runtime, expired_path), runtime, city="Lyon"
    )
    kept_path = _issue(runtime, "contact-update", "C000002")
    other = client.application.test_client()
    from tests.integration.test_online_form import _pass_challenge_of

    kept_page = _pass_challenge_of(other, runtime, kept_path, "C000002")
    data = _contact_answer(kept_page, _record(runtime, "C000002"), city="Lyon")
    assert other.post(f"{kept_path}/draft", data=data).status_code == 200
    with runtime.sessions() as session, session.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.execute(
            update(Draft)
            .where(Draft.document_id == _document_id(expired_path))
            .values(expires_at=past)
        )
    # The worker's sweep timer, as `worker_celery` starts it, with this process's runtime.
    swept = SweepTimer(lambda: runtime, SweepSettings(interval=60)).run_round()
    assert swept is not None and swept.drafts == 1
    assert [row.document_id for row in _rows(runtime)] == [_document_id(kept_path)]
