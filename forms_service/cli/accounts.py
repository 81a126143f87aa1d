"""`forms-service users …` and `forms-service api-tokens …`: back-office accounts."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from forms_service.accounts import sessions
from forms_service.accounts.service import (
    DEFAULT_TOKEN_LIFETIME,
    create_api_token,
    create_user,
    list_api_tokens,
    revoke_api_token,
    set_password,
)
from forms_service.cli.context import app_runtime
from forms_service.core.errors import NotFound
from forms_service.storage.model import User


@click.group()
def users() -> None:
    """Back-office accounts."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="clerk, supervisor, mailroom or admin (repeatable).",
)
@click.password_option()
@with_appcontext
def users_create(username: str, roles: tuple[str, ...], password: str) -> None:
    """Create a back-office user."""
    with app_runtime().sessions() as session, session.begin():
        create_user(session, username, password, roles, now=dt.datetime.now(dt.UTC))
    click.echo(f"user {username} created with roles {', '.join(roles)}")


@users.command("set-password")
@click.argument("username")
@click.password_option()
@with_appcontext
def users_set_password(username: str, password: str) -> None:
    """Give a user a new password; every session opened with the old one ends."""
    with app_runtime().sessions() as session, session.begin():
        ended = set_password(session, username, password, now=dt.datetime.now(dt.UTC))
    click.echo(f"password of {username} changed; {ended} session(s) ended")


@users.command("revoke-sessions")
@click.argument("username")
@with_appcontext
def users_revoke_sessions(username: str) -> None:
    """End every session of a user (their cookies are refused from the next request on)."""
    with app_runtime().sessions() as session, session.begin():
        user_id = session.execute(
            select(User.id).where(User.username == username)
        ).scalar_one_or_none()
        if user_id is None:
            raise NotFound(f"no user {username!r}", field="user")
        ended = sessions.revoke_all(session, user_id, now=dt.datetime.now(dt.UTC))
    click.echo(f"{ended} session(s) of {username} ended")


@click.group("api-tokens")
def api_tokens() -> None:
    """Integration tokens."""


@api_tokens.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, default=("integration",), show_default=True)
@click.option(
    "--user",
    "owner",
    metavar="USERNAME",
    help="The person the token belongs to; its decisions are theirs. Required for the roles "
    "that decide change sets (clerk, supervisor, admin), which the user must hold.",
)
@click.option(
    "--expires-days",
    type=click.IntRange(min=1),
    default=DEFAULT_TOKEN_LIFETIME.days,
    show_default=True,
    help="Days until the token is refused.",
)
@with_appcontext
def api_tokens_create(
    name: str, roles: tuple[str, ...], owner: str | None, expires_days: int
) -> None:
    """Create a token and print it once."""
    with app_runtime().sessions() as session, session.begin():
        token = create_api_token(
            session,
            name,
            roles,
            now=dt.datetime.now(dt.UTC),
            owner=owner,
            lifetime=dt.timedelta(days=expires_days),
        )
    click.echo(token)


@api_tokens.command("list")
@with_appcontext
def api_tokens_list() -> None:
    """Every token: name, owner, roles, created, expires, last used, revoked (never a secret)."""
    with app_runtime().sessions() as session:
        listed = list_api_tokens(session)
    columns = ("name", "owner", "roles", "created", "expires", "last used", "revoked")
    click.echo("\t".join(columns))
    for token in listed:
        click.echo(
            "\t".join(
                [
                    token.name,
                    token.owner or "-",
                    token.roles,
                    _moment(token.created_at),
                    _moment(token.expires_at),
                    _moment(token.last_used_at),
                    _moment(token.revoked_at),
                ]
            )
        )


def _moment(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@api_tokens.command("revoke")
@click.argument("name")
@with_appcontext
def api_tokens_revoke(name: str) -> None:
    """Revoke a token: it is refused from the next request on."""
    with app_runtime().sessions() as session, session.begin():
        revoke_api_token(session, name, now=dt.datetime.now(dt.UTC))
    click.echo(f"token {name} revoked")
