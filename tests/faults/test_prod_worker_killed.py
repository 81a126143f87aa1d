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
from tests.prod_stack import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.faults]


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
