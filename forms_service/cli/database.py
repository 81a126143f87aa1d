"""`forms-service db …`: database migrations."""

from __future__ import annotations

import click

from forms_service.config import load_settings
from forms_service.storage import migrate


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations to the configured database."""
    url = load_settings().database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at revision {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the database back to REVISION (for example 'base')."""
    migrate.downgrade(load_settings().database_url, revision)
    click.echo(f"database at revision {revision}")
