"""`forms-service demo …`: the demo used by `make run`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from forms_service.cli.context import app_runtime
from forms_service.runtime import Runtime


@click.group()
def demo() -> None:
    """The demo used by `make run`."""


@demo.command("init")
@click.option("--customers", default=1200, show_default=True)
@with_appcontext
def demo_init(customers: int) -> None:
    """Create the demo CRM, accounts and documents; print where to go."""
    from forms_service.demo.campaign import prepare_demo_contacts
    from forms_service.demo.service import (
        create_demo_crm,
        demo_letters,
        demo_links,
        ensure_demo_accounts,
    )

    runtime = app_runtime()
    crm = runtime.settings.connectors["crm"]["url"]
    count = create_demo_crm(crm, customers)
    prepare_demo_contacts(crm)
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
    click.echo(
        f"  admin      user {credentials.admin_user}  password {credentials.admin_password}"
        f"  (the local mailbox: {base}/backoffice/dev/mail)"
    )
    click.echo(f"  (the mailroom's scan upload: {base}/mailroom)")
    letters = demo_letters(runtime, runtime.settings.var_dir / "demo-letters")
    click.echo("\nDemo letters (fill in a PDF reader and upload at the link + /upload, or print,")
    click.echo("write in the boxes, scan and drop the scan in the mailroom):")
    for letter in letters:
        click.echo(f"  {letter}")
    click.echo(f"\nAPI: {base}/api/docs  token {credentials.api_token}\n")


@demo.command("send")
@click.option(
    "--wait",
    default=60.0,
    show_default=True,
    help="Seconds to wait for the local mail server and SMS gateway to answer.",
)
@with_appcontext
def demo_send(wait: float) -> None:
    """Queue the demo campaign's e-mails and SMS (the worker sends them); print where to read."""
    from forms_service.cli.delivery import describe
    from forms_service.demo.campaign import send_demo_campaign, wait_for_servers, where_to_read

    runtime = app_runtime()
    missing = wait_for_servers(runtime.settings, wait)
    if missing:
        click.echo(
            f"not answering after {wait:g} s: {', '.join(missing)}; the messages wait and are "
            "retried until it does",
            err=True,
        )
    plan = send_demo_campaign(runtime)
    click.echo("\nDemo campaign (the job worker sends it):")
    click.echo(describe(plan))
    for line in where_to_read(runtime.settings):
        click.echo(f"  {line}")
    click.echo(
        "  C000003's e-mail address is at undeliverable.example: the local mail server bounces "
        "it, and its documents fall back to SMS (see a document's history in the back office)"
    )
    click.echo("")


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
