"""Four eyes are two people: a web user and the token they own are one person (issue 18)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from forms_service.accounts.service import (
    DEFAULT_TOKEN_LIFETIME,
    create_api_token,
    find_api_token,
)
from forms_service.cli import cli
from forms_service.core.errors import InvalidInput, NotFound
from forms_service.demo.service import ensure_demo_accounts
from forms_service.runtime import Runtime
from forms_service.storage.model import ApiToken, FieldChangeRow, FieldChangeStatus, User
from tests.integration.reviewing import add_token, add_user, answer, csrf_of, sign_in

IBAN = "FR76 3000 6000 0112 3456 7890 189"
ZERO = dt.timedelta(0)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _iban(runtime: Runtime, change_set_id: str) -> FieldChangeRow:
    view = runtime.changes.change_set(change_set_id)
    return next(r for r in view.rows if r.field == "iban")  # type: ignore[return-value]


def test_one_person_on_the_web_and_with_a_token_is_one_reviewer(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "bank-details", {"iban": IBAN, "mandate": True})
    add_user(runtime, "clerk1", ["clerk"])
    add_user(runtime, "clerk2", ["clerk"])
    assert sign_in(client, "clerk1") == 303
    page = client.get(f"/backoffice/change-sets/{change_set_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    first = client.post(
        f"/backoffice/change-sets/{change_set_id}/fields/iban/accept",
        data={"csrf_token": csrf_of(page.text), "version": version.group(1)},
    )
    assert first.status_code == 303
    assert _iban(runtime, change_set_id).status is FieldChangeStatus.AWAITING_SECOND

    own = add_token(runtime, "clerk1-bot", ["clerk"], owner="clerk1")
    version_now = runtime.changes.change_set(change_set_id).version
    again = client.post(
        f"/api/v1/change-sets/{change_set_id}/fields/iban/accept",
        json={"version": version_now},
        headers=_auth(own),
    )
    assert again.status_code == 403
    assert again.json is not None and again.json["code"] == "four_eyes"
    assert "second, different person" in again.json["reason"]
    assert _iban(runtime, change_set_id).status is FieldChangeStatus.AWAITING_SECOND

    other = add_token(runtime, "clerk2-bot", ["clerk"], owner="clerk2")
    done = client.post(
        f"/api/v1/change-sets/{change_set_id}/fields/iban/accept",
        json={"version": version_now},
        headers=_auth(other),
    )
    assert done.status_code == 200
    row = _iban(runtime, change_set_id)
    assert row.status is FieldChangeStatus.ACCEPTED  # the mandate line still waits
    assert (row.first_reviewer, row.second_reviewer) == ("clerk1", "clerk2")


def test_a_token_without_an_owner_reads_but_decides_nothing(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    legacy = add_token(runtime, "old-bot", ["integration"])
    with runtime.sessions() as session, session.begin():  # as the migration leaves old tokens
        session.execute(
            update(ApiToken).where(ApiToken.name == "old-bot").values(roles="clerk,integration")
        )
    assert (
        client.get(f"/api/v1/change-sets/{change_set_id}", headers=_auth(legacy)).status_code == 200
    )
    version = runtime.changes.change_set(change_set_id).version
    refused = client.post(
        f"/api/v1/change-sets/{change_set_id}/approve",
        json={"version": version},
        headers=_auth(legacy),
    )
    assert refused.status_code == 403
    assert refused.json is not None and refused.json["code"] == "token_without_owner"
    assert "belongs to no person" in refused.json["reason"]
    assert "--user" in refused.json["reason"]
    assert runtime.changes.change_set(change_set_id).version == version


def test_a_deciding_token_needs_an_owner_holding_its_roles(runtime: Runtime) -> None:
    add_user(runtime, "clerk1", ["clerk"])
    now = dt.datetime.now(dt.UTC)
    with runtime.sessions() as session, session.begin():
        with pytest.raises(InvalidInput, match="--user") as ownerless:
            create_api_token(session, "bot", ["clerk"], now=now)
        assert ownerless.value.field == "user"
        with pytest.raises(InvalidInput, match="supervisor"):
            create_api_token(session, "bot", ["supervisor"], now=now, owner="clerk1")
        with pytest.raises(NotFound):
            create_api_token(session, "bot", ["clerk"], now=now, owner="nobody")
        with pytest.raises(InvalidInput):
            create_api_token(session, "bot", ["clerk"], now=now, owner="clerk1", lifetime=ZERO)
        create_api_token(session, "feed", ["integration"], now=now)  # decides nothing: no owner
        create_api_token(session, "bot", ["clerk"], now=now, owner="clerk1")
        stored = session.execute(select(ApiToken).where(ApiToken.name == "bot")).scalar_one()
        assert stored.expires_at is not None
        assert stored.expires_at - now == DEFAULT_TOKEN_LIFETIME


def test_an_expired_token_is_refused_like_an_unknown_one(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "clerk1", ["clerk"])
    token = add_token(runtime, "bot", ["clerk"], owner="clerk1")
    assert client.get("/api/v1/change-sets", headers=_auth(token)).status_code == 200
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(ApiToken)
            .where(ApiToken.name == "bot")
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    expired = client.get("/api/v1/change-sets", headers=_auth(token))
    unknown = client.get("/api/v1/change-sets", headers=_auth("fst_not-a-token"))
    assert expired.status_code == unknown.status_code == 401
    assert expired.json == unknown.json


def test_a_deactivated_owner_s_token_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    add_user(runtime, "clerk1", ["clerk"])
    token = add_token(runtime, "bot", ["clerk"], owner="clerk1")
    with runtime.sessions() as session, session.begin():
        session.execute(update(User).where(User.username == "clerk1").values(active=False))
    assert client.get("/api/v1/change-sets", headers=_auth(token)).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(client: FlaskClient, runtime: Runtime) -> None:
    token = add_token(runtime, "feed", ["integration"])
    assert client.get("/api/v1/change-sets", headers=_auth(token)).status_code == 200
    with runtime.sessions() as session:
        used = session.execute(
            select(ApiToken.last_used_at).where(ApiToken.name == "feed")
        ).scalar_one()
    assert used is not None
    updates: list[str] = []

    def count(_c: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("UPDATE"):
            updates.append(sql)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        for seconds, written in ((30, 0), (59, 0), (61, 1), (90, 1), (125, 2)):
            with runtime.sessions() as session:
                found = find_api_token(session, token, now=used + dt.timedelta(seconds=seconds))
                session.commit()
            assert found is not None and found.owner_id is None
            assert len(updates) == written, seconds
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    with runtime.sessions() as session:
        last = session.execute(
            select(ApiToken.last_used_at).where(ApiToken.name == "feed")
        ).scalar_one()
    assert last == used + dt.timedelta(seconds=125)


def test_the_cli_makes_owned_expiring_tokens(app: Flask, runtime: Runtime) -> None:
    add_user(runtime, "clerk1", ["clerk"])
    runner = app.test_cli_runner()
    refused = runner.invoke(cli, ["api-tokens", "create", "bot", "--role", "clerk"])
    assert refused.exit_code != 0
    assert "--user" in str(refused.exception) or "--user" in refused.output
    made = runner.invoke(
        cli,
        [
            "api-tokens",
            "create",
            "bot",
            "--role",
            "clerk",
            "--user",
            "clerk1",
            "--expires-days",
            "30",
        ],
    )
    assert made.exit_code == 0, made.output
    assert made.output.strip().startswith("fst_")
    with runtime.sessions() as session:
        stored = session.execute(select(ApiToken).where(ApiToken.name == "bot")).scalar_one()
        owner = session.execute(select(User).where(User.username == "clerk1")).scalar_one()
    assert stored.owner_id == owner.id
    assert stored.expires_at is not None
    assert dt.timedelta(days=29) < stored.expires_at - stored.created_at <= dt.timedelta(days=30)
    assert runner.invoke(cli, ["api-tokens", "create", "x", "--expires-days", "0"]).exit_code == 2


def test_the_demo_token_is_owned_by_a_demo_user(runtime: Runtime) -> None:
    credentials = ensure_demo_accounts(runtime)
    with runtime.sessions() as session:
        found = find_api_token(session, credentials.api_token, now=dt.datetime.now(dt.UTC))
    assert found is not None and found.owner_name == credentials.mailroom_user
