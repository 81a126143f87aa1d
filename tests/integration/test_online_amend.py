"""Issue 15, point 6: an answer is corrected from the same link until it is processed.

The correction supersedes the pending answer in the same change set (one change set, never
two applied), the first answer is kept as history, a clerk's screen of the old rows is
stale; once a clerk or the policy has processed anything, the correction is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.changes.model import StaleChangeSet
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    AuditEvent,
    ChangeSet,
    FieldChangeRow,
    Submission,
    SubmissionStatus,
)
from tests.integration.test_online_form import (
    _contact_answer,
    _issue,
    _pass_challenge,
    _record,
)


def _answer(client: FlaskClient, runtime: Runtime, path: str, **changes: str) -> Any:
    page = _pass_challenge(client, runtime, path)
    sent = client.post(path, data=_contact_answer(page, _record(runtime), **changes))
    assert sent.status_code == 303
    return client.get(sent.headers["Location"])


def _amend(client: FlaskClient, runtime: Runtime, path: str, **changes: str) -> Any:
    page = client.get(f"{path}/amend")
    assert page.status_code == 200
    data = _contact_answer(page.text, _record(runtime), **changes)
    return client.post(f"{path}/amend", data=data)


def _change_sets(runtime: Runtime) -> list[ChangeSet]:
    with runtime.sessions() as session:
        return list(session.scalars(select(ChangeSet)))


def _proposed(runtime: Runtime, change_set_id: str) -> dict[str, str | None]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(FieldChangeRow).where(FieldChangeRow.change_set_id == change_set_id)
        )
        return {row.field: row.proposed for row in rows}


def test_a_correction_supersedes_the_answer_in_the_same_change_set(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    done = _answer(client, runtime, path, address_line="12 rue des Lilas", city="Lyin")
    assert 'id="amend-link"' in done.text
    (first,) = _change_sets(runtime)
    assert _proposed(runtime, first.id)["city"] == "Lyin"
    # The form again, holding the answer sent.
    page = client.get(f"{path}/amend")
    assert 'value="Lyin"' in page.text and 'id="amending"' in page.text
    assert "data-draft=" not in page.text  # a correction keeps no draft
    corrected = _amend(client, runtime, path, address_line="12 rue des Lilas", city="Lyon")
    assert corrected.status_code == 303
    assert corrected.headers["Location"].endswith("/done?amended=1")
    receipt = client.get(corrected.headers["Location"])
    assert 'id="amended"' in receipt.text and "Lyon" in receipt.text and "Lyin" not in receipt.text
    # Still one change set, the same one, now the correction's, with a new version.
    (after,) = _change_sets(runtime)
    assert after.id == first.id and after.version == first.version + 1
    assert _proposed(runtime, after.id)["city"] == "Lyon"
    with runtime.sessions() as session:
        answers = {s.id: s for s in session.scalars(select(Submission))}
        kinds = list(session.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))
    assert len(answers) == 2  # history kept
    old = answers[first.submission_id]
    assert old.status is SubmissionStatus.SUPERSEDED and old.values["city"] == "Lyin"
    assert answers[after.submission_id].values["city"] == "Lyon"
    assert kinds[-1] == "amended"
    # A clerk's screen of the old rows is stale: nothing decided on what the customer replaced.
    with pytest.raises(StaleChangeSet):
        runtime.changes.accept(first.id, "city", actor="clerk1", version=first.version)


def test_once_a_clerk_decided_the_answer_can_no_longer_be_corrected(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    _answer(client, runtime, path, address_line="12 rue des Lilas", city="Lyon")
    opened_before = client.get(f"{path}/amend").text  # the correction page, opened first
    (change_set,) = _change_sets(runtime)
    runtime.changes.accept(change_set.id, "city", actor="clerk1", version=change_set.version)
    done = client.get(f"{path}/done")
    assert 'id="amend-link"' not in done.text
    assert client.get(f"{path}/amend").headers["Location"].endswith("/done")
    # A correction posted from the page opened before the decision is refused, and says so.
    data = _contact_answer(opened_before, _record(runtime), city="Lyon 3e")
    refused = client.post(f"{path}/amend", data=data)
    assert refused.status_code == 303 and "late=1" in refused.headers["Location"]
    assert 'id="late"' in client.get(refused.headers["Location"]).text
    (unchanged,) = _change_sets(runtime)
    assert unchanged.submission_id == change_set.submission_id
    with runtime.sessions() as session:
        assert len(list(session.scalars(select(Submission)))) == 1


def test_an_answer_the_policy_applied_at_once_cannot_be_corrected(
    client: FlaskClient, runtime: Runtime
) -> None:
    path = _issue(runtime, "contact-update")
    done = _answer(client, runtime, path, phone="0611223344")
    assert 'id="amend-link"' not in done.text
    assert client.get(f"{path}/amend").status_code == 302
    assert len(_change_sets(runtime)) == 1
