"""`forms-service audit …`: check the append-only audit log."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from forms_service.cli.context import app_runtime


@click.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first edited or deleted row."""
    from forms_service.audit import service as audit_log
    from forms_service.storage.model import AuditEvent

    with app_runtime().sessions() as session:
        report = audit_log.verify(session)
        if report.ok:
            click.echo(f"ok: {report.events} audit events, chain intact")
            return
        row = session.get(AuditEvent, report.broken_at) if report.broken_at else None
        where = (
            f"row {row.id} ({row.kind} at {row.at.isoformat()})"
            if row is not None
            else f"row {report.broken_at}"
        )
    click.echo(f"error: audit chain broken at {where}: {report.reason}", err=True)
    sys.exit(1)
