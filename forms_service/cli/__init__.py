"""The `forms-service` command: Flask's CLI group plus the service's own groups."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import FlaskGroup

from forms_service.cli import (
    accounts,
    audit,
    consent,
    database,
    definitions,
    delivery,
    demo,
    issuing,
    local_servers,
    mailroom,
    outbox,
    worker,
)
from forms_service.core.errors import ConfigurationError, FormsError
from forms_service.definitions.service import DefinitionError


def _create_app() -> Any:
    from forms_service.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """forms_service: issue documents, collect answers, write back to source systems."""


def main() -> None:
    """Entry point of the console script: errors become one clear line and exit code 2."""
    try:
        cli.main(prog_name="forms-service")
    except (DefinitionError, ConfigurationError) as exc:
        click.echo(f"error: cannot start:\n{exc}", err=True)
        sys.exit(2)
    except FormsError as exc:
        where = f" ({exc.field})" if exc.field else ""
        click.echo(f"error{where}: {exc.reason}", err=True)
        sys.exit(1)


for _command in (
    database.db,
    definitions.definitions,
    issuing.issue,
    issuing.unlock_identity,
    accounts.users,
    accounts.api_tokens,
    outbox.outbox,
    audit.audit,
    consent.consent,
    demo.demo,
    mailroom.mailroom,
    worker.worker,
    delivery.send,
    delivery.delivery,
    local_servers.mail_server,
    local_servers.sms_gateway,
):
    cli.add_command(_command)
