"""kill -9 of the job worker's main process in the middle of a scan batch (prod-local stack).

What happens, and what this test holds to:
- Celery's pool processes die with their main process: each asks the kernel for a SIGKILL
  when its parent dies (PR_SET_PDEATHSIG, celery.concurrency.prefork.process_initializer).
  No orphan goes on reading, so none can settle a page a second time.
- The page being read stays `processing`; its job is unacknowledged (acks late) in Redis.
- prod-local starts a new worker (compose's restart policy does the same); Redis hands it the
  pages never handed out at once, and the killed page's job once the visibility timeout has
  passed (8 s on this stack, see conftest.py; 600 s by default).
- Every page ends submitted, read once more at most (the killed one), one submission per
  document, and the clerk's approvals are all written back: approved = applied + conflicts +
  dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.faults.conftest import VISIBILITY_TIMEOUT_SECONDS
from tests.faults.scan_batches import send_batch, submissions_per_document
from tests.faults.write_back import approve_as_clerk, open_change_sets, reconcile_write_back
from tests.mailroom_scans import as_pdf, scanned_page
from tests.ocr_pages import Answers
from tests.prod_stack import Stack, scan_runtime

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.faults]
FORM = "contact-update"


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting to be reaped has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _pages(db: psycopg.Connection[Any], batch_id: str) -> dict[str, dict[str, Any]]:
    rows = db.execute(
        "SELECT id, status, attempts, updated_at FROM scan_pages WHERE batch_id = %s",
        (batch_id,),
    ).fetchall()
    return {
        page_id: {"status": status, "attempts": attempts, "updated_at": updated_at}
        for page_id, status, attempts, updated_at in rows
    }


def _page_just_started(db: psycopg.Connection[Any], batch_id: str) -> str | None:
    """A page whose reading began less than 0.15 s ago (a page takes longer to read)."""
    now = dt.datetime.now(dt.UTC)
    for page_id, page in _pages(db, batch_id).items():
        started = now - page["updated_at"]
        if page["status"] == "processing" and started < dt.timedelta(seconds=0.15):
            return page_id
    return None


def test_kill_9_of_the_job_worker_main_process_mid_batch_resumes_on_a_new_worker(
    stack: Stack,
) -> None:
    keys = [f"C{n:06d}" for n in range(100, 106)]
    batch = send_batch(stack, stack.client("192.0.2.100"), keys, "kill-worker-main")

    # Kill -9 the main process as soon as a page has just begun to be read.
    main = stack.job_worker()
    deadline = time.monotonic() + 60
    with stack.service_db() as db:
        while (killed_page := _page_just_started(db, batch.id)) is None:
            assert time.monotonic() < deadline, "no page was ever being read"
            time.sleep(0.01)
        children = stack.job_worker_children()
        os.kill(main, signal.SIGKILL)
        killed_at = time.monotonic()
        assert children, "the worker had no pool process"

        # Its pool processes die with it: no orphan goes on reading.
        _wait_for(lambda: all(_gone(pid) for pid in children), 10, "a pool outlived main")
        left = _pages(db, batch.id)
    assert left[killed_page]["status"] == "processing"  # killed in the middle of the page
    assert left[killed_page]["attempts"] == 1

    # prod-local starts a new worker; the batch resumes on it by itself.
    _wait_for(
        lambda: stack.job_worker() != main and not _gone(stack.job_worker()),
        30,
        "no new worker was started",
    )
    done = batch.wait_until_done(timeout=120)
    resumed_after = time.monotonic() - killed_at
    pages = {page["id"]: page for page in done["pages"]}
    assert {p["status"] for p in pages.values()} == {"submitted"}, done["pages"]
    attempts = {page_id: page["attempts"] for page_id, page in pages.items()}
    assert attempts.pop(killed_page) == 2  # the killed page, read once more
    assert set(attempts.values()) == {1}  # every other page, once
    # The killed page's job came back only once its visibility timeout had passed.
    assert resumed_after >= VISIBILITY_TIMEOUT_SECONDS - 1, resumed_after
    per_document = submissions_per_document(stack, batch.document_ids)
    assert per_document == dict.fromkeys(batch.document_ids, 1)  # one answer per document

    change_sets = open_change_sets(stack, batch.document_ids)
    approve_as_clerk(stack, change_sets, "192.0.2.101")
    assert reconcile_write_back(stack, change_sets) == {"applied": len(keys)}
    assert stack.process.poll() is None  # the stack lived on


def test_kill_9_of_the_job_worker_mid_pdf_return_the_returns_still_end_scanned(
    stack: Stack,
) -> None:
    """Printed-and-scanned PDF returns (no field left) read by the mailroom when it is killed.

    Each return is its own scan batch; the killed page's return must not stay
    `awaiting_scan`: it ends `scanned` with one answer per document, like a paper batch.
    """
    client = stack.client("192.0.2.106")
    token = stack.credentials()["api_token"]
    keys = [f"C{n:06d}" for n in range(106, 110)]
    documents = [d["document_id"] for d in client.issue(token, FORM, keys, "kill-pdf-return")]
    runtime = scan_runtime(stack)
    returns: dict[str, str] = {}
    for document_id in documents:
        page = scanned_page(runtime, document_id, FORM, Answers(texts={"city": "ALBI"}))
        sent = client.post(
            "/api/v1/returns",
            headers={"Authorization": f"Bearer {token}"},
            files=[("file", ("return.pdf", as_pdf([page]), "application/pdf"))],
        )
        assert sent.status_code == 202, sent.text
        assert sent.json()["status"] == "awaiting_scan"
        returns[sent.json()["return_id"]] = document_id

    def shown(return_id: str) -> dict[str, Any]:
        found = client.get(
            f"/api/v1/returns/{return_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert found.status_code == 200, found.text[:300]
        body: dict[str, Any] = found.json()
        return body

    batches = {shown(r)["batch_id"]: r for r in returns}
    assert None not in batches

    main = stack.job_worker()
    deadline = time.monotonic() + 60
    with stack.service_db() as db:
        while True:
            started = [(b, p) for b in batches if (p := _page_just_started(db, b)) is not None]
            if started:
                break
            assert time.monotonic() < deadline, "no page of a return was ever being read"
            time.sleep(0.01)
        os.kill(main, signal.SIGKILL)
        ((killed_batch, killed_page), *_) = started
        _wait_for(lambda: _gone(main), 10, "the worker outlived kill -9")
        assert _pages(db, killed_batch)[killed_page]["status"] == "processing"
    assert shown(batches[killed_batch])["status"] == "awaiting_scan"

    # A new worker takes the batches up again; every return ends, none stays waiting.
    def ended() -> bool:
        return all(shown(r)["status"] != "awaiting_scan" for r in returns)

    _wait_for(ended, 120, "a PDF return stayed awaiting_scan")
    per_document = submissions_per_document(stack, documents)
    assert per_document == dict.fromkeys(documents, 1)  # one answer per document
    for return_id, document_id in returns.items():
        body = shown(return_id)
        assert (body["status"], body["document_id"]) == ("scanned", document_id), body
        assert [p["status"] for p in body["pages"]] == ["submitted"]
    with stack.service_db() as db:
        (attempts,) = db.execute(
            "SELECT attempts FROM scan_pages WHERE id = %s", (killed_page,)
        ).fetchone() or (None,)
        events = db.execute(
            "SELECT count(*) FROM audit_events WHERE kind = 'pdf_return_scanned'"
            " AND detail->>'return' = ANY(%s)",
            (list(returns),),
        ).fetchone()
    assert attempts == 2  # the killed page, read once more
    assert events == (len(returns),)
    assert stack.process.poll() is None
