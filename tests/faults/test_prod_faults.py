"""Faults on the production stack (make prod-local on a private PostgreSQL): kill -9 a web
worker during submits, restart PostgreSQL under load, kill -9 a job pool process mid-batch.
Every test reconciles the counts: acknowledged = stored (once each), approved = applied +
conflicts + dead-lettered. The stack is tests/faults/conftest.py's."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.faults.private_services import PrivatePostgres
from tests.faults.scan_batches import send_batch, submissions_per_document
from tests.faults.write_back import approve_as_clerk, open_change_sets, reconcile_write_back
from tests.prod_stack import Client, Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.faults]


def _issue(stack: Stack, keys: list[str], campaign: str) -> dict[str, str]:
    client = stack.client()
    documents = client.issue(
        stack.credentials()["api_token"], "consent-preferences", keys, campaign
    )
    return {d["key"]: d["link"] for d in documents}


def _outcome(call: Callable[[], requests.Response]) -> str:
    try:
        return str(call().status_code)
    except requests.RequestException as failure:  # the worker died mid-request
        return type(failure).__name__


def _reconcile(stack: Stack, links: dict[str, str], acknowledged: set[str]) -> None:
    """Stored once each; every auto change set written back or accounted for; CRM agrees."""
    document_ids = [link.rsplit("/f/", 1)[1].split(".")[0] for link in links.values()]
    deadline = time.monotonic() + 30
    with stack.service_db() as db:
        while True:
            submissions = dict(
                db.execute(
                    "SELECT document_id, count(*) FROM submissions "
                    "WHERE document_id = ANY(%s) GROUP BY document_id",
                    (document_ids,),
                ).fetchall()
            )
            sets = Counter(
                str(status).lower()
                for (status,) in db.execute(
                    "SELECT status::text FROM change_sets WHERE document_id = ANY(%s)",
                    (document_ids,),
                )
            )
            outbox = Counter(
                str(status).lower()
                for (status,) in db.execute(
                    "SELECT o.status::text FROM outbox o JOIN change_sets c "
                    "ON c.id = o.change_set_id WHERE c.document_id = ANY(%s)",
                    (document_ids,),
                )
            )
            # An answer whose proposal died with its web worker (or failed while the
            # database was down) is proposed by the outbox deliverer's next round.
            proposed = sum(sets.values()) == sum(submissions.values())
            if proposed and outbox.get("pending", 0) == 0 and sets.get("approved", 0) == 0:
                break
            assert time.monotonic() < deadline, (submissions, sets, outbox)
            time.sleep(0.5)
    acknowledged_ids = {links[key].rsplit("/f/", 1)[1].split(".")[0] for key in acknowledged}
    assert acknowledged_ids <= set(submissions)  # acknowledged = stored
    assert set(submissions.values()) <= {1}  # none twice
    assert sum(sets.values()) == len(submissions)  # one change set per answer
    written = sets["applied"] + sets["partially_applied"] + sets["conflict"] + sets["failed"]
    assert written == outbox["delivered"] + outbox["conflict"] + outbox["dead"]
    assert written + sets["no_change"] == len(submissions)
    with stack.crm() as crm:
        rows = crm.execute(
            "SELECT customer_no, consent_email, consent_sms, preferred_channel FROM customers "
            "WHERE customer_no = ANY(%s)",
            (sorted(acknowledged),),
        ).fetchall()
    assert len(rows) == len(acknowledged)
    assert all(row[1:] == (True, True, "post") for row in rows), rows


def _submit_all(stack: Stack, links: dict[str, str], during: Callable[[], None]) -> set[str]:
    """Customers answer in 4 threads (each retries what failed for 25 s); `during` runs meanwhile."""
    outcomes: Counter[str] = Counter()
    acknowledged: set[str] = set()
    lock = threading.Lock()

    def answer(key: str) -> None:
        client = stack.client(f"198.51.100.{(hash(key) % 200) + 1}")
        deadline = time.monotonic() + 25  # a customer tries again for a while
        while time.monotonic() < deadline:
            result = _outcome(lambda: client.submit_consents(links[key]))
            with lock:
                outcomes[result] += 1
            # 303: stored and confirmed. After a reply lost with its worker (the commit was
            # done), the link shows the answer already stored (302 to the confirmation) or,
            # once it is applied, says the answer was processed (410).
            if result in ("302", "303", "410"):
                with lock:
                    acknowledged.add(key)
                return
            time.sleep(0.5)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(answer, key) for key in links]
        during()
        for future in futures:
            future.result()
    assert set(outcomes) <= {
        "302",
        "303",
        "410",
        "502",
        "503",
        "ConnectionError",
        "ChunkedEncodingError",
    }, outcomes
    return acknowledged


def test_kill_9_of_a_web_worker_during_submits_loses_and_doubles_nothing(stack: Stack) -> None:
    keys = [f"C{n:06d}" for n in range(1, 41)]
    links = _issue(stack, keys, "kill-web")
    killed: list[int] = []

    def kill_a_worker() -> None:
        time.sleep(1.0)  # in the middle of the submits
        victim = stack.gunicorn_workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    acknowledged = _submit_all(stack, links, kill_a_worker)
    assert acknowledged == set(keys)  # every customer got an answer, after a retry at worst
    _reconcile(stack, links, acknowledged)
    # gunicorn replaced the dead worker by itself.
    deadline = time.monotonic() + 40
    while killed[0] in stack.gunicorn_workers() or len(stack.gunicorn_workers()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert stack.process.poll() is None


def test_postgresql_restart_under_load_fails_cleanly_and_recovers(
    stack: Stack, server: PrivatePostgres
) -> None:
    keys = [f"C{n:06d}" for n in range(41, 81)]
    links = _issue(stack, keys, "restart-db")
    browsed = _issue(stack, ["C000090"], "restart-db")["C000090"]  # opened, never answered
    seen: Counter[str] = Counter()
    stop = threading.Event()

    def browse() -> None:
        paths = [browsed, "/readyz", "/backoffice/login"]
        visitor = 0
        while not stop.is_set():
            visitor += 1  # many visitors, each under the per-client rate limits
            client: Client = stack.client(f"203.0.113.{visitor % 250 + 1}")
            for path in paths:
                seen[_outcome(functools.partial(client.get, path))] += 1

    def restart() -> None:
        time.sleep(1.0)
        server.stop("fast")  # sessions end now; the pools hold dead connections
        time.sleep(3.0)  # the load goes on against a database that is down
        server.start()

    browser = threading.Thread(target=browse)
    browser.start()
    try:
        acknowledged = _submit_all(stack, links, restart)
    finally:
        stop.set()
        browser.join(30)
    assert seen["503"] > 0, seen  # the outage was seen, as a clean 503
    assert set(seen) <= {"200", "503"}, seen  # never a 500 nor a dropped connection
    assert acknowledged == set(keys)  # the retries after the restart went through
    ready = stack.client().get("/readyz")
    assert ready.status_code == 200  # recovered by itself (dead pooled connections replaced)
    _reconcile(stack, links, acknowledged)
    # The job worker and the outbox deliverer lived through the outage too.
    assert stack.process.poll() is None


def test_kill_9_of_a_job_pool_process_mid_batch_resumes_and_reads_each_page_once(
    stack: Stack,
) -> None:
    keys = [f"C{n:06d}" for n in range(91, 97)]
    batch = send_batch(stack, stack.client("192.0.2.90"), keys, "kill-pool-process")

    # Kill -9 the pool process that is reading a page, as soon as one is being read.
    deadline = time.monotonic() + 60
    killed = None
    while killed is None:
        assert time.monotonic() < deadline, "no page was ever being read"
        children = stack.job_worker_children()
        if batch.state()["counts"].get("processing") and children:
            killed = children[0]
            os.kill(killed, signal.SIGKILL)
        else:
            time.sleep(0.1)

    # Celery replaces the pool process and the page's job comes back (acks late).
    done = batch.wait_until_done(timeout=90)
    statuses = Counter(page["status"] for page in done["pages"])
    assert statuses == {"submitted": len(keys)}, done["pages"]
    assert max(page["attempts"] for page in done["pages"]) == 2  # the killed page, again
    per_document = submissions_per_document(stack, batch.document_ids)
    assert per_document == dict.fromkeys(batch.document_ids, 1)  # each read once
    change_sets = open_change_sets(stack, batch.document_ids)
    approve_as_clerk(stack, change_sets, "192.0.2.91")
    assert reconcile_write_back(stack, change_sets) == {"applied": len(keys)}
    assert stack.process.poll() is None
