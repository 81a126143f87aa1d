"""The real Celery worker reads scanned pages: on the real Redis, and on the filesystem broker.

A worker process is started with `celery -A forms_service.runtime.celery_app worker`, configured
like production through FORMS_* variables (same database, file store and secrets as the test
app); the test app only queues. Redis keys carry a private prefix that is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import update

from forms_service.intake.mailroom import queries
from forms_service.intake.mailroom.service import Upload
from forms_service.jobs.service import CeleryJobQueue
from forms_service.runtime import Runtime
from forms_service.storage.scans import PageStatus, ScanPage
from tests.conftest import REDIS_URL
from tests.mailroom_scans import as_pdf, issue, scanned_page
from tests.ocr_pages import Answers

pytestmark = pytest.mark.slow

FORM = "contact-update"
#: How long a worker may take to start and read three pages before the test gives up.
PATIENCE_SECONDS = 180


@pytest.fixture(params=["redis", "filesystem"])
def broker(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Broker settings of one test: the real Redis with a private key prefix, or local folders."""
    if request.param == "filesystem":
        yield {}
        return
    prefix = f"forms-test-{os.getpid()}-{secrets.token_hex(4)}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield {
        "JOBS_BROKER_URL": REDIS_URL,
        "JOBS_REDIS_PREFIX": prefix,
        "JOBS_QUEUE": f"forms-test-{secrets.token_hex(4)}",
    }
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def app_settings(app_settings: dict[str, Any], broker: dict[str, str]) -> dict[str, Any]:
    """The test app queues jobs on the broker (never runs them itself)."""
    return {**app_settings, **broker, "JOBS_EAGER": False}


def _env(settings: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMS_")}
    for name in (
        "VAR_DIR", "DATABASE_URL", "FILE_STORE_DIR", "DEFINITIONS_DIR", "BASE_URL",
        "JOBS_BROKER_URL", "JOBS_REDIS_PREFIX", "JOBS_QUEUE",
        "SWEEP_INTERVAL_SECONDS", "SWEEP_AFTER_SECONDS",
    ):  # fmt: skip
        if name in settings:
            env[f"FORMS_{name}"] = str(settings[name])
    env["FORMS_CONNECTORS"] = json.dumps(settings["CONNECTORS"])
    env["OMP_THREAD_LIMIT"] = "1"
    return env


@contextlib.contextmanager
def _running(command: list[str], settings: dict[str, Any], log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=_env(settings), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _close_celery_app(runtime: Runtime) -> None:
    """Close the test's own Celery app (its broker connections) once the worker has stopped."""
    assert isinstance(runtime.jobs, CeleryJobQueue)
    runtime.jobs.app.close()


def _worker_command(settings: dict[str, Any], *options: str) -> list[str]:
    queue = str(settings.get("JOBS_QUEUE", "forms_service"))
    return [
        sys.executable, "-m", "celery", "-A", "forms_service.runtime.celery_app", "worker",
        "--loglevel=INFO", "-Q", queue,
        "--without-gossip", "--without-mingle", "--without-heartbeat", *options,
    ]  # fmt: skip


@pytest.fixture
def worker(app_settings: dict[str, Any], runtime: Runtime, tmp_path: Path) -> Iterator[Path]:
    """A real worker process on the test's broker; its log file."""
    log = tmp_path / "worker.log"
    command = _worker_command(app_settings, "--pool=prefork", "--concurrency=2")
    with _running(command, app_settings, log):
        yield log
    _close_celery_app(runtime)


def _settled(runtime: Runtime, batch_id: str) -> queries.BatchView:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        with runtime.sessions() as session:
            batch = queries.batch(session, batch_id)
        if batch.status == "done" or time.monotonic() > deadline:
            return batch
        time.sleep(0.5)


def test_worker_reads_a_batch_queued_by_the_service(runtime: Runtime, worker: Path) -> None:
    documents = [issue(runtime, FORM, f"C00000{n}") for n in (1, 2)]
    pages = [
        scanned_page(runtime, documents[0], FORM, Answers(texts={"city": "TOULOUSE"})),
        scanned_page(runtime, documents[1], FORM),
        scanned_page(runtime, documents[1], FORM),
    ]
    received = runtime.mailroom.receive(
        [Upload("batch.pdf", as_pdf(pages))], source="api", actor="test"
    )
    with runtime.sessions() as session:
        # Stored and queued, not read: this process runs no job.
        assert queries.batch(session, received.id).counts == {"queued": 3}

    batch = _settled(runtime, received.id)
    assert batch.status == "done", worker.read_text()[-3000:]
    first, *twins = [(p.status.value, p.exception) for p in batch.pages]
    assert first == ("submitted", None)
    # Jobs may run in any order: whichever copy is read second is the duplicate.
    assert sorted(twins, key=str) == [("exception", "duplicate_page"), ("submitted", None)]
    assert all(p.attempts == 1 for p in batch.pages)
    assert "mailroom.read_page" in worker.read_text()


def test_worker_command_sends_again_pages_left_waiting(
    app_settings: dict[str, Any], runtime: Runtime, tmp_path: Path
) -> None:
    class BrokerDown:
        def enqueue(self, job: str, *ids: str) -> None:
            raise ConnectionError("broker unreachable")

    working, runtime.mailroom.jobs = runtime.mailroom.jobs, BrokerDown()
    document = issue(runtime, FORM, "C000003")
    page = scanned_page(runtime, document, FORM, Answers(texts={"city": "ALBI"}))
    received = runtime.mailroom.receive(
        [Upload("late.pdf", as_pdf([page]))], source="cli", actor="t"
    )
    runtime.mailroom.jobs = working
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(ScanPage)
            .where(ScanPage.batch_id == received.id)
            .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )

    log = tmp_path / "worker.log"
    command = [
        str(Path(sys.executable).parent / "forms-service"), "worker", "--pool", "solo",
        "--requeue-after-minutes", "10",
    ]  # fmt: skip
    with _running(command, app_settings, log):
        batch = _settled(runtime, received.id)
    _close_celery_app(runtime)
    assert batch.status == "done", log.read_text()[-3000:]
    assert [p.status for p in batch.pages] == [PageStatus.SUBMITTED]
    assert "page(s) left waiting were queued again" in log.read_text()


def test_running_workers_send_again_pages_whose_message_was_lost_once(
    app_settings: dict[str, Any], runtime: Runtime, tmp_path: Path
) -> None:
    """Two workers keep running while a batch's messages are lost (a flushed Redis, a broker
    restarted without persistence): their sweeps send each page again once, nobody restarts."""

    class Lost:
        def enqueue(self, job: str, *ids: str) -> None:
            pass  # accepted, then gone

    # Sweeps every half second for what waited a minute: a page being read is never re-sent.
    settings = {**app_settings, "SWEEP_INTERVAL_SECONDS": 0.5, "SWEEP_AFTER_SECONDS": 60}
    logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
    documents = [issue(runtime, FORM, f"C00000{n}") for n in (4, 5)]
    pages = [
        scanned_page(runtime, documents[0], FORM, Answers(texts={"city": "DIJON"})),
        scanned_page(runtime, documents[1], FORM),
    ]
    with contextlib.ExitStack() as running:
        for n, log in enumerate(logs, start=1):
            command = _worker_command(settings, "--pool=solo", f"--hostname=sweeper{n}@%h")
            running.enter_context(_running(command, settings, log))
        working, runtime.mailroom.jobs = runtime.mailroom.jobs, Lost()
        received = runtime.mailroom.receive(
            [Upload("lost.pdf", as_pdf(pages))], source="api", actor="test"
        )
        runtime.mailroom.jobs = working
        with runtime.sessions() as session, session.begin():
            session.execute(
                update(ScanPage)
                .where(ScanPage.batch_id == received.id)
                .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
            )
        batch = _settled(runtime, received.id)
    _close_celery_app(runtime)
    output = "\n".join(log.read_text() for log in logs)
    assert batch.status == "done", output[-3000:]
    assert [p.status for p in batch.pages] == [PageStatus.SUBMITTED, PageStatus.SUBMITTED]
    assert all(p.attempts == 1 for p in batch.pages)  # each page read once
    sent = [line for line in output.splitlines() if "page(s) sent again" in line]
    assert len(sent) == 1 and "2 page(s) sent again" in sent[0], output[-3000:]
