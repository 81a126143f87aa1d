"""`forms-service users …` and `forms-service api-tokens …`: back-office accounts."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from forms_service.accounts.service import DEFAULT_TOKEN_LIFETIME, create_api_token, create_user
from forms_service.cli.context import app_runtime


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
