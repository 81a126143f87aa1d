"""`forms-service definitions import-pdf`: a definition skeleton from an existing AcroForm PDF."""

from __future__ import annotations

import os
from pathlib import Path

import click

from forms_service.intake.pdf.skeleton import definition_skeleton, form_id_of
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.guard import PdfLimits, PdfRejected

#: An organisation's own forms can be long (a tax return has dozens of pages).
_IMPORT_LIMITS = PdfLimits(max_bytes=100 * 1024 * 1024, max_pages=500, max_fields=20000)


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
def import_pdf(pdf: Path, output: Path | None, form_id: str | None, title: str | None) -> None:
    """Turn an AcroForm PDF into a definition skeleton: names, types, choices, max lengths.

    The definition issues prefilled copies of this very PDF (`pdf_template`) and reads the
    returned copies; complete its source, key and each field's maps_to, then run
    `forms-service definitions check`.
    """
    try:
        form = read_pdf_form(pdf.read_bytes(), _IMPORT_LIMITS)
    except PdfRejected as exc:
        raise click.ClickException(f"{pdf}: {exc.reason}") from None
    if not form.has_fields:
        if form.xfa:
            raise click.ClickException(
                f"{pdf}: an XFA-only (dynamic) form has no AcroForm fields; save it as a "
                "static PDF form (Acrobat: Save As > Static PDF Form) and import that"
            )
        raise click.ClickException(f"{pdf}: no form fields (a flattened or scanned PDF?)")
    base = output.parent if output is not None else Path.cwd()
    template = os.path.relpath(pdf.resolve(), base.resolve())
    skeleton = definition_skeleton(
        form,
        form_id=form_id or form_id_of(pdf.name),
        title=title or pdf.stem,
        template_path=template,
    )
    text = skeleton.to_yaml(source_name=pdf.name)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    counts = ", ".join(f"{n} {t}" for t, n in sorted(skeleton.counts().items()))
    notes = [f"{len(skeleton.definition['fields'])} fields ({counts})"]
    if skeleton.skipped:
        notes.append(f"{len(skeleton.skipped)} left out")
    if form.xfa:
        notes.append("XFA form: its AcroForm part was read")
    click.echo(
        f"{pdf.name}: {'; '.join(notes)}"
        + (f"; written to {output}" if output is not None else "")
        + ". Complete source, key and maps_to.",
        err=True,
    )
