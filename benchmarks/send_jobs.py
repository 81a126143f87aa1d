"""The whole send path: a campaign queued (message rows, `delivery.send_batch` jobs), then sent.

What `forms-service send --campaign` and `forms-service worker` do in the embedded default
(SQLite, the filesystem broker under var/jobs/), measured against the bare smtplib loop of
benchmarks/send.py in the same run, to the same aiosmtpd server:

- enqueue: `DeliveryService.send_campaign` for N issued documents (each record read from the
  demo CRM, its channel chosen, its row written, its job queued), messages per second;
- end to end: from the start of the enqueue until the server received the N-th e-mail, with
  one and with two worker processes (`celery … worker --pool=solo` each, started and ready
  before the clock starts): the job layer's pick-up, claim, render (the form's own message),
  SMTP hand-over and record, per message.

    .venv/bin/python benchmarks/send_jobs.py [--count 2000]
    .venv/bin/python benchmarks/send_jobs.py --postgres "$FORMS_TEST_POSTGRES_URL" \
        --broker "$FORMS_TEST_REDIS_URL"     # the production stack: PostgreSQL and Redis

With --postgres (an administrator's URL), each run creates a database of its own and drops it
after; with --broker, the jobs go to a queue of the run's own on that broker.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from send import Job, _free_port, measure  # noqa: E402
from sqlalchemy import MetaData, update  # noqa: E402

CAMPAIGN = "bench"


def _counting_server(port: int, received: Any, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


@dataclass(frozen=True)
class Stack:
    """Where the run keeps its rows and jobs (empty: SQLite and files under var/)."""

    database_url: str = ""
    broker_url: str = ""
    queue: str = ""


def _env(var_dir: Path, smtp_port: int, stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMS_")}
    if stack.database_url:
        env["FORMS_DATABASE_URL"] = stack.database_url
    if stack.broker_url:
        env["FORMS_JOBS_BROKER_URL"] = stack.broker_url
        env["FORMS_JOBS_QUEUE"] = stack.queue
    env.update(
        FORMS_VAR_DIR=str(var_dir),
        FORMS_BASE_URL="https://formulaires.example.org",
        FORMS_EMAIL_PROVIDER="smtp",
        FORMS_SMTP_PORT=str(smtp_port),
        FORMS_DELIVERY_EMAIL_RATE="0",
        FORMS_SWEEP_INTERVAL_SECONDS="0",
        FORMS_DELIVERY_SWEEP_INTERVAL_SECONDS="0",
        PYTHONPATH=str(ROOT),
    )
    return env


def _prepare(var_dir: Path, smtp_port: int, count: int, stack: Stack) -> Any:
    """A migrated database, a demo CRM of `count` customers reachable by e-mail, issued."""
    from forms_service.config import Settings, ensure_secrets
    from forms_service.connectors.interfaces import Selection
    from forms_service.demo.service import create_demo_crm, customers_table
    from forms_service.runtime import build_runtime
    from forms_service.storage import migrate
    from forms_service.storage.service import make_engine

    stack_settings: dict[str, Any] = {}
    if stack.database_url:
        stack_settings["database_url"] = stack.database_url
    if stack.broker_url:
        stack_settings.update(jobs_broker_url=stack.broker_url, jobs_queue=stack.queue)
    settings = ensure_secrets(
        Settings(
            var_dir=var_dir,
            base_url="https://formulaires.example.org",
            email_provider="smtp",
            smtp_port=smtp_port,
            delivery_email_rate=0,
            **stack_settings,
        )
    )
    migrate.upgrade(settings.database_url)
    crm_url = settings.connectors["crm"]["url"]
    create_demo_crm(crm_url, count)
    engine = make_engine(crm_url)
    table = customers_table(MetaData())
    with engine.begin() as connection:
        connection.execute(update(table).values(consent_email=True, preferred_channel="email"))
    engine.dispose()
    runtime = build_runtime(settings)
    start = time.perf_counter()
    issued = sum(1 for _ in runtime.issuing.issue("contact-update", Selection(all=True), CAMPAIGN))
    print(f"  ({issued:,} documents issued in {time.perf_counter() - start:.0f} s)", flush=True)
    return runtime


@contextlib.contextmanager
def _workers(var_dir: Path, smtp_port: int, count: int, stack: Stack) -> Iterator[None]:
    logs = [var_dir / f"worker-{n}.log" for n in range(count)]
    processes = []
    for log in logs:
        command = [
            sys.executable, "-m", "celery", "-A", "forms_service.runtime.celery_app", "worker",
            "--loglevel=INFO", "--pool=solo", "--without-gossip", "--without-mingle",
            "--without-heartbeat", f"--hostname={log.stem}@bench",
        ]  # fmt: skip
        with log.open("wb") as output:
            processes.append(
                subprocess.Popen(
                    command,
                    env=_env(var_dir, smtp_port, stack),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 120
        while not all("ready." in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.2)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


@contextlib.contextmanager
def _database(admin_url: str, name: str) -> Iterator[str]:
    """A PostgreSQL database of the run's own (none: SQLite under var/)."""
    if not admin_url:
        yield ""
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)

    def admin() -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password or None,
            dbname=url.database,
            autocommit=True,
        )

    with admin() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(count: int, postgres: str = "", broker: str = "") -> list[str]:
    """Both worker counts, each on a fresh database and broker, beside the bare loop."""
    context = multiprocessing.get_context("spawn")
    port = _free_port()
    received = context.Value("i", 0)
    ready, stop = context.Event(), context.Event()
    server = context.Process(
        target=_counting_server, args=(port, received, ready, stop), daemon=True
    )
    server.start()
    ready.wait(30)
    lines = []
    try:
        for workers in (1, 2):
            baseline, _ = measure(Job("email", "baseline", 0, count, smtp_port=port), workers)
            name = f"forms_bench_{os.getpid()}_{workers}"
            with (
                tempfile.TemporaryDirectory(prefix="send-jobs-") as directory,
                _database(postgres, name) as database_url,
            ):
                stack = Stack(database_url, broker, name if broker else "")
                var_dir = Path(directory)
                runtime = _prepare(var_dir, port, count, stack)
                with _workers(var_dir, port, workers, stack):
                    with received.get_lock():
                        received.value = 0
                    start = time.perf_counter()
                    plan = runtime.delivery.send_campaign(CAMPAIGN)
                    queued = time.perf_counter()
                    deadline = time.monotonic() + 3600
                    while received.value < count and time.monotonic() < deadline:
                        time.sleep(0.05)
                    done = time.perf_counter()
                runtime.close()
            if plan.channels.get("email") != count:
                raise RuntimeError(f"not every document went by e-mail: {plan.as_dict()}")
            enqueue = count / (queued - start)
            end_to_end = received.value / (done - start)
            for line in (
                f"  {workers} worker(s): enqueue {enqueue:8.0f} messages/s",
                f"  {workers} worker(s): end to end {end_to_end:6.0f} messages/s "
                f"(bare smtplib loop, {workers} process(es): {baseline:6.0f}/s; "
                f"ratio {end_to_end / baseline:.0%})",
            ):
                lines.append(line)
                print(line, flush=True)
    finally:
        stop.set()
        server.join(10)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--postgres", default="", help="an administrator's PostgreSQL URL")
    parser.add_argument("--broker", default="", help="a Redis or RabbitMQ URL")
    args = parser.parse_args()
    stack = (
        f"{'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"{'broker ' + args.broker.split('://')[0] if args.broker else 'filesystem broker'}"
    )
    print(f"benchmarks/send_jobs.py --count {args.count}: e-mail, {stack}")
    run(args.count, args.postgres, args.broker)


if __name__ == "__main__":
    main()
