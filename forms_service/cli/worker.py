"""`forms-service worker`: a job worker on the configured broker."""

from __future__ import annotations

import os

import click

from forms_service.config import ensure_secrets, load_settings


@click.command("worker")
@click.option("--concurrency", type=int, default=None, help="Processes (default: CPU cores).")
@click.option(
    "--pool",
    default="prefork",
    show_default=True,
    type=click.Choice(["prefork", "solo", "threads"]),
)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option(
    "--requeue-after-minutes",
    default=10,
    show_default=True,
    help="At start, send again pages left queued this long (0: do not).",
)
def worker(concurrency: int | None, pool: str, loglevel: str, requeue_after_minutes: int) -> None:
    """Run a job worker on the configured broker (the embedded default needs no server).

    The same as `celery -A forms_service.runtime.celery_app worker`, after sending again the
    pages a previous crash or a lost message left waiting.
    """
    import datetime as dt

    from forms_service.runtime import build_runtime, worker_celery

    settings = ensure_secrets(load_settings())
    if requeue_after_minutes > 0:
        runtime = build_runtime(settings)
        count = runtime.mailroom.requeue(older_than=dt.timedelta(minutes=requeue_after_minutes))
        runtime.engine.dispose()
        if count:
            click.echo(f"{count} page(s) left waiting were queued again")
    app = worker_celery(settings)
    argv = ["worker", f"--pool={pool}", f"--loglevel={loglevel}"]
    if pool != "solo":
        argv.append(f"--concurrency={concurrency or os.cpu_count() or 1}")
    app.worker_main(argv)
