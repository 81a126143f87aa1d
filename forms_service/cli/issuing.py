"""`forms-service issue`: documents and links for records, written to a manifest."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from forms_service.cli.context import app_runtime
from forms_service.connectors.interfaces import Selection


@click.command("issue")
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
    runtime = app_runtime()
    campaign = campaign or dt.date.today().isoformat()
    if manifest is None:
        manifest = runtime.settings.var_dir / "manifests" / f"{form_id}-{campaign}.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    if pdf_dir is not None:
        from forms_service.cli.campaign import issue_pdfs

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


@click.command("unlock-identity")
@click.argument("reference")
@click.option("--by", "actor", required=True, help="Who unlocks it (the adviser), for the audit.")
@with_appcontext
def unlock_identity(reference: str, actor: str) -> None:
    """Let the customer of document REFERENCE answer its identity question again.

    After repeated wrong answers a document is locked for 30 minutes, then for hours, then
    until an adviser, having checked who is asking, unlocks it with this command.
    """
    app_runtime().issuing.unlock_identity(reference, actor=f"cli:{actor}")
    click.echo(f"document {reference}: the identity question accepts answers again")


def _write_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = ["key", "document_id", "reference", "link", "expires_at"]
    if path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=2))
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
