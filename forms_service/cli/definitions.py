"""`forms-service definitions …`: check the form definitions, import a PDF form."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forms_service.cli.pdf import import_pdf
from forms_service.config import load_settings
from forms_service.consent.rules import load_contact_rules, rules_path
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


definitions.add_command(import_pdf)
