"""`forms-service definitions …`: check the form definitions, import a PDF form."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import click

from forms_service.cli.pdf import import_pdf
from forms_service.config import Settings, load_settings
from forms_service.connectors.interfaces import Connector
from forms_service.connectors.service import build_connectors
from forms_service.consent.rules import load_contact_rules, rules_path
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.organisation import FILE, FOLDER, NEUTRAL, load_organisation
from forms_service.definitions.service import DefinitionError, load_definitions


@click.group()
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
        organisation = load_organisation(directory, required=settings.env == "production")
        rules = load_contact_rules(directory)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    from forms_service.delivery.messages import check_message
    from forms_service.issuing.layout import LayoutError, layout
    from forms_service.issuing.letter import LetterError, letter_of

    sources = build_connectors(settings.connectors)
    print_problems = 0
    for definition in loaded.values():
        try:
            letter_of(definition)
            layout(definition)
        except (LetterError, LayoutError) as exc:
            click.echo(f"error: {Path(definition.path).name}: {exc}", err=True)
            print_problems += 1
            continue
        message_problems = check_message(
            definition,
            base_url=settings.base_url,
            short_link_base_url=settings.short_link_base_url,
        )
        message_problems += _contact_problems(settings, sources, definition)
        for message_problem in message_problems:
            click.echo(f"error: {Path(definition.path).name}: {message_problem}", err=True)
        if message_problems:
            print_problems += 1
            continue
        click.echo(
            f"ok: {Path(definition.path).name}: {definition.id} v{definition.version}, "
            f"{len(definition.fields)} fields"
        )
    if print_problems:
        sys.exit(1)
    if rules_path(directory).is_file():
        click.echo(
            f"ok: {rules.path}: {len(rules.caps)} caps, {len(rules.calendars)} calendars, "
            f"{len(rules.capacity)} channel capacities ({rules.time_zone.key})"
        )
    click.echo(
        f"ok: organisation: {organisation.name_in('fr')}"
        + ("" if organisation is not NEUTRAL else f" (no {FOLDER}/{FILE}: a neutral name)")
    )


def _contact_problems(
    settings: Settings, sources: Mapping[str, Connector], definition: FormDefinition
) -> list[str]:
    """The `contact:` columns the source's record type lacks, when the source can tell."""
    from forms_service.delivery.channels import contact_problems

    if definition.contact is None:
        return []
    columns = _source_columns(settings, sources, definition)
    if columns is None:
        click.echo(
            f"note: {Path(definition.path).name}: the source does not say its columns: "
            "the contact: columns are not checked",
            err=True,
        )
        return []
    return contact_problems(definition.contact, columns)


def _source_columns(
    settings: Settings, sources: Mapping[str, Connector], definition: FormDefinition
) -> set[str] | None:
    """The record type's columns: configured in CONNECTORS, else as the connector reads them.

    None when neither can tell (no columns configured and the source unreachable or empty):
    the configured ones come first so that a check before `demo init` (no CRM yet) works.
    """
    source = definition.source
    config = settings.connectors.get(source.connector, {}).get("record_types", {})
    configured = config.get(source.record_type, {}).get("columns")
    if isinstance(configured, Mapping) and configured:
        return set(configured)
    connector = sources.get(source.connector)
    if connector is None:
        return None
    try:
        return set(connector.columns(source.record_type)) or None
    except Exception:  # any reason the source cannot answer: unreachable, no table yet
        return None


definitions.add_command(import_pdf)
