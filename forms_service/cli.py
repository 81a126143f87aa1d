"""The `forms-service` command: Flask's CLI group plus the service's own commands."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from forms_service.accounts.service import create_api_token, create_user
from forms_service.cli_mailroom import mailroom, worker
from forms_service.cli_pdf import import_pdf
from forms_service.config import load_settings
from forms_service.connectors.interfaces import Selection
from forms_service.definitions.service import DefinitionError, load_definitions
from forms_service.errors import ConfigurationError, FormsError
from forms_service.runtime import Runtime
from forms_service.storage import migrate


def _create_app() -> Any:
    from forms_service.app import create_app

    return create_app()


def _runtime() -> Runtime:
    built: Runtime = current_app.extensions["forms_service"]
    return built


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """forms_service: issue documents, collect answers, write back to source systems."""


# -- database -----------------------------------------------------------------------------


@cli.group()
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


# -- definitions --------------------------------------------------------------------------


@cli.group()
def definitions() -> None:
    """Form definitions."""


@definitions.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def definitions_check(directory: Path | None) -> None:
    """Load and check every definition; list every problem with its file and field."""
    settings = load_settings()
    directory = directory or settings.definitions_dir
    connectors = {n: c.get("record_types", {}) for n, c in settings.connectors.items()}
    try:
        loaded = load_definitions(directory, connectors=connectors)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    from forms_service.issuing.layout import LayoutError, layout
    from forms_service.issuing.letter import LetterError, letter_of

    print_problems = 0
    for definition in loaded.values():
        try:
            letter_of(definition)
            layout(definition)
        except (LetterError, LayoutError) as exc:
            click.echo(f"error: {Path(definition.path).name}: {exc}", err=True)
            print_problems += 1
            continue
        click.echo(
            f"ok: {Path(definition.path).name}: {definition.id} v{definition.version}, "
            f"{len(definition.fields)} fields"
        )
    if print_problems:
        sys.exit(1)


definitions.add_command(import_pdf)


# -- issuing ------------------------------------------------------------------------------


@cli.command("issue")
@click.option("--form", "form_id", required=True, help="Form id, e.g. contact-update.")
@click.option("--keys", help="Comma-separated record keys.")
@click.option("--where", help='Conditions such as "city=Lyon and postcode^=69".')
@click.option("--all", "everyone", is_flag=True, help="Every record of the source.")
@click.option("--campaign", help="Campaign name (default: today's date).")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Manifest file (.csv or .json); default var/manifests/<form>-<campaign>.csv.",
)
@click.option(
    "--pdf",
    "pdf_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the PDFs to this folder (a rerun with the same --campaign resumes).",
)
@click.option("--merge", type=int, help="With --pdf: merged print files of N documents each.")
@click.option("--jobs", type=int, default=1, show_default=True, help="With --pdf: processes.")
@with_appcontext
def issue(
    form_id: str,
    keys: str | None,
    where: str | None,
    everyone: bool,
    campaign: str | None,
    manifest: Path | None,
    pdf_dir: Path | None,
    merge: int | None,
    jobs: int,
) -> None:
    """Issue a form to records: one document and link each, written to a manifest."""
    chosen = [bool(keys), bool(where), everyone]
    if sum(chosen) != 1:
        raise click.UsageError("give exactly one of --keys, --where or --all")
    if keys:
        selection = Selection(keys=tuple(k.strip() for k in keys.split(",") if k.strip()))
    elif where:
        selection = Selection.parse_where(where)
    else:
        selection = Selection(all=True)
    runtime = _runtime()
    campaign = campaign or dt.date.today().isoformat()
    if manifest is None:
        manifest = runtime.settings.var_dir / "manifests" / f"{form_id}-{campaign}.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    if pdf_dir is not None:
        from forms_service.campaign_cli import issue_pdfs

        issue_pdfs(runtime, form_id, selection, campaign, manifest, pdf_dir, merge, jobs)
        return
    if merge is not None or jobs != 1:
        raise click.UsageError("--merge and --jobs go with --pdf DIR")
    created = reused = 0
    rows = []
    for line in runtime.issuing.issue(form_id, selection, campaign, actor="cli"):
        rows.append(
            {
                "key": line.key,
                "document_id": line.document_id,
                "reference": line.reference,
                "link": line.link,
                "expires_at": line.expires_at.isoformat(),
            }
        )
        created += line.created
        reused += not line.created
    _write_manifest(manifest, rows)
    click.echo(
        f"{created} documents issued, {reused} already issued in campaign {campaign!r}; "
        f"manifest: {manifest}"
    )
    missing = sorted(set(selection.keys) - {row["key"] for row in rows})
    if missing:  # a typo in --keys must not go unnoticed
        click.echo(
            f"warning: {len(missing)} key(s) not found in the source: {', '.join(missing)}",
            err=True,
        )


def _write_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = ["key", "document_id", "reference", "link", "expires_at"]
    if path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=2))
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


# -- accounts -----------------------------------------------------------------------------


@cli.group()
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
    with _runtime().sessions() as session, session.begin():
        create_user(session, username, password, roles, now=dt.datetime.now(dt.UTC))
    click.echo(f"user {username} created with roles {', '.join(roles)}")


@cli.group("api-tokens")
def api_tokens() -> None:
    """Integration tokens."""


@api_tokens.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, default=("integration",), show_default=True)
@with_appcontext
def api_tokens_create(name: str, roles: tuple[str, ...]) -> None:
    """Create a token and print it once."""
    with _runtime().sessions() as session, session.begin():
        token = create_api_token(session, name, roles, now=dt.datetime.now(dt.UTC))
    click.echo(token)


# -- write-back and audit ------------------------------------------------------------------


@cli.group()
def outbox() -> None:
    """Write approved changes back to the source systems."""


def _counts_line(counts: dict[str, int]) -> str:
    if not counts:
        return "nothing due"
    return ", ".join(f"{count} {what}" for what, count in sorted(counts.items()))


@outbox.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--poll", default=5.0, show_default=True, help="Seconds to wait when idle.")
@with_appcontext
def outbox_run(once: bool, poll: float) -> None:
    """Deliver due outbox messages (and propose answers left without a change set)."""
    import signal
    import time

    from sqlalchemy.exc import InterfaceError, OperationalError

    from forms_service.changes.tasks import deliver_due_messages

    runtime = _runtime()
    stopping: list[int] = []
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, _frame: stopping.append(number))
    while True:
        try:
            counts = deliver_due_messages(runtime)
            dead = runtime.outbox.dead_letters()
        except (OperationalError, InterfaceError) as exc:
            # The service database is down or restarting: wait, the pool reconnects.
            if once:
                raise
            click.echo(f"outbox: database unavailable ({type(exc).__name__}), retrying", err=True)
            time.sleep(poll)
            continue
        if counts or once:
            click.echo(f"outbox: {_counts_line(counts)}")
        if dead and (once or counts.get("dead")):
            click.echo(
                f"alert: {len(dead)} dead letter(s), message ids "
                f"{', '.join(map(str, dead[:20]))}: repair the source, then "
                "`forms-service outbox requeue ID`",
                err=True,
            )
        if once or stopping:
            return
        if not counts:
            time.sleep(poll)


@outbox.command("requeue")
@click.argument("message_id", type=int)
@click.option("--actor", default="cli", show_default=True, help="Who sends it again.")
@with_appcontext
def outbox_requeue(message_id: int, actor: str) -> None:
    """Send a dead-lettered message again."""
    _runtime().outbox.requeue(message_id, actor=actor)
    click.echo(f"message {message_id} queued again")


@cli.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first edited or deleted row."""
    from forms_service.audit import service as audit_log
    from forms_service.storage.model import AuditEvent

    with _runtime().sessions() as session:
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


# -- demo ---------------------------------------------------------------------------------


@cli.group()
def demo() -> None:
    """The demo used by `make run`."""


@demo.command("init")
@click.option("--customers", default=1200, show_default=True)
@with_appcontext
def demo_init(customers: int) -> None:
    """Create the demo CRM, accounts and documents; print where to go."""
    from forms_service.demo.service import (
        create_demo_crm,
        demo_letters,
        demo_links,
        ensure_demo_accounts,
    )

    runtime = _runtime()
    crm = runtime.settings.connectors["crm"]["url"]
    count = create_demo_crm(crm, customers)
    credentials = ensure_demo_accounts(runtime)
    links = demo_links(runtime)
    base = runtime.settings.base_url
    click.echo(f"\nDemo CRM: {count} customers ({crm})")
    click.echo("\nDemo links (customer answers):")
    for form_id, key, link in links:
        hint = _challenge_hint(runtime, form_id, key)
        click.echo(f"  {form_id:<20} {key}  {link}{hint}")
    click.echo(f"\nBack office: {base}/backoffice")
    click.echo(f"  clerk      user {credentials.clerk_user}  password {credentials.clerk_password}")
    click.echo(
        f"  supervisor user {credentials.supervisor_user}  "
        f"password {credentials.supervisor_password}"
    )
    click.echo(
        f"  mailroom   user {credentials.mailroom_user}  password {credentials.mailroom_password}"
    )
    click.echo(f"  (the mailroom's scan upload: {base}/mailroom)")
    letters = demo_letters(runtime, runtime.settings.var_dir / "demo-letters")
    click.echo("\nDemo letters (fill in a PDF reader and upload at the link + /upload, or print,")
    click.echo("write in the boxes, scan and drop the scan in the mailroom):")
    for letter in letters:
        click.echo(f"  {letter}")
    click.echo(f"\nAPI: {base}/api/docs  token {credentials.api_token}\n")


def _challenge_hint(runtime: Runtime, form_id: str, key: str) -> str:
    definition = runtime.definitions[form_id]
    if not definition.challenge:
        return ""
    record = (
        runtime.connectors[definition.source.connector].read(definition.source.record_type, key)
        or {}
    )
    answers = []
    for question in definition.challenge:
        value = question.parse(record.get(question.maps_to))
        answers.append(f"{question.name}={question.type.display(value, 'fr', ())}")
    return "  (demo identity answer: " + ", ".join(answers) + ")"


cli.add_command(mailroom)
cli.add_command(worker)


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
