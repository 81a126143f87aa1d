"""`forms-service definitions import-pdf`: a definition skeleton from an existing AcroForm PDF."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import click

from forms_service.intake.pdf.skeleton import definition_skeleton, form_id_of
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.guard import PdfLimits, PdfRejected
from forms_service.pdfforms.labels import printed_labels

#: An organisation's own forms can be long (a tax return has dozens of pages).
_IMPORT_LIMITS = PdfLimits(max_bytes=100 * 1024 * 1024, max_pages=500, max_fields=20000)


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """The warnings of pypdf and pdfminer (logging and `warnings`), kept from the terminal.

    They speak of objects and offsets ("incorrect startxref pointer") before, or instead of,
    the command's own message; the reader already decides what a damaged file means.
    """
    loggers = [logging.getLogger(name) for name in ("pypdf", "pdfminer", "pdfplumber")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _xfa_only(pdf: Path) -> click.ClickException:
    return click.ClickException(
        f"{pdf}: an XFA-only (dynamic) form has no AcroForm fields to read; save it as "
        "a static PDF form (Acrobat: Save As > Static PDF Form) and import that"
    )


@click.command("import-pdf")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the skeleton here (default: print it).",
)
@click.option("--id", "form_id", help="Definition id (default: from the file name).")
@click.option("--title", help="Form title (default: the PDF's file name).")
@click.option(
    "--fields",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Import only the fields whose full name matches: a glob (*Email*; write [ as [[]) "
    "or re:REGEX (whole name). Repeatable.",
)
def import_pdf(
    pdf: Path,
    output: Path | None,
    form_id: str | None,
    title: str | None,
    patterns: tuple[str, ...],
) -> None:
    """Turn an AcroForm PDF into a definition skeleton: names, types, choices, max lengths.

    The definition issues prefilled copies of this very PDF (`pdf_template`) and reads the
    returned copies; complete its source, key and each field's maps_to, then run
    `forms-service definitions check`.
    """
    for pattern in patterns:
        if pattern.startswith("re:"):
            try:
                re.compile(pattern[3:])
            except re.error as exc:
                raise click.BadParameter(f"{pattern!r}: {exc}", param_hint="--fields") from None
    content = pdf.read_bytes()
    with _quiet_libraries():
        try:
            form = read_pdf_form(content, _IMPORT_LIMITS)
        except PdfRejected as exc:
            raise click.ClickException(f"{pdf}: {exc.reason}") from None
        if form.xfa and not form.has_fields:
            raise _xfa_only(pdf)
        if not form.has_fields:
            raise click.ClickException(f"{pdf}: no form fields (a flattened or scanned PDF?)")
        untitled = [f for f in form.fields.values() if not f.tooltip]
        try:
            printed = printed_labels(content, untitled)
        except Exception:  # labels are a help: a page pdfplumber cannot lay out gives none
            printed = {}
    base = output.parent if output is not None else Path.cwd()
    template = os.path.relpath(pdf.resolve(), base.resolve())
    skeleton = definition_skeleton(
        form,
        form_id=form_id or form_id_of(pdf.name),
        title=title or pdf.stem,
        template_path=template,
        printed=printed,
        only=patterns,
    )
    if form.xfa and not skeleton.definition["fields"] and not patterns:
        raise _xfa_only(pdf)  # only hidden or read-only stand-ins of the XFA fields
    if patterns and not skeleton.matched:
        raise click.ClickException(
            f"{pdf}: no field matches --fields {' '.join(patterns)} "
            f"(the form has {len(form.fields)}; import without --fields to see their names)"
        )
    text = skeleton.to_yaml(source_name=pdf.name)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    counts = ", ".join(f"{n} {t}" for t, n in sorted(skeleton.counts().items()))
    notes = [f"{len(skeleton.definition['fields'])} fields ({counts})"]
    if skeleton.matched is not None:
        notes.insert(0, f"{skeleton.matched} of {len(form.fields)} fields matched --fields")
    if skeleton.shared_states:
        notes.append(
            f"{len(skeleton.shared_states)} radio group(s) with buttons sharing an export value "
            "(listed in the header)"
        )
    if skeleton.skipped:
        notes.append(f"{len(skeleton.skipped)} left out")
    if form.xfa:
        notes.append(
            "XFA form"
            + (" (dynamic: /NeedsRendering)" if form.xfa_only else "")
            + ": its AcroForm part was read; issued copies drop the XFA"
        )
    click.echo(
        f"{pdf.name}: {'; '.join(notes)}"
        + (f"; written to {output}" if output is not None else "")
        + ". Complete source, key and maps_to.",
        err=True,
    )
