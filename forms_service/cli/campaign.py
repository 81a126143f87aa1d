"""The `issue --pdf` side of the CLI: a campaign run with a progress bar (rate, time left)."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from forms_service.connectors.interfaces import Selection
from forms_service.issuing.campaign import CampaignPlan, count_keys, run_campaign
from forms_service.runtime import Runtime, worker_issuing


def issue_pdfs(
    runtime: Runtime,
    form_id: str,
    selection: Selection,
    campaign: str,
    manifest: Path,
    pdf_dir: Path,
    merge: int | None,
    jobs: int,
) -> None:
    """Issue and render a campaign, then say what was done and where the files are."""
    if manifest.suffix != ".csv":
        raise click.UsageError("with --pdf the manifest is a .csv file")
    plan = CampaignPlan(
        form_id=form_id,
        campaign=campaign,
        selection=selection,
        out_dir=pdf_dir,
        merge=merge,
        jobs=jobs,
    )
    total = count_keys(runtime.issuing, plan)
    with tqdm(total=total, unit="doc", desc=f"{form_id} {campaign}", smoothing=0.1) as bar:
        summary = run_campaign(
            runtime.issuing,
            worker_issuing(runtime.settings),
            plan,
            manifest,
            progress=bar.update,
        )
    click.echo(
        f"{summary.created} documents issued, {summary.documents - summary.created} already "
        f"issued in campaign {campaign!r}; {summary.rendered} PDFs rendered into {pdf_dir}, "
        f"{summary.documents - summary.rendered} already there; manifest: {summary.manifest}"
    )
