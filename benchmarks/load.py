"""Load on the production stack (make prod-local: gunicorn on PostgreSQL and Redis) against a
bare Flask "hello" app served with the same gunicorn settings, loopback only, bounded in time.

Phases, each for --seconds with --users concurrent threads (each customer its own client
address, as the rate limits are per client):
- ceiling:  GET / of benchmarks/hello_app.py under gunicorn (forms_service/web/gunicorn_conf.py and
            the same number of workers as the stack);
- form:     customers open a consent-preferences link (the prefilled form page);
- submit:   customers POST their contact-update answer, one request each (303 expected), each
            letter once. Before it, not timed but bounded by --prepare-seconds and reported,
            --submit-letters letters are issued (the API's batch issuing) and prepared with
            --users threads: a fresh client per letter opens the challenge page, answers the
            identity question, opens the form and keeps what a browser would POST (its
            cookies, the CSRF token and the form's fields with the move to Nantes). A phase
            that runs out of letters says so; its rate is over the time it used;
- answering journey: customers answer --letters other letters from the link on: challenge
            page, challenge answer, form page, submit (four requests per answer);
- paced:    --users customers each answer their own letters (--paced-letters) like a (very
            fast) person for --paced-seconds: a think time before each request (uniform 0.5-1.5
            x --think, seeded by --seed), then challenge page, challenge answer, form page,
            submit; a fresh address per letter. Not a saturation test: its p99s are what a
            customer waits with 50 customers online (a closed loop's are users / rate, the
            queue). The ceiling's hello is paced the same way right after the ceiling, as its
            reference. --paced-seconds 0 skips both;
- approve:  signed-in clerks (at most 10, each with an account of its own, created before the
            phases with the account service) open each change set of the three answering phases
            (and of the paper batch) and approve it (the CRM is written);
- mailroom: a batch of --pages scanned letters is uploaded when the submit phase starts and
            read by the job worker during the answering phases (pages per minute until done);
then it checks, for each answering phase, that every acknowledged answer is stored, and that
every approval is applied, and prints requests/s, p50/p95/p99 and errors per request kind, the
CPU per request of each group of processes (gunicorn, the PostgreSQL backends, the job worker,
its own), what the database's backends wait for (locks, and on which statement; transactions
left idle), and the ratios to the ceiling with the target each one is compared with (issue 6:
form page >= 30 %, submit >= 15 %, p99 < 300 ms at 50 users, no errors), the saturation p99s
and, apart, the paced phase's p99s. docs/load.md has numbers.

    .venv/bin/python benchmarks/load.py [--users 50] [--seconds 15] [--workers 3]
        [--submit-letters 250 x seconds] [--prepare-seconds 600] [--letters 70 x seconds]
        [--paced-seconds 20] [--think 1.0] [--seed 6] [--paced-letters N]
        [--sweep 2.0,1.0,0.5,0.25]

--sweep (off by default) adds, after the phases above, the capacity curve: the paced phase
once per think time given (each on letters of its own), then per think time the offered load
(requests sent per second), answers/s and p50/p95/p99 per kind, and up to which offered load
every kind's p99 stays under 300 ms (issue 6's latency target at 50 users) without errors.

The client threads run on the same machine as the servers: on a small machine they take CPU
from both the ceiling and the service (the ratio stays fair, the absolute numbers do not).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests

# benchmarks/load_meters.py, next to this script (whose directory is sys.path[0])
from load_meters import CpuMeter, LockWaits, Phase, Samples, children, report

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mailroom_scans import as_pdf, scanned_page  # noqa: E402
from tests.ocr_pages import Answers  # noqa: E402
from tests.prod_stack import (  # noqa: E402
    Client,
    Stack,
    crm_records,
    free_port,
    hidden,
    moving_to_nantes,
    prod_local,
    scan_runtime,
)

#: Letters prepared for the submit phase per second of --seconds: above the submit target at
#: the best ceiling measured here (15 % of 1,250 hellos/s is 190/s), and above what 2 cores can
#: serve at all (a submit takes 9 ms of the app's CPU alone, request_cost.py: 2 / 9 ms = 220/s).
SUBMITS_PER_SECOND = 250
#: Journey letters per second of --seconds (the best run answered 53 letters/s).
ANSWERS_PER_SECOND = 70
#: Keys per issuing API call (the API issues them with IssuingService.issue_batch, 100 a batch).
ISSUE_CHUNK = 1000
#: A paced customer's think time before each request, as a share of --think (uniform, seeded).
THINK_SPREAD = (0.5, 1.5)
#: Requests per letter of the paced phase (challenge page, challenge answer, form page, submit).
PACED_STEPS = 4
#: Clerks of the approve phase (at most --users), each signed in with an account of its own.
CLERKS = 10
TARGETS = {"form page": 0.30, "submit": 0.15}
P99_TARGET_MS = 300.0


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
            "job worker": [worker, *children(worker)],
        }

    return groups


@contextmanager
def metered(stack: Stack) -> Iterator[tuple[CpuMeter, LockWaits]]:
    """The CPU of the stack's processes and what its database backends wait for."""
    databases = [stack.database, f"{stack.database}_crm"]
    # The sampler connects to the admin database: its backend is in no group it meters.
    with (
        LockWaits(lambda: psycopg.connect(stack.admin_url, autocommit=True), databases) as waits,
        CpuMeter(stack_processes(stack)) as cpu,
    ):
        yield cpu, waits


@dataclass(frozen=True)
class Letter:
    """A contact-update letter issued to one customer, with the customer's CRM row."""

    key: str
    link: str
    record: dict[str, Any]


@dataclass(frozen=True)
class PreparedSubmit:
    """A customer with the contact-update form open: its client (address, session cookie) and
    the body its browser will POST."""

    letter: Letter
    client: Client
    answer: dict[str, str]


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
            "python:forms_service.web.gunicorn_conf",  # the stack's settings (scripts/prod-local.sh)
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


def _address(user: int, network: int = 10) -> Iterator[str]:
    for n in itertools.count():
        yield f"{network}.{user % 250}.{(n // 250) % 250}.{n % 250 + 1}"


def _letter_address(number: int) -> str:
    """The client address of the submit phase's letter `number` (172.16.0.0/12, one each)."""
    return f"172.{16 + number // 62500 % 16}.{number // 250 % 250}.{number % 250 + 1}"


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


def issue_letters(stack: Stack, token: str, keys: list[str], campaign: str) -> list[Letter]:
    """Issue contact-update letters to `keys` through the API (batch issuing), in chunks."""
    setup = stack.client("192.0.2.200")
    issued: list[dict[str, Any]] = []
    for start in range(0, len(keys), ISSUE_CHUNK):
        chunk = keys[start : start + ISSUE_CHUNK]
        issued += setup.issue(token, "contact-update", chunk, campaign)
    records = crm_records(stack, [str(d["key"]) for d in issued])
    return [Letter(str(d["key"]), str(d["link"]), records[str(d["key"])]) for d in issued]


def _open_form(client: Client, letter: Letter, samples: Samples) -> str | None:
    """Challenge page, challenge answer, form page; the form page's HTML (None on a failure)."""
    page = samples.timed("challenge page", (200,), client.get, letter.link)
    if page is None or page.status_code != 200:
        return None
    passed = samples.timed(
        "challenge answer",
        (303,),
        client.pass_challenge_from,
        letter.link,
        page.text,
        letter.record["birth_date"],
    )
    if passed is None or passed.status_code != 303:
        return None
    form = samples.timed("form page", (200,), client.get, letter.link)
    if form is None or form.status_code != 200:
        return None
    return form.text


def prepare_submits(
    stack: Stack, letters: list[Letter], users: int, seconds: float, samples: Samples
) -> tuple[list[PreparedSubmit], float]:
    """Open the form of each letter with its own client (at most `seconds`); what each client
    will POST, and how long it took."""
    queue = enumerate(letters)
    lock = threading.Lock()
    prepared: list[PreparedSubmit] = []

    def user(_n: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            number, letter = item
            client = stack.client(_letter_address(number))
            form = _open_form(client, letter, samples)
            if form is None:
                continue
            client.http.close()  # no socket held while it waits; the cookies stay in the jar
            answer = moving_to_nantes(hidden(form), letter.record)
            with lock:
                prepared.append(PreparedSubmit(letter, client, answer))

    return prepared, _run_users(users, seconds, user)


def phase_submit(
    prepared: list[PreparedSubmit],
    users: int,
    seconds: float,
    samples: Samples,
    acknowledged: list[str],
) -> tuple[float, float | None]:
    """Only the prepared POSTs, each once; the phase's duration and, if it ran out of letters
    before its end, when."""
    queue = iter(prepared)
    lock = threading.Lock()
    started = time.monotonic()
    dry: list[float] = []

    def user(_n: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            with lock:
                item = next(queue, None)
                if item is None:
                    dry.append(time.monotonic() - started)
                    return
            done = samples.timed(
                "submit", (303,), item.client.submit_answer, item.letter.link, item.answer
            )
            if done is not None and done.status_code == 303:
                with lock:
                    acknowledged.append(item.letter.key)

    elapsed = _run_users(users, seconds, user)
    return elapsed, min(dry, default=None)


def phase_journey(
    stack: Stack,
    letters: list[Letter],
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
                letter = next(queue, None)
            if letter is None:
                return
            client = stack.client(next(addresses))
            form = _open_form(client, letter, samples)
            if form is None:
                continue
            answer = moving_to_nantes(hidden(form), letter.record)
            done = samples.timed("submit", (303,), client.submit_answer, letter.link, answer)
            if done is not None and done.status_code == 303:
                with lock:
                    acknowledged.append(letter.key)

    return _run_users(users, seconds, user)


def _thinker(seed: int, user: int, think: float) -> Callable[[float], bool]:
    """A customer's pause before its next request: uniform in THINK_SPREAD x `think` seconds,
    from its own seeded generator; False (no pause) when it would end after the deadline."""
    draw = random.Random(seed * 1000 + user)

    def pause(deadline: float) -> bool:
        wait = draw.uniform(*THINK_SPREAD) * think
        if time.monotonic() + wait >= deadline:
            return False
        time.sleep(wait)
        return True

    return pause


def paced_hello(
    url: str, users: int, seconds: float, think: float, seed: int, samples: Samples
) -> float:
    """The reference of the paced phase: `users` clients each thinking before every hello."""

    def user(n: int, deadline: float) -> None:
        pause = _thinker(seed, n, think)
        http = requests.Session()
        while pause(deadline):
            samples.timed("hello", (200,), http.get, url + "/", timeout=30)

    return _run_users(users, seconds, user)


def phase_paced(
    stack: Stack,
    letters: list[Letter],
    users: int,
    seconds: float,
    think: float,
    seed: int,
    samples: Samples,
    acknowledged: list[str],
    network: int = 10,
) -> tuple[float, int]:
    """`users` customers each answering its own letters like a (fast) person: a think time
    before each of the four requests of an answer (the first one spreads the arrivals). Each
    letter from a fresh address of the customer's own range in `network`.0.0.0/8 (the identity
    question is limited to 10 a minute per client). The phase's duration, and how many
    customers ran out of letters before its end (--paced-letters issues more)."""
    queues = [iter(letters[n::users]) for n in range(users)]
    lock = threading.Lock()
    dry = [0]

    def user(n: int, deadline: float) -> None:
        pause = _thinker(seed, n + 10_000, think)
        addresses = _address(n + 150, network)
        for letter in queues[n]:
            client = stack.client(next(addresses))
            if not pause(deadline):
                return
            page = samples.timed("challenge page", (200,), client.get, letter.link)
            if page is None or page.status_code != 200 or not pause(deadline):
                continue
            passed = samples.timed(
                "challenge answer",
                (303,),
                client.pass_challenge_from,
                letter.link,
                page.text,
                letter.record["birth_date"],
            )
            if passed is None or passed.status_code != 303 or not pause(deadline):
                continue
            form = samples.timed("form page", (200,), client.get, letter.link)
            if form is None or form.status_code != 200 or not pause(deadline):
                continue
            answer = moving_to_nantes(hidden(form.text), letter.record)
            done = samples.timed("submit", (303,), client.submit_answer, letter.link, answer)
            if done is not None and done.status_code == 303:
                with lock:
                    acknowledged.append(letter.key)
        if time.monotonic() < deadline:
            with lock:
                dry[0] += 1

    return _run_users(users, seconds, user), dry[0]


def create_clerks(stack: Stack, count: int) -> list[tuple[str, str]]:
    """`count` clerk accounts of their own (name, password), made with the account service
    (forms_service.accounts, what `forms-service users create` calls) in the stack's database.

    One shared account would make the clerks' sign-ins queue on its row: a sign-in locks the
    user's row (failed-login count) while it verifies the password hash.
    """
    import datetime as dt

    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    from forms_service.accounts.service import create_user
    from forms_service.storage.service import make_engine

    url = make_url(stack.admin_url).set(drivername="postgresql+psycopg", database=stack.database)
    engine = make_engine(url.render_as_string(hide_password=False))
    clerks = [(f"load-clerk-{n:02d}", secrets.token_urlsafe(18)) for n in range(1, count + 1)]
    try:
        with Session(engine) as session, session.begin():
            for name, password in clerks:
                create_user(session, name, password, ["clerk"], now=dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    return clerks


def phase_approve(
    stack: Stack,
    change_sets: list[str],
    clerks: list[tuple[str, str]],
    seconds: float,
    samples: Samples,
) -> tuple[float, list[str]]:
    """Each clerk signs in with its own account, then approves change sets until none is left."""
    queue = iter(change_sets)
    lock = threading.Lock()
    approved: list[str] = []

    def user(n: int, deadline: float) -> None:
        clerk = stack.client(f"192.0.2.{n + 1}")
        signed = samples.timed("sign in", (303,), clerk.sign_in, *clerks[n])
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

    return _run_users(len(clerks), seconds, user), approved


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
    stack: Stack,
    acknowledged: dict[str, list[str]],
    change_sets: list[str],
    approved: list[str],
) -> bool:
    """Acknowledged = stored, for each answering phase; approved = applied (waiting at most
    30 s for the outbox deliverer). Whether everything matched."""
    matched = True
    print("\nreconciliation:")
    with stack.service_db() as db:
        for phase, keys in acknowledged.items():
            row = db.execute(
                "SELECT count(*) FROM submissions s JOIN documents d ON d.id = s.document_id "
                "WHERE d.record_key = ANY(%s) AND d.form_id = 'contact-update' "
                "AND s.channel = 'online'",
                (keys,),
            ).fetchone()
            stored = int(row[0]) if row else 0
            matched = matched and stored == len(keys)
            verdict = "ok" if stored == len(keys) else "MISMATCH"
            print(
                f"  {phase}: {len(keys)} online answers acknowledged, {stored} stored ({verdict})"
            )
        deadline = time.monotonic() + 30
        while True:
            outcomes = {
                str(status): int(count)
                for status, count in db.execute(
                    "SELECT lower(status::text), count(*) FROM change_sets WHERE id = ANY(%s) "
                    "GROUP BY 1",
                    (approved,),
                ).fetchall()
            }
            if "approved" not in outcomes or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # the outbox deliverer writes the CRM after the approval
    applied = outcomes.get("applied", 0) == len(approved)
    matched = matched and applied
    print(
        f"  {len(change_sets)} change sets waited for a clerk (the answering phases and paper), "
        f"{len(approved)} approved -> {outcomes} ({'ok' if applied else 'MISMATCH'})"
    )
    return matched


def _open_change_sets(stack: Stack) -> list[str]:
    with stack.service_db() as db:
        rows = db.execute(
            "SELECT id FROM change_sets WHERE status::text IN ('open', 'OPEN') ORDER BY created_at"
        ).fetchall()
    return [str(row[0]) for row in rows]


def _sent(samples: Samples) -> int:
    """Every request sent, answered or not."""
    sent = sum(len(v) for v in samples.latencies.values())
    return sent + sum(sum(c.values()) for c in samples.errors.values())


def _offered(samples: Samples, elapsed: float) -> None:
    """The load a paced phase offered: every request sent, answered or not, per second."""
    sent = _sent(samples)
    print(f"  offered load: {sent / elapsed:.1f} requests/s ({sent} sent)")


def paced_letter_count(users: int, seconds: float, think: float) -> int:
    """Letters `users` paced customers can answer in `seconds` at the shortest think times
    (THINK_SPREAD[0] x `think` before each of the PACED_STEPS requests), plus one each."""
    shortest = PACED_STEPS * THINK_SPREAD[0] * think
    return users * (math.ceil(seconds / shortest) + 1)


def think_times(text: str) -> list[float]:
    """--sweep's value: comma-separated think times in seconds, each above 0."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of seconds: {text!r}") from None
    if not values or any(not value > 0 for value in values):
        raise argparse.ArgumentTypeError("give think times above 0 s, e.g. 2.0,1.0,0.5,0.25")
    return values


@dataclass(frozen=True)
class CapacityPoint:
    """One think time of the capacity curve: the load it offered and what was answered."""

    think: float
    phase: Phase
    #: Requests sent per second, answered or not (the offered load).
    offered: float
    #: Answers (submits acknowledged) per second.
    answers: float
    #: Customers who ran out of letters before the end of the step.
    ran_out: int

    def within(self, kinds: list[str]) -> bool:
        """Whether every kind's p99 stayed under P99_TARGET_MS, without an error."""
        return not self.phase.errors and all(
            self.phase.p99.get(kind, math.nan) < P99_TARGET_MS for kind in kinds
        )


def capacity_curve(
    stack: Stack,
    letters: list[tuple[float, list[Letter]]],
    users: int,
    seconds: float,
    seed: int,
) -> list[CapacityPoint]:
    """The paced phase once per think time (in the order given), each on its own letters and
    client addresses; a table per think time, as the paced phase prints."""
    points: list[CapacityPoint] = []
    for step, (think, own) in enumerate(letters):
        samples = Samples()
        acknowledged: list[str] = []
        with metered(stack) as (cpu, waits):
            elapsed, ran_out = phase_paced(
                stack, own, users, seconds, think, seed, samples, acknowledged, 20 + step
            )
        title = f"capacity curve: {users} paced customers, {think:g} s think time"
        if ran_out:
            title += f"; {ran_out} customers RAN OUT of letters"
        phase = report(title, samples, elapsed, cpu, waits=waits, answers="submit")
        _offered(samples, elapsed)
        points.append(
            CapacityPoint(
                think, phase, _sent(samples) / elapsed, len(acknowledged) / elapsed, ran_out
            )
        )
    return points


def capacity_summary(points: list[CapacityPoint], users: int, seconds: float) -> None:
    """Per think time: the load aimed at and the load offered, answers/s, p50/p95/p99 per
    kind; then up to which offered load every kind's p99 stays under P99_TARGET_MS (issue 6's
    latency target)."""
    kinds = ["challenge page", "challenge answer", "form page", "submit"]
    print(
        f"\ncapacity curve ({users} paced customers, {seconds:g} s per think time; latencies "
        "p50/p95/p99 in ms):"
    )
    header = "".join(f"  {kind:>20}" for kind in kinds)
    print(
        f"  {'think s':>7} {'aimed req/s':>11} {'offered req/s':>13} {'answers/s':>9}{header}  errors"
    )
    for point in points:
        # What the customers would send if every answer came at once (mean think time each);
        # an offered load well below it: the answers were slow, the service saturated.
        aimed = users / (point.think * sum(THINK_SPREAD) / 2)
        cells = "".join(
            "  "
            + f"{point.phase.p50.get(k, math.nan):.0f}/{point.phase.p95.get(k, math.nan):.0f}"
            f"/{point.phase.p99.get(k, math.nan):.0f}".rjust(20)
            for k in kinds
        )
        print(
            f"  {point.think:>7g} {aimed:>11.1f} {point.offered:>13.1f} {point.answers:>9.1f}{cells}  "
            f"{point.phase.errors}{' (ran out of letters)' if point.ran_out else ''}"
        )
    ordered = sorted(points, key=lambda p: p.offered)
    held = list(itertools.takewhile(lambda p: p.within(kinds), ordered))
    first_miss = ordered[len(held)] if len(held) < len(ordered) else None
    target = f"p99 < {P99_TARGET_MS:.0f} ms for every kind, no errors"
    if not held:
        print(
            f"  {target}: NOT met even at the lightest load measured ({ordered[0].offered:.1f} requests/s)"
        )
    else:
        best = held[-1]
        print(
            f"  {target}: met up to {best.offered:.1f} offered requests/s "
            f"({best.answers:.1f} answers/s, think {best.think:g} s)"
        )
    if first_miss is not None:
        worst = max(kinds, key=lambda k: first_miss.phase.p99.get(k, math.inf))
        print(
            f"  not met at {first_miss.offered:.1f} requests/s (think {first_miss.think:g} s): "
            f"{worst} p99 {first_miss.phase.p99.get(worst, math.nan):.0f} ms, "
            f"{first_miss.phase.errors} errors"
        )
    elif held:
        print("  (met at every load measured: the curve's knee is beyond the shortest think time)")


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def summary(results: dict[str, Phase], users: int, dry: float | None, think: float) -> None:
    """The ratios to the ceiling, each with the target it is compared with; the p99s at
    saturation (closed loops) and with paced customers."""
    ceiling = results["ceiling"].rates.get("hello", 0.0) or math.nan
    journey = results["answering journey"]
    rows = [
        ("form page", "form", "form page", "form pages/s (form phase)"),
        ("submit", "submit", "submit", "submit POSTs/s (submit phase)"),
    ]
    print(f"\nratios to the ceiling ({ceiling:.1f} hello/s), each with its target (issue 6):")
    for name, phase, kind, what in rows:
        ratio = results[phase].rates.get(kind, 0.0) / ceiling
        target = f"target >= {TARGETS[kind]:.0%}: {_verdict(ratio >= TARGETS[kind])}"
        print(f"  {name:<18} {ratio:7.1%}  {what:<34} {target}")
    others = [
        ("answering journey", journey.rates.get("submit", 0.0), "answers/s (4 requests each)"),
        ("answering journey", journey.ok / journey.elapsed, "requests/s (its 4 kinds)"),
        ("approve", results["approve"].rates.get("approve", 0.0), "approvals/s"),
    ]
    for name, rate, what in others:
        print(f"  {name:<18} {rate / ceiling:7.1%}  {what:<34} no target")
    print("  (the submit target is compared with the submit phase, one request per answer)")
    if dry is not None:
        print(f"  the submit phase ran out of prepared letters after {dry:.1f} s")
    print(
        f"  p99 at saturation ({users} users, no think time, each sending its next request as "
        "the last returns): the queue's length, not a service time; by Little's law the mean "
        "is users / rate whatever the code does, so these have no target (docs/load.md, "
        '"Which p99 the targets can mean"):'
    )
    saturated = [("hello", "ceiling", "hello", "")] + [(*row[:3], "") for row in rows]
    for name, phase, kind, _what in saturated:
        p99 = results[phase].p99.get(kind, math.nan)
        rate = results[phase].rates.get(kind, 0.0) or math.nan
        where = f"p99 of the {phase} phase"
        print(
            f"  {name + ' p99':<18} {p99:5.0f} ms {where:<34} "
            f"mean {users / rate * 1000:5.0f} ms = {users} users / {rate:.1f} per s; no target"
        )
    paced = results.get("paced")
    if paced is not None:
        print(
            f"  p99 with paced customers ({users} customers answering letters, {think:g} s "
            "think time before each request; the paced phase): the p99 target at 50 users"
        )
        kinds = ["challenge page", "challenge answer", "form page", "submit"]
        for kind in kinds:
            p99 = paced.p99.get(kind, math.nan)
            print(
                f"  {kind + ' p99':<20} {p99:5.0f} ms with {users} customers answering at "
                f"{think:g} s per page (target < {P99_TARGET_MS:.0f} ms): "
                f"{_verdict(p99 < P99_TARGET_MS)}"
            )
        hello = results.get("paced hello")
        if hello is not None:
            p99 = hello.p99.get("hello", math.nan)
            print(
                f"  {'hello p99':<20} {p99:5.0f} ms with {users} users at {think:g} s per "
                "request (the ceiling app paced the same way; reference, no target)"
            )
    errors = {name: phase.errors for name, phase in results.items() if name != "preparation"}
    failed = ", ".join(f"{name} {count}" for name, count in errors.items() if count) or "none"
    print(
        f"  {'errors':<18} {failed:>8} {'in the timed phases':<34} "
        f"target none: {_verdict(not any(errors.values()))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--letters",
        type=int,
        help=f"letters of the answering journey [{ANSWERS_PER_SECOND} x --seconds]",
    )
    parser.add_argument(
        "--submit-letters",
        type=int,
        help=f"letters prepared for the submit phase [{SUBMITS_PER_SECOND} x --seconds]",
    )
    parser.add_argument(
        "--prepare-seconds",
        type=float,
        default=600,
        help="at most this long to prepare the submit phase's letters [600]",
    )
    parser.add_argument("--pages", type=int, default=20, help="scanned pages in the batch")
    parser.add_argument(
        "--paced-seconds",
        type=float,
        default=20,
        help="the paced phase (customers thinking between pages) and its hello reference; "
        "0: neither [20]",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="a paced customer's mean think time before each request, seconds (uniform "
        f"{THINK_SPREAD[0]}-{THINK_SPREAD[1]} x) [1.0]",
    )
    parser.add_argument("--seed", type=int, default=6, help="of the think times [6]")
    parser.add_argument(
        "--paced-letters",
        type=int,
        help="letters of the paced phase [what --users customers answer at the shortest "
        "think times, plus one each]",
    )
    parser.add_argument(
        "--sweep",
        type=think_times,
        help="also run the paced phase (--paced-seconds long, --users customers) at each of "
        "these think times, e.g. 2.0,1.0,0.5,0.25, and print the capacity curve: offered "
        "load, answers/s, p50/p95/p99 per kind, and up to which load every p99 < 300 ms "
        "[off]",
    )
    options = parser.parse_args()
    letters = options.letters or round(ANSWERS_PER_SECOND * options.seconds)
    submits = options.submit_letters or round(SUBMITS_PER_SECOND * options.seconds)
    paced = 0
    if options.paced_seconds > 0:
        paced = options.paced_letters or paced_letter_count(
            options.users, options.paced_seconds, options.think
        )
    sweep_seconds = options.paced_seconds if options.paced_seconds > 0 else 20
    sweep_counts = [
        paced_letter_count(options.users, sweep_seconds, think) for think in options.sweep or []
    ]
    admin = os.environ.get(
        "FORMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("FORMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    swept = sum(sweep_counts)
    keys = [f"C{n:06d}" for n in range(1, 101 + letters + submits + paced + options.pages + swept)]
    consent_keys, journey_keys = keys[:100], keys[100 : 100 + letters]
    submit_keys = keys[100 + letters : 100 + letters + submits]
    paced_keys = keys[100 + letters + submits : 100 + letters + submits + paced]
    paper_keys = keys[100 + letters + submits + paced : len(keys) - swept]
    sweep_keys = keys[len(keys) - swept :]
    customers = len(keys) + 100
    with tempfile.TemporaryDirectory(prefix="forms-load-") as work:
        print(f"starting prod-local ({options.workers} gunicorn workers, {customers} customers)…")
        with prod_local(
            Path(work),
            admin_url=admin,
            redis_url=redis_url,
            workers=options.workers,
            customers=customers,
            ready_timeout=600,
        ) as stack:
            token = stack.credentials()["api_token"]
            clerks = create_clerks(stack, min(options.users, CLERKS))
            setup = stack.client("192.0.2.200")
            consent = [
                d["link"] for d in setup.issue(token, "consent-preferences", consent_keys, "load")
            ]
            journey_letters = issue_letters(stack, token, journey_keys, "load")
            paced_letters = issue_letters(stack, token, paced_keys, "load-paced")
            started = time.monotonic()
            submit_letters = issue_letters(stack, token, submit_keys, "load-submit")
            issuing = time.monotonic() - started
            batch = mailroom_batch(stack, token, paper_keys) if options.pages else b""
            results: dict[str, Phase] = {}
            with hello_server(options.workers) as (hello, master):
                samples = Samples()
                with CpuMeter(lambda: {"gunicorn": children(master)}) as cpu:
                    elapsed = phase_ceiling(hello, options.users, options.seconds, samples)
                results["ceiling"] = report("ceiling: bare Flask hello", samples, elapsed, cpu)
                if options.paced_seconds > 0:
                    samples = Samples()
                    with CpuMeter(lambda: {"gunicorn": children(master)}) as cpu:
                        elapsed = paced_hello(
                            hello,
                            options.users,
                            options.paced_seconds,
                            options.think,
                            options.seed,
                            samples,
                        )
                    results["paced hello"] = report(
                        f"paced hello (the paced phase's reference): {options.users} users, "
                        f"{options.think:g} s think time before each hello",
                        samples,
                        elapsed,
                        cpu,
                    )
                    _offered(samples, elapsed)
            samples = Samples()
            with metered(stack) as (cpu, waits):
                elapsed = phase_form(stack, consent, options.users, options.seconds, samples)
            results["form"] = report(
                "form: customers opening links", samples, elapsed, cpu, waits=waits
            )

            samples = Samples()
            with metered(stack) as (cpu, waits):
                prepared, elapsed = prepare_submits(
                    stack, submit_letters, options.users, options.prepare_seconds, samples
                )
            results["preparation"] = report(
                "preparation of the submit phase (not timed)", samples, elapsed, cpu, waits=waits
            )
            print(
                f"  {len(submit_letters)} letters issued in {issuing:.1f} s (API, batch "
                f"issuing); {len(prepared)} forms opened and kept in {elapsed:.1f} s "
                f"(--prepare-seconds {options.prepare_seconds:.0f})"
            )
            sent = send_batch(stack, token, batch) if batch else None
            acknowledged: dict[str, list[str]] = {"submit": [], "answering journey": []}
            if paced:
                acknowledged["paced"] = []
            samples = Samples()
            with metered(stack) as (cpu, waits):
                elapsed, dry = phase_submit(
                    prepared, options.users, options.seconds, samples, acknowledged["submit"]
                )
            title = "submit: customers posting the form they opened"
            if dry is not None:
                title += (
                    f"; RAN DRY: all {len(prepared)} prepared letters taken after {dry:.1f} s "
                    f"of {options.seconds:.0f} (rates over the {elapsed:.1f} s used; "
                    "--submit-letters prepares more)"
                )
            results["submit"] = report(title, samples, elapsed, cpu, waits=waits)

            samples = Samples()
            with metered(stack) as (cpu, waits):
                elapsed = phase_journey(
                    stack,
                    journey_letters,
                    options.users,
                    options.seconds,
                    samples,
                    acknowledged["answering journey"],
                )
            results["answering journey"] = report(
                "answering journey: challenge page, challenge answer, form page, submit",
                samples,
                elapsed,
                cpu,
                waits=waits,
                answers="submit",
            )
            if paced:
                samples = Samples()
                with metered(stack) as (cpu, waits):
                    elapsed, ran_out = phase_paced(
                        stack,
                        paced_letters,
                        options.users,
                        options.paced_seconds,
                        options.think,
                        options.seed,
                        samples,
                        acknowledged["paced"],
                    )
                title = (
                    f"paced: {options.users} customers answering letters, {options.think:g} s "
                    "think time before each request (challenge page, challenge answer, form "
                    "page, submit)"
                )
                if ran_out:
                    title += f"; {ran_out} customers RAN OUT of letters (--paced-letters)"
                results["paced"] = report(
                    title, samples, elapsed, cpu, waits=waits, answers="submit"
                )
                _offered(samples, elapsed)
            change_sets = _open_change_sets(stack)
            samples = Samples()
            with metered(stack) as (cpu, waits):
                elapsed, approved = phase_approve(
                    stack, change_sets, clerks, options.seconds, samples
                )
            results["approve"] = report(
                "approve: clerks approving", samples, elapsed, cpu, waits=waits
            )
            if sent is not None:
                wait_batch(stack, token, *sent)
            reconcile(stack, acknowledged, change_sets, approved)
            points: list[CapacityPoint] = []
            if options.sweep:
                sweep_letters: list[tuple[float, list[Letter]]] = []
                start = 0
                for think, count in zip(options.sweep, sweep_counts, strict=True):
                    own = sweep_keys[start : start + count]
                    start += count
                    sweep_letters.append(
                        (think, issue_letters(stack, token, own, f"load-sweep-{think:g}"))
                    )
                points = capacity_curve(
                    stack, sweep_letters, options.users, sweep_seconds, options.seed
                )
    summary(results, options.users, dry, options.think)
    if points:
        capacity_summary(points, options.users, sweep_seconds)


if __name__ == "__main__":
    main()
