"""`api-tokens list|revoke` and `users set-password|revoke-sessions` (issue 18)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from forms_service.cli import cli
from forms_service.runtime import Runtime
from tests.integration.reviewing import PASSWORD, add_token, add_user, sign_in


def test_tokens_are_listed_without_their_secret_and_revoked_by_name(
    app: Flask, client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "clerk1", ["clerk"])
    feed = add_token(runtime, "feed", ["integration"])
    owned = add_token(runtime, "desk", ["clerk"], owner="clerk1")
    headers = {"Authorization": f"Bearer {feed}"}
    assert client.get("/api/v1/submissions", headers=headers).status_code == 200
    runner = app.test_cli_runner()
    listed = runner.invoke(cli, ["api-tokens", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split("\t") == [
        "name", "owner", "roles", "created", "expires", "last used", "revoked"
    ]  # fmt: skip
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert rows["desk"][1:3] == ["clerk1", "clerk"]
    assert rows["desk"][5] == "-"  # never used
    assert rows["feed"][1] == "-" and rows["feed"][5].endswith("UTC")  # used just now
    assert feed not in listed.output and owned not in listed.output
    assert "fst_" not in listed.output
    revoked = runner.invoke(cli, ["api-tokens", "revoke", "feed"])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/submissions", headers=headers).status_code == 401
    again = runner.invoke(cli, ["api-tokens", "list"])
    feed_row = next(line for line in again.output.splitlines() if line.startswith("feed\t"))
    assert feed_row.split("\t")[6].endswith("UTC")
    assert runner.invoke(cli, ["api-tokens", "revoke", "feed"]).exit_code != 0
    unknown = runner.invoke(cli, ["api-tokens", "revoke", "nope"])
    assert unknown.exit_code != 0 and "nope" in unknown.output + str(unknown.exception)


def test_a_new_password_or_a_revoke_ends_the_users_sessions(app: Flask, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    browser = app.test_client()
    assert sign_in(browser, "clerk") == 303
    runner = app.test_cli_runner()
    changed = runner.invoke(
        cli, ["users", "set-password", "clerk"], input="another password!\nanother password!\n"
    )
    assert changed.exit_code == 0, changed.output
    assert "1 session(s) ended" in changed.output
    assert browser.get("/backoffice/").status_code == 302
    assert sign_in(browser, "clerk", PASSWORD) == 401
    assert sign_in(browser, "clerk", "another password!") == 303
    ended = runner.invoke(cli, ["users", "revoke-sessions", "clerk"])
    assert ended.exit_code == 0 and "1 session(s) of clerk ended" in ended.output
    assert browser.get("/backoffice/").status_code == 302
