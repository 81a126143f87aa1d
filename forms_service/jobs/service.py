"""Celery configured from the settings, the jobs it runs, and the service's JobQueue on it.

Workers start with `forms-service worker` or `celery -A forms_service.runtime.celery_app worker`.
The embedded default needs no server: messages are files under var/jobs/ (kombu's filesystem
transport) and results go to a SQLite file there. Production sets JOBS_BROKER_URL to a
redis:// or amqp:// URL. A job is a plain function of its area's tasks.py taking ids; the
composition root (forms_service.runtime) gives this module the table of jobs and the process's
runtime to run them with: jobs know no area and no runtime.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown
from sqlalchemy.exc import OperationalError

from forms_service.config import Settings
from forms_service.core.files import create_private_file
from forms_service.jobs.sweeps import Periodic

log = logging.getLogger(__name__)

#: Gives the process's runtime (built once, on first use in a worker).
RuntimeProvider = Callable[[], Any]
#: A job: a plain function taking the process's runtime and string ids.
Job = Callable[..., Any]


def broker_settings(given: Settings | Mapping[str, Any]) -> dict[str, Any]:
    """Celery configuration for `settings`: the broker, the result backend and reliability.

    JOBS_BROKER_URL defaults to "filesystem://" with folders under VAR_DIR/jobs;
    JOBS_RESULT_BACKEND to a SQLite file there; JOBS_EAGER runs jobs in the caller.
    """
    settings = Settings.of(given)
    var_dir = settings.var_dir
    broker = settings.jobs_broker_url
    backend = settings.jobs_result_backend
    config: dict[str, Any] = {
        "broker_url": broker,
        "result_backend": backend,
        # Progress lives in the service's own tables; results are not needed by anyone.
        "task_ignore_result": True,
        # A job is acknowledged once done: a worker that dies mid-page leaves it queued.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A job that runs longer than this (a decoder or Tesseract stuck on a hostile page) has
        # its pool process killed and replaced: the slot serves the next job. The page stays
        # "processing"; the recovery sweep sends it again, and after pages.MAX_ATTEMPTS runs
        # it goes to an operator as "worker_lost". A page takes seconds.
        "task_time_limit": settings.jobs_time_limit_seconds,
        "task_default_queue": settings.jobs_queue,
        "task_always_eager": settings.jobs_eager,
        "task_eager_propagates": True,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "accept_content": ["json"],
        "task_serializer": "json",
    }
    if broker.startswith("filesystem://"):
        folder = var_dir / "jobs" / "queue"
        processed = var_dir / "jobs" / "processed"
        for path in (folder, processed):
            path.mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(processed),
            # Exchange tables too, or kombu writes them to ./control of the working directory.
            "control_folder": str(var_dir / "jobs" / "control"),
            "store_processed": False,
        }
        # The folder is polled: every second by default, which would idle a worker that
        # reads a page in under a second between two looks.
        config["broker_transport_options"]["polling_interval"] = settings.jobs_poll_seconds
    if backend.startswith("db+sqlite:///"):
        create_private_file(Path(backend.removeprefix("db+sqlite:///")))
    if broker.startswith(("redis://", "rediss://")):
        # A page job not acknowledged (its worker was killed) comes back after this long;
        # kombu's default is an hour. Jobs are safe to run twice, and a page takes seconds.
        # Kombu looks for such jobs only every interval x throttle seconds (10 x 10 by
        # default, so up to 100 s late): one cheap look every JOBS_RESTORE_INTERVAL_SECONDS.
        options: dict[str, Any] = {
            "visibility_timeout": settings.jobs_visibility_timeout_seconds,
            "unacked_restore_interval": settings.jobs_restore_interval_seconds,
            "unacked_restore_throttle": 1,
        }
        if settings.jobs_redis_prefix:
            options["global_keyprefix"] = settings.jobs_redis_prefix
        config["broker_transport_options"] = options
    return config


def make_celery(
    given: Settings | Mapping[str, Any], runtime: RuntimeProvider, jobs: Mapping[str, Job]
) -> Celery:
    """A Celery app for `settings` with every job of `jobs` registered.

    Args:
        given: the service settings (or a mapping of setting names over the defaults).
        runtime: gives the runtime the jobs run with (the caller's own, or one built in the
            worker process on its first job).
        jobs: job name -> the function a worker runs with (runtime, *ids).
    """
    settings = Settings.of(given)
    app = Celery("forms_service", set_as_current=False)
    app.conf.update(broker_settings(settings))
    for name, job in jobs.items():
        _register(app, name, job, runtime)
    return app


def sweep_while_working(app: Celery, timer: Periodic) -> None:
    """Run the recovery sweep (jobs/sweeps.py) in the main process of `app`'s worker.

    Its own runtime, not the pool's: the main process forks the pool processes.
    """

    def start(sender: Any = None, **_kwargs: Any) -> None:
        if getattr(sender, "app", None) is app:
            timer.start()

    def stop(sender: Any = None, **_kwargs: Any) -> None:
        if getattr(sender, "app", None) is app:
            timer.stop()

    worker_ready.connect(start, weak=False)
    worker_shutdown.connect(stop, weak=False)


def warm_up_worker_processes(provider: RuntimeProvider) -> None:
    """Build each worker process's runtime when it starts, not on its first page."""

    def warm_up(**_kwargs: Any) -> None:
        try:
            provider()
        except Exception:  # the first job reports the same problem with its context
            log.exception("cannot build the worker's runtime")

    worker_process_init.connect(warm_up, weak=False)


def _register(app: Celery, name: str, job: Job, provider: RuntimeProvider) -> None:
    def run(*ids: str) -> Any:
        return job(provider(), *ids)

    run.__name__ = name.replace(".", "_")
    run.__doc__ = f"Job {name}: {job.__module__}:{job.__qualname__}."
    # Not shared: every app built (one per runtime) keeps only its own jobs. A database
    # that refuses a transaction for a moment (deadlock victim, connection lost) is retried:
    # jobs are idempotent.
    app.task(
        name=name,
        shared=False,
        autoretry_for=(OperationalError,),
        retry_backoff=1,
        retry_backoff_max=60,
        max_retries=8,
    )(run)


class CeleryJobQueue:
    """The JobQueue of the service, on a Celery app."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def enqueue(self, job: str, *ids: str) -> None:
        """Send `job` to the broker (or run it now when the app is eager)."""
        if job not in self.app.tasks:
            raise KeyError(f"unknown job {job!r}")
        self.app.tasks[job].apply_async(args=ids)


def build_job_queue(
    settings: Settings, runtime: RuntimeProvider, jobs: Mapping[str, Job]
) -> CeleryJobQueue:
    """The runtime's job queue; in eager mode (JOBS_EAGER) jobs run in the caller with `runtime`."""
    return CeleryJobQueue(make_celery(settings, runtime, jobs))
