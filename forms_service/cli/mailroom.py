"""`forms-service mailroom …`: scans from files or a watched folder."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from types import FrameType

import click
from flask.cli import with_appcontext

from forms_service.cli.context import app_runtime
from forms_service.intake.mailroom.service import Upload
from forms_service.intake.mailroom.watch import FolderImport, import_folder, watch


@click.group()
def mailroom() -> None:
    """Scanned paper returns."""


@mailroom.command("import")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--watch",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Watch this folder: each new file is a batch, then moves to done/ or failed/.",
)
@click.option("--name", default=None, help="The batch's name (else the scanner's or the file's).")
@click.option("--once", is_flag=True, help="With --watch: take what is there now and stop.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between looks.")
@with_appcontext
def mailroom_import(
    files: tuple[Path, ...], folder: Path | None, name: str | None, once: bool, interval: float
) -> None:
    """Store FILE… as one batch (PDF, TIFF, PNG, JPEG), or watch a folder; pages are read as jobs."""
    if bool(files) == bool(folder):
        raise click.UsageError("give either FILE… or --watch DIR")
    service = app_runtime().mailroom
    if files:
        # By path: counted and stored from disk, up to MAILROOM_MAX_BATCH_BYTES in all.
        uploads = [Upload(path.name, path=path) for path in files]
        batch = service.receive(uploads, source="cli", actor="cli", name=name)
        click.echo(f"batch {batch.id}: {batch.files} file(s), {batch.pages} page(s) queued")
        return
    assert folder is not None  # noqa: S101 - checked above
    folder.mkdir(parents=True, exist_ok=True)
    if once:
        for outcome in import_folder(service, folder, actor="watch", settle=0):
            _report(outcome)
        return
    running = [True]

    def stop(_signum: int, _frame: FrameType | None) -> None:
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"watching {folder} every {interval:g} s (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        watch(
            service,
            folder,
            actor="watch",
            interval=interval,
            report=_report,
            keep_going=lambda: running[0],
        )


def _report(outcome: FolderImport) -> None:
    if outcome.batch is not None:
        click.echo(f"{outcome.path.name}: batch {outcome.batch.id}, {outcome.batch.pages} page(s)")
    else:
        click.echo(f"{outcome.path.name}: refused: {outcome.error}", err=True)


@mailroom.command("requeue")
@click.option("--older-than-minutes", default=10, show_default=True)
@with_appcontext
def mailroom_requeue(older_than_minutes: int) -> None:
    """Send again the jobs of pages left queued (a lost message or a worker that died)."""
    import datetime as dt

    count = app_runtime().mailroom.requeue(older_than=dt.timedelta(minutes=older_than_minutes))
    click.echo(f"{count} page(s) queued again")


@mailroom.command("accuracy")
@with_appcontext
def mailroom_accuracy() -> None:
    """Record clerks' decisions on scanned values and print the accuracy per field type."""
    import datetime as dt

    from forms_service.intake.mailroom.corrections import accuracy_summary, record_corrections

    runtime = app_runtime()
    with runtime.sessions() as session, session.begin():
        added = record_corrections(session, runtime.definitions, now=dt.datetime.now(dt.UTC))
    with runtime.sessions() as session:
        lines = accuracy_summary(session)
    click.echo(f"{added} new decision(s) recorded")
    click.echo(f"{'field type':<16} {'engine':<12} {'checked':>8} {'corrected':>9} {'accuracy':>9}")
    for line in lines:
        click.echo(
            f"{line.field_type:<16} {line.engine:<12} {line.checked:>8} {line.corrected:>9} "
            f"{line.accuracy:>9.1%}"
        )
