"""`forms-service consent`: import the source's opt-in columns, report, show a customer."""

from __future__ import annotations

import dataclasses
import json

import click
from flask.cli import with_appcontext

from forms_service.cli.context import app_runtime
from forms_service.consent.customers import Customer
from forms_service.consent.imports import import_opt_ins
from forms_service.consent.ledger import CONSENTABLE_PURPOSES
from forms_service.core.errors import NotFound


@click.group("consent")
def consent() -> None:
    """The consent ledger: imports from the source, unknown customers, a customer's history."""


@consent.command("import")
@click.option("--form", "form_id", required=True, help="The form whose contact.opt_in is read.")
@click.option(
    "--purpose",
    type=click.Choice(CONSENTABLE_PURPOSES),
    default="commercial",
    show_default=True,
    help="What the opt-in columns agree to.",
)
@click.option(
    "--prefer",
    type=click.Choice(["crm", "ledger"]),
    help="Settle disagreements: the source's value as a new event, or the ledger's written "
    "to the source (default: only count them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_appcontext
def import_(form_id: str, purpose: str, prefer: str | None, as_json: bool) -> None:
    """Read the opt-in columns of a form's source into the ledger (a rerun adds nothing)."""
    runtime = app_runtime()
    definition = runtime.definitions.get(form_id)
    if definition is None:
        raise NotFound(f"unknown form {form_id!r}", field="form")
    report = import_opt_ins(
        runtime.sessions,
        runtime.consent_ledger,
        runtime.consent,
        definition,
        runtime.connectors[definition.source.connector],
        purpose=purpose,
        prefer=prefer,  # type: ignore[arg-type]
        clock=runtime.clock,
    )
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2, sort_keys=True))
        return
    click.echo(
        f"{report.records} records: {report.imported} imported, {report.agreed} agreed, "
        f"{report.disagreed} disagreed, {report.blank} blank"
    )
    if prefer:
        click.echo(
            f"settled: {report.written_to_source} written to the source, "
            f"{report.recorded_from_source} recorded from the source"
        )
    click.echo(f"in the ledger but not in the source (kept): {report.not_in_source}")


@consent.command("unknown")
@click.option("--limit", default=20, show_default=True, help="Customer keys listed.")
@with_appcontext
def unknown(limit: int) -> None:
    """Consent events kept for customers the source did not know when they were written."""
    runtime = app_runtime()
    with runtime.sessions() as session:
        count, keys = runtime.consent_ledger.unknown_customers(session, limit=limit)
    click.echo(f"{count} event(s) for customers unknown to their source")
    for key in keys:
        click.echo(f"  {key}")


@consent.command("history")
@click.option("--source", required=True, help="connector/record type, e.g. crm/customer.")
@click.option("--key", required=True, help="The record's key (customer number).")
@with_appcontext
def history(source: str, key: str) -> None:
    """What a customer agreed to, when, through what and on which wording (newest first)."""
    connector, _, record_type = source.partition("/")
    customer = Customer(connector, record_type, key)
    runtime = app_runtime()
    with runtime.sessions() as session:
        records = runtime.consent_ledger.history(session, customer.key)
    if not records:
        click.echo("nothing recorded")
    for r in records:
        who = r.actor or "customer"
        click.echo(
            f"{r.at.isoformat()} {r.purpose}/{r.channel}: {r.state.value} "
            f"({r.source}, {r.via or '-'}, {who}) wording {r.text_hash or 'unknown'}"
        )
        if r.text:
            click.echo(f"    {r.text!r}")
