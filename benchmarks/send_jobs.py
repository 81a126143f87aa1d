"""The whole send path: a campaign queued (message rows, `delivery.send_batch` jobs), then sent.

What `forms-service send --campaign` and `forms-service worker` do in the embedded default
(SQLite, the filesystem broker under var/jobs/), per channel, measured against the bare loops
of benchmarks/send.py in the same run, to the same gateway:

- e-mail: to an aiosmtpd server counting what it receives; baseline: smtplib sending, in a
  loop on one session, the bytes of the first e-mail the workers sent (the same rendered
  message; measured after each end-to-end run);
- SMS: to a local Kannel (bearerbox + smsbox + fakesmsc, forms_service.delivery.local_kannel);
  baseline: Kannel's sendsms called in a loop, each message with its own number and DLR URL;
- enqueue: `DeliveryService.send_campaign` for N issued documents (each record read from the
  demo CRM, its channel chosen, its row written, its job queued), messages per second;
- end to end: from the start of the enqueue until the gateway has the N-th message (e-mail:
  the server's count; SMS: the rows recorded sent), with one and with two worker processes
  (`celery … worker --pool=solo` each, started and ready before the clock starts): the job
  layer's pick-up, claim, render (the form's own message), hand-over and record.

    .venv/bin/python benchmarks/send_jobs.py [--count 2000] [--channels email,sms]
    .venv/bin/python benchmarks/send_jobs.py --postgres "$FORMS_TEST_POSTGRES_URL" \
        --broker "$FORMS_TEST_REDIS_URL"     # the production stack: PostgreSQL and Redis

With --postgres (an administrator's URL), each run creates a database of its own and drops it
after; with --broker, the jobs go to a queue of the run's own on that broker.
`--record-every N` sets FORMS_DELIVERY_RECORD_EVERY of the workers (messages taken and
recorded per transaction).
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

from send import SECRET, Job, _free_port, local_kannel, measure  # noqa: E402
from sqlalchemy import MetaData, func, select, update  # noqa: E402

CAMPAIGN = "bench"


def _counting_server(
    port: int, received: Any, ready: Any, stop: Any, pipelining: bool, keep: str
) -> None:
    """Counts the e-mails it takes; the first of the workers' is kept in file `keep`."""
    from aiosmtpd.controller import Controller

    from forms_service.delivery.local_mail import advertising_pipelining

    class Counting:
        async def handle_EHLO(
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            """PIPELINING advertised as `make run`'s local server does (unless --no-pipelining)."""
            if not pipelining:
                session.host_name = hostname
                return responses
            return advertising_pipelining(session, hostname, responses)

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            kept = Path(keep)
            if not kept.exists() and "bounces+m0@" not in str(envelope.mail_from):
                kept.write_bytes(envelope.original_content or b"")
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
    #: FORMS_DELIVERY_RECORD_EVERY of the workers (0: the default).
    record_every: int = 0
    #: FORMS_DELIVERY_BATCH_SIZE of the campaign's jobs (0: the default).
    batch_size: int = 0


@dataclass(frozen=True)
class Gateway:
    """The channel measured and where its messages go."""

    channel: str  # email | sms
    smtp_port: int = 0
    sendsms_url: str = ""
    username: str = ""
    password: str = ""
    dlr_url: str = ""

    def settings(self) -> dict[str, Any]:
        """The service's settings that send to this gateway, unthrottled."""
        if self.channel == "email":
            return {"email_provider": "smtp", "smtp_port": self.smtp_port, "delivery_email_rate": 0}
        return {
            "sms_provider": "kannel",
            "kannel_sendsms_url": self.sendsms_url,
            "kannel_username": self.username,
            "kannel_password": self.password,
            "kannel_dlr_url": self.dlr_url,
            "kannel_dlr_secret": SECRET.decode(),
            "delivery_sms_rate": 0,
        }

    #: A file the gateway keeps the first message of the workers in (e-mail).
    message_file: str = ""

    def baseline(self, count: int) -> Job:
        """The bare loop: for e-mail, smtplib sending one e-mail the workers sent, again."""
        return Job(
            self.channel,
            "baseline",
            0,
            count,
            smtp_port=self.smtp_port,
            sendsms_url=self.sendsms_url,
            username=self.username,
            password=self.password,
            dlr_url=self.dlr_url,
            message_file=self.message_file,
        )


def _env(var_dir: Path, gateway: Gateway, stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMS_")}
    if stack.database_url:
        env["FORMS_DATABASE_URL"] = stack.database_url
    if stack.broker_url:
        env["FORMS_JOBS_BROKER_URL"] = stack.broker_url
        env["FORMS_JOBS_QUEUE"] = stack.queue
    if stack.record_every:
        env["FORMS_DELIVERY_RECORD_EVERY"] = str(stack.record_every)
    if stack.batch_size:
        env["FORMS_DELIVERY_BATCH_SIZE"] = str(stack.batch_size)
    env.update({f"FORMS_{k.upper()}": str(v) for k, v in gateway.settings().items()})
    env.update(
        FORMS_VAR_DIR=str(var_dir),
        FORMS_DEFINITIONS_DIR=str(var_dir / "definitions"),
        FORMS_BASE_URL="https://formulaires.example.org",
        FORMS_SWEEP_INTERVAL_SECONDS="0",
        FORMS_DELIVERY_SWEEP_INTERVAL_SECONDS="0",
        PYTHONPATH=str(ROOT),
    )
    return env


def _definitions(var_dir: Path) -> Path:
    """The shipped definitions, their contact rules without channel capacities.

    The rules give SMS 2,000 an hour: the gate would rightly defer the rest of 10,000. The
    benchmark measures the send path's throughput, not a day's quota (the caps stay).
    """
    import shutil

    import yaml

    target = var_dir / "definitions"
    shutil.copytree(ROOT / "form_definitions", target)
    rules_file = target / "consent" / "contact_rules.yaml"
    rules = yaml.safe_load(rules_file.read_text())
    rules.pop("capacity", None)
    rules_file.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return target


def _prepare(var_dir: Path, gateway: Gateway, count: int, stack: Stack) -> Any:
    """A migrated database, a demo CRM of `count` customers reachable on the channel, issued."""
    from forms_service.config import Settings, ensure_secrets
    from forms_service.connectors.interfaces import Selection
    from forms_service.demo.service import create_demo_crm, customers_table
    from forms_service.runtime import build_runtime
    from forms_service.storage import migrate
    from forms_service.storage.service import make_engine

    stack_settings: dict[str, Any] = {"definitions_dir": _definitions(var_dir)}
    if stack.database_url:
        stack_settings["database_url"] = stack.database_url
    if stack.broker_url:
        stack_settings.update(jobs_broker_url=stack.broker_url, jobs_queue=stack.queue)
    if stack.batch_size:
        stack_settings["delivery_batch_size"] = stack.batch_size
    settings = ensure_secrets(
        Settings(
            var_dir=var_dir,
            base_url="https://formulaires.example.org",
            **gateway.settings(),
            **stack_settings,
        )
    )
    migrate.upgrade(settings.database_url)
    crm_url = settings.connectors["crm"]["url"]
    create_demo_crm(crm_url, count)
    engine = make_engine(crm_url)
    table = customers_table(MetaData())
    consent = {f"consent_{gateway.channel}": True, "preferred_channel": gateway.channel}
    with engine.begin() as connection:
        connection.execute(update(table).values(**consent))
    engine.dispose()
    runtime = build_runtime(settings)
    start = time.perf_counter()
    issued = sum(1 for _ in runtime.issuing.issue("contact-update", Selection(all=True), CAMPAIGN))
    print(f"  ({issued:,} documents issued in {time.perf_counter() - start:.0f} s)", flush=True)
    return runtime


def _recorded_sent(runtime: Any) -> int:
    """Messages the workers recorded handed over (sent, or delivered since)."""
    from forms_service.storage.messages import Message, MessageStatus

    handed = (MessageStatus.SENT, MessageStatus.DELIVERED)
    with runtime.sessions() as session:
        query = select(func.count()).select_from(Message).where(Message.status.in_(handed))
        return int(session.scalar(query) or 0)


@contextlib.contextmanager
def _workers(
    var_dir: Path, gateway: Gateway, count: int, stack: Stack, peaks: list[int]
) -> Iterator[list[int]]:
    """`count` worker processes, ready (their pids); their peak RSS (KiB) added to `peaks`."""
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
                    env=_env(var_dir, gateway, stack),
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
        yield [process.pid for process in processes]
    finally:
        peaks.extend(_peak_rss(process.pid) for process in processes)
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def _cpu_seconds(pids: list[int]) -> float:
    """The CPU time (user + system) the processes used so far, seconds."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _busy() -> tuple[int, int]:
    """The machine's CPU time so far, in clock ticks: (busy, all)."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def _peak_rss(pid: int) -> int:
    """A running process's peak resident set (VmHWM), KiB; 0 when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0
    )


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


def run(
    count: int, gateway: Gateway, received: Any, stack: Stack, settle: Any = lambda: None
) -> list[str]:
    """Both worker counts, each on a fresh database and broker, beside the bare loop."""
    lines = []
    for workers in (1, 2):
        settle()
        name = f"forms_bench_{os.getpid()}_{gateway.channel}_{workers}"
        with (
            tempfile.TemporaryDirectory(prefix="send-jobs-") as directory,
            _database(stack.database_url, name) as database_url,
        ):
            run_stack = Stack(
                database_url,
                stack.broker_url,
                name if stack.broker_url else "",
                stack.record_every,
                stack.batch_size,
            )
            var_dir = Path(directory)
            runtime = _prepare(var_dir, gateway, count, run_stack)
            settle()
            peaks: list[int] = []
            with _workers(var_dir, gateway, workers, run_stack, peaks) as pids:
                first = received(runtime)
                cpu_before, busy_before = _cpu_seconds(pids), _busy()
                start = time.perf_counter()
                plan = runtime.delivery.send_campaign(CAMPAIGN)
                queued = time.perf_counter()
                deadline = time.monotonic() + 3600
                while received(runtime) - first < count and time.monotonic() < deadline:
                    time.sleep(0.05)
                done = time.perf_counter()
                arrived = received(runtime) - first
                worker_cpu = _cpu_seconds(pids) - cpu_before
                busy_after = _busy()
            runtime.close()
        # The bare loop after the run, for e-mail on the bytes of a message the workers sent
        # (the same rendered message, its HTML template and all).
        settle()
        baseline, _ = measure(gateway.baseline(count), workers)
        if plan.channels.get(gateway.channel) != count:
            raise RuntimeError(f"not every document went by {gateway.channel}: {plan.as_dict()}")
        enqueue = count / (queued - start)
        ticks = busy_after[1] - busy_before[1]
        machine_busy = (busy_after[0] - busy_before[0]) / ticks if ticks else 0.0
        end_to_end = arrived / (done - start)
        bare = "smtplib" if gateway.channel == "email" else "sendsms"
        for line in (
            f"  {workers} worker(s): enqueue {enqueue:8.0f} messages/s",
            f"  {workers} worker(s): end to end {end_to_end:6.0f} messages/s "
            f"(bare {bare} loop, {workers} process(es): {baseline:6.0f}/s; "
            f"ratio {end_to_end / baseline:.0%}); "
            f"peak RSS of a worker {max(peaks) / 1024:.0f} MiB",
            f"  {workers} worker(s): workers' CPU {worker_cpu / max(arrived, 1) * 1000:.2f} ms "
            f"a message; machine busy {machine_busy:.0%} of its cores meanwhile",
        ):
            lines.append(line)
            print(line, flush=True)
    return lines


def run_email(count: int, stack: Stack, pipelining: bool = True) -> list[str]:
    """E-mail to an aiosmtpd server of the run's own, counting what it receives."""
    context = multiprocessing.get_context("spawn")
    port = _free_port()
    keep = Path(tempfile.mkdtemp(prefix="send-jobs-mail-")) / "first.eml"
    counter = context.Value("i", 0)
    ready, stop = context.Event(), context.Event()
    server = context.Process(
        target=_counting_server,
        args=(port, counter, ready, stop, pipelining, str(keep)),
        daemon=True,
    )
    server.start()
    ready.wait(30)
    try:
        gateway = Gateway("email", smtp_port=port, message_file=str(keep))
        return run(count, gateway, lambda _: counter.value, stack)
    finally:
        stop.set()
        server.join(10)
        keep.unlink(missing_ok=True)
        keep.parent.rmdir()


def run_sms(count: int, stack: Stack) -> list[str]:
    """SMS to a local Kannel with fakesmsc; its delivery reports to a small HTTP server."""
    with local_kannel() as (kannel, dlr_url):
        gateway = Gateway(
            "sms",
            sendsms_url=kannel.sendsms_url,
            username=kannel.username,
            password=kannel.password,
            dlr_url=dlr_url,
        )
        return run(count, gateway, _recorded_sent, stack, kannel.wait_idle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--channels", default="email,sms")
    parser.add_argument("--postgres", default="", help="an administrator's PostgreSQL URL")
    parser.add_argument("--broker", default="", help="a Redis or RabbitMQ URL")
    parser.add_argument(
        "--record-every",
        type=int,
        default=0,
        help="messages taken and recorded per transaction (FORMS_DELIVERY_RECORD_EVERY)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="messages a send job sends (FORMS_DELIVERY_BATCH_SIZE)",
    )
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="the SMTP server does not advertise PIPELINING (the provider then sends a "
        "message's commands one by one, as the bare smtplib loop always does)",
    )
    args = parser.parse_args()
    where = (
        f"{'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"{'broker ' + args.broker.split('://')[0] if args.broker else 'filesystem broker'}"
    )
    every = args.record_every or "default"
    batch = args.batch_size or "default"
    print(
        f"benchmarks/send_jobs.py --count {args.count}: {where}, "
        f"jobs of {batch} messages, record every {every}"
    )
    stack = Stack(args.postgres, args.broker, "", args.record_every, args.batch_size)
    channels = args.channels.split(",")
    if "email" in channels:
        advertised = "not advertising" if args.no_pipelining else "advertising"
        print(f"E-mail to a local aiosmtpd server {advertised} PIPELINING:", flush=True)
        run_email(args.count, stack, pipelining=not args.no_pipelining)
    if "sms" in channels:
        print("SMS to a local Kannel (bearerbox + smsbox + fakesmsc):", flush=True)
        run_sms(args.count, stack)


if __name__ == "__main__":
    main()
