"""Load on the production stack (make prod-local: gunicorn on PostgreSQL and Redis) against a
bare Flask "hello" app served with the same gunicorn settings, loopback only, bounded in time.

Phases, each for --seconds with --users concurrent threads (each user its own client address,
as the rate limits are per client):
- ceiling:  GET / of benchmarks/hello_app.py under gunicorn (forms_service/gunicorn_conf.py and
            the same number of workers as the stack);
- form:     customers open a consent-preferences link (the prefilled form page);
- submit:   customers answer a contact-update letter: identity question, form, submit;
- approve:  signed-in clerks open each change set and approve it (the CRM is written);
- mailroom: a batch of --pages scanned letters is uploaded when the customers start answering
  and read by the job worker meanwhile (pages per minute until the batch is done);
then it checks that every acknowledged answer is stored and every approval applied, and prints
requests/s, p50/p95/p99 and errors per kind, the CPU per request of each group of processes (the
servers', the job worker's, its own), and the ratios to the ceiling. docs/load.md has numbers.

    .venv/bin/python benchmarks/load.py [--users 50] [--seconds 15] [--workers 3]

The client threads run on the same machine as the servers: on a small machine they take CPU
from both the ceiling and the service (the ratio stays fair, the absolute numbers do not).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mailroom_scans import as_pdf, scanned_page  # noqa: E402
from tests.ocr_pages import Answers  # noqa: E402
from tests.prod_stack import Stack, crm_record, free_port, prod_local, scan_runtime  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU spent during a phase by the server's processes (per group) and by this client.

    On a shared machine the rates move with the neighbours' load; CPU per request does not
    (much), so it says what the service costs whatever the machine does meanwhile.
    """

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.start: dict[str, dict[int, float]] = {}
        self.client_start = 0.0

    def __enter__(self) -> CpuMeter:
        self.start = {g: {p: _cpu_seconds(p) for p in pids} for g, pids in self.groups().items()}
        self.client_start = time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.spent: dict[str, float] = {}
        for group, pids in self.groups().items():
            before = self.start.get(group, {})
            self.spent[group] = sum(max(0.0, _cpu_seconds(p) - before.get(p, 0.0)) for p in pids)
        self.spent["load generator"] = time.process_time() - self.client_start

    def report(self, requests: int) -> None:
        if not requests:
            return
        parts = ", ".join(f"{g} {s / requests * 1000:.2f}" for g, s in self.spent.items())
        print(f"  CPU ms per request: {parts}")


def stack_processes(stack: Stack) -> Callable[[], dict[str, list[int]]]:
    """The stack's gunicorn workers, the PostgreSQL backends serving its two databases, and
    the job worker (its main process and its pool)."""

    def groups() -> dict[str, list[int]]:
        with stack.service_db() as db:
            backends = [
                row[0]
                for row in db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s) "
                    "AND pid <> pg_backend_pid()",
                    ([stack.database, f"{stack.database}_crm"],),
                ).fetchall()
            ]
        worker = stack.job_worker()
        return {
            "gunicorn": stack.gunicorn_workers(),
            "PostgreSQL": backends,
            "job worker": [worker, *_children(worker)],
        }

    return groups


@dataclass
class Samples:
    """Latencies (seconds) and errors per request kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self,
        kind: str,
        ok: tuple[int, ...],
        call: Callable[..., requests.Response],
        *args: Any,
        **kwargs: Any,
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = call(*args, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[kind][type(exc).__name__] += 1
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            if response.status_code in ok:
                self.latencies[kind].append(elapsed)
            else:
                self.errors[kind][str(response.status_code)] += 1
        return response


def _run_users(users: int, seconds: float, user: Callable[[int, float], None]) -> float:
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=user, args=(n, deadline)) for n in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


@contextmanager
def hello_server(workers: int) -> Iterator[tuple[str, int]]:
    """benchmarks/hello_app.py under gunicorn with the stack's settings; its URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            "python:forms_service.gunicorn_conf",  # the stack's settings (scripts/prod-local.sh)
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--no-control-socket",
            "--chdir",
            str(ROOT / "benchmarks"),
            "hello_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(url, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(20)


def _address(user: int) -> Iterator[str]:
    for n in itertools.count():
        yield f"10.{user % 250}.{(n // 250) % 250}.{n % 250 + 1}"


def phase_ceiling(url: str, users: int, seconds: float, samples: Samples) -> float:
    def user(_n: int, deadline: float) -> None:
        http = requests.Session()
        while time.monotonic() < deadline:
            samples.timed("hello", (200,), http.get, url + "/", timeout=30)

    return _run_users(users, seconds, user)


def phase_form(
    stack: Stack, links: list[str], users: int, seconds: float, samples: Samples
) -> float:
    def user(n: int, deadline: float) -> None:
        addresses = _address(n)
        for link in itertools.cycle(links[n::users] or links):
            if time.monotonic() >= deadline:
                return
            client = stack.client(next(addresses))
            samples.timed("form page", (200,), client.get, link)

    return _run_users(users, seconds, user)


def phase_submit(
    stack: Stack,
    letters: list[tuple[str, dict[str, object]]],
    users: int,
    seconds: float,
    samples: Samples,
    acknowledged: list[str],
) -> float:
    queue = iter(letters)
    lock = threading.Lock()

    def user(n: int, deadline: float) -> None:
        addresses = _address(n + 100)
        while time.monotonic() < deadline:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            link, record = item
            client = stack.client(next(addresses))
            page = samples.timed("challenge page", (200,), client.get, link)
            if page is None or page.status_code != 200:
                continue
            passed = samples.timed(
                "challenge answer",
                (303,),
                client.pass_challenge_from,
                link,
                page.text,
                record["birth_date"],
            )
            if passed is None or passed.status_code != 303:
                continue
            form = samples.timed("form page", (200,), client.get, link)
            if form is None or form.status_code != 200:
                continue
            done = samples.timed(
                "submit",
                (303,),
                client.submit_contact_from,
                link,
                form.text,
                record,
                address_line="3 place du Marché",
                city="Nantes",
                postcode="44000",
            )
            if done is not None and done.status_code == 303:
                with lock:
                    acknowledged.append(str(record["customer_no"]))

    return _run_users(users, seconds, user)


def phase_approve(
    stack: Stack, change_sets: list[str], users: int, seconds: float, samples: Samples
) -> tuple[float, list[str]]:
    credentials = stack.credentials()
    queue = iter(change_sets)
    lock = threading.Lock()
    approved: list[str] = []

    def user(n: int, deadline: float) -> None:
        clerk = stack.client(f"192.0.2.{n + 1}")
        signed = samples.timed(
            "sign in",
            (303,),
            clerk.sign_in,
            credentials["clerk_user"],
            credentials["clerk_password"],
        )
        if signed is None:
            return
        while time.monotonic() < deadline:
            with lock:
                change_set = next(queue, None)
            if change_set is None:
                return
            path = f"/backoffice/change-sets/{change_set}"
            page = samples.timed("change set page", (200,), clerk.get, path)
            if page is None or page.status_code != 200:
                continue
            decided = samples.timed("approve", (303,), clerk.approve_from, path, page.text)
            if decided is not None and decided.status_code == 303:
                with lock:
                    approved.append(change_set)

    return _run_users(users, seconds, user), approved


def mailroom_batch(stack: Stack, token: str, keys: list[str]) -> bytes:
    """A scanned batch (PDF, 200 dpi) of contact-update letters answered on paper."""
    fake = scan_runtime(stack)
    documents = stack.client("192.0.2.201").issue(token, "contact-update", keys, "load-paper")
    pages = [
        scanned_page(fake, d["document_id"], "contact-update", Answers(texts={"city": "ALBI"}))
        for d in documents
    ]
    return as_pdf(pages)


def send_batch(stack: Stack, token: str, content: bytes) -> tuple[str, float]:
    """Upload the batch through the API; its id and when it was accepted."""
    sent = stack.client("192.0.2.202").post(
        "/api/v1/scans",
        headers={"Authorization": f"Bearer {token}"},
        files=[("files", ("batch.pdf", content))],
    )
    if sent.status_code != 202:
        raise RuntimeError(f"scan upload: {sent.status_code} {sent.text[:300]}")
    return str(sent.json()["id"]), time.monotonic()


def wait_batch(stack: Stack, token: str, batch_id: str, sent_at: float) -> None:
    """Wait (at most 5 minutes) for the batch's pages to be read; print pages per minute."""
    client = stack.client("192.0.2.203")
    while True:
        batch = client.get(
            f"/api/v1/scans/{batch_id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if batch["status"] == "done" or time.monotonic() - sent_at > 300:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - sent_at
    pages = batch["pages_total"]
    print(
        f"\nmailroom batch (read by the job worker during and after the phases above): "
        f"{batch['done']}/{pages} pages in {elapsed:.1f} s "
        f"({batch['done'] / elapsed * 60:.1f} pages/min), {batch['counts']}"
    )


def reconcile(
    stack: Stack, acknowledged: list[str], change_sets: list[str], approved: list[str]
) -> None:
    """Acknowledged = stored; approved = applied + conflicts + dead-lettered."""
    with stack.service_db() as db:
        stored = db.execute(
            "SELECT count(*) FROM submissions s JOIN documents d ON d.id = s.document_id "
            "WHERE d.record_key = ANY(%s) AND d.form_id = 'contact-update' "
            "AND s.channel = 'online'",
            (acknowledged,),
        ).fetchone()
        outcomes = dict(
            db.execute(
                "SELECT lower(status::text), count(*) FROM change_sets WHERE id = ANY(%s) "
                "GROUP BY 1",
                (approved,),
            ).fetchall()
        )
    print(
        f"\nreconciliation: {len(acknowledged)} online answers acknowledged, "
        f"{stored[0] if stored else 0} stored; {len(change_sets)} change sets waited for a "
        f"clerk (online and paper), {len(approved)} approved -> {outcomes}"
    )


def _open_change_sets(stack: Stack) -> list[str]:
    with stack.service_db() as db:
        rows = db.execute(
            "SELECT id FROM change_sets WHERE status::text IN ('open', 'OPEN') ORDER BY created_at"
        ).fetchall()
    return [str(row[0]) for row in rows]


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def report(title: str, samples: Samples, elapsed: float, cpu: CpuMeter) -> dict[str, float]:
    rates = {}
    print(f"\n{title} ({elapsed:.1f} s)")
    print(
        f"  {'kind':<18} {'ok':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors"
    )
    kinds = sorted(set(samples.latencies) | set(samples.errors))
    for kind in kinds:
        values = samples.latencies.get(kind, [])
        rate = len(values) / elapsed
        rates[kind] = rate
        errors = ", ".join(f"{k}: {v}" for k, v in samples.errors.get(kind, {}).items()) or "none"
        median = statistics.median(values) * 1000 if values else float("nan")
        print(
            f"  {kind:<18} {len(values):>6} {rate:>8.1f} {median:>8.1f} "
            f"{_percentile(values, 0.95):>8.1f} {_percentile(values, 0.99):>8.1f}  {errors}"
        )
    cpu.report(sum(len(v) for v in samples.latencies.values()))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--letters", type=int, default=400, help="contact-update letters")
    parser.add_argument("--pages", type=int, default=20, help="scanned pages in the batch")
    options = parser.parse_args()
    admin = os.environ.get(
        "FORMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("FORMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    customers = options.letters + options.pages + 200
    with tempfile.TemporaryDirectory(prefix="forms-load-") as work:
        print(f"starting prod-local ({options.workers} gunicorn workers, {customers} customers)…")
        with prod_local(
            Path(work),
            admin_url=admin,
            redis_url=redis_url,
            workers=options.workers,
            customers=customers,
            ready_timeout=300,
        ) as stack:
            token = stack.credentials()["api_token"]
            setup = stack.client("192.0.2.200")
            consent = [
                d["link"]
                for d in setup.issue(
                    token, "consent-preferences", [f"C{n:06d}" for n in range(1, 101)], "load"
                )
            ]
            keys = [f"C{n:06d}" for n in range(101, 101 + options.letters)]
            letters = [
                (d["link"], crm_record(stack, d["key"]))
                for d in setup.issue(token, "contact-update", keys, "load")
            ]
            paper_keys = [
                f"C{n:06d}"
                for n in range(101 + options.letters, 101 + options.letters + options.pages)
            ]
            batch = mailroom_batch(stack, token, paper_keys) if options.pages else b""
            results: dict[str, dict[str, float]] = {}
            with hello_server(options.workers) as (hello, master):
                samples = Samples()
                with CpuMeter(lambda: {"gunicorn": _children(master)}) as cpu:
                    elapsed = phase_ceiling(hello, options.users, options.seconds, samples)
                results["ceiling"] = report("ceiling: bare Flask hello", samples, elapsed, cpu)
            samples = Samples()
            with CpuMeter(stack_processes(stack)) as cpu:
                elapsed = phase_form(stack, consent, options.users, options.seconds, samples)
            results["form"] = report("customers opening links", samples, elapsed, cpu)
            samples, acknowledged = Samples(), []
            sent = send_batch(stack, token, batch) if batch else None
            with CpuMeter(stack_processes(stack)) as cpu:
                elapsed = phase_submit(
                    stack, letters, options.users, options.seconds, samples, acknowledged
                )
            results["submit"] = report("customers answering", samples, elapsed, cpu)
            change_sets = _open_change_sets(stack)
            samples = Samples()
            with CpuMeter(stack_processes(stack)) as cpu:
                elapsed, approved = phase_approve(
                    stack, change_sets, min(options.users, 10), options.seconds, samples
                )
            results["approve"] = report("clerks approving", samples, elapsed, cpu)
            if sent is not None:
                wait_batch(stack, token, *sent)
            reconcile(stack, acknowledged, change_sets, approved)
    ceiling = results["ceiling"].get("hello", 0.0) or float("nan")
    print("\nratios to the ceiling (requests/s):")
    print(f"  form page  {results['form'].get('form page', 0.0) / ceiling:6.1%}  (target >= 30%)")
    print(f"  submit     {results['submit'].get('submit', 0.0) / ceiling:6.1%}  (target >= 15%)")
    print(f"  approve    {results['approve'].get('approve', 0.0) / ceiling:6.1%}")


if __name__ == "__main__":
    main()
