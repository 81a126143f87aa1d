"""Redis loses every key of the stack in the middle of a scan batch (prod-local stack).

A FLUSHALL, a Redis restarted without persistence, or an eviction: the page jobs not yet
handed out are gone, and so are kombu's queue bindings. Nothing is restarted. What this test
holds to: the job worker's recovery sweep (forms_service/jobs/sweeps.py, every second here
for what waited SWEEP_AFTER_SECONDS, see conftest.py) sends the lost pages again, every page
ends submitted and read once, one answer per document, and the clerk's approvals are written
back. Only the stack's own keys are deleted: the Redis server is shared.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.faults.conftest import SWEEP_AFTER_SECONDS
from tests.faults.scan_batches import send_batch, submissions_per_document
from tests.faults.write_back import approve_as_clerk, open_change_sets, reconcile_write_back
from tests.prod_stack import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.faults]


def _flush(stack: Stack) -> int:
    """Delete every key of the stack (its job queue, unacknowledged jobs, bindings, limits)."""
    store = redis.Redis.from_url(stack.redis_url)
    try:
        keys = list(store.scan_iter(match=f"{stack.prefix}*", count=500))
        if keys:
            store.delete(*keys)
        return len(keys)
    finally:
        store.close()


def test_redis_flushed_mid_batch_every_page_is_read_once_without_a_restart(
    stack: Stack,
) -> None:
    keys = [f"C{n:06d}" for n in range(81, 89)]
    worker = stack.job_worker()
    batch = send_batch(stack, stack.client("192.0.2.81"), keys, "redis-flushed")

    # Flush once the worker is at work: a page read, most still waiting in Redis.
    deadline = time.monotonic() + 60
    while (counts := batch.state()["counts"]).get("submitted", 0) < 1:
        assert time.monotonic() < deadline, counts
        time.sleep(0.05)
    assert _flush(stack) > 0
    waiting = batch.state()["counts"].get("queued", 0)
    assert waiting >= 2, counts  # lost with the flush: only the sweep can send them again

    done = batch.wait_until_done(timeout=120 + SWEEP_AFTER_SECONDS)
    assert {p["status"] for p in done["pages"]} == {"submitted"}, done["pages"]
    assert [p["attempts"] for p in done["pages"]] == [1] * len(keys)  # each read once
    assert stack.job_worker() == worker  # nothing was restarted
    assert submissions_per_document(stack, batch.document_ids) == dict.fromkeys(
        batch.document_ids, 1
    )
    log = (stack.state / "logs" / "worker.log").read_text()
    assert "page(s) sent again" in log, log[-3000:]
    with stack.service_db() as db:
        (requeued,) = db.execute(
            "SELECT coalesce(sum((detail->>'pages')::int), 0) FROM audit_events"
            " WHERE kind = 'scan_pages_requeued'"
        ).fetchone() or (0,)
    assert requeued >= waiting  # sent again by the sweep (other tests' pages may add to it)

    change_sets = open_change_sets(stack, batch.document_ids)
    approve_as_clerk(stack, change_sets, "192.0.2.82")
    assert reconcile_write_back(stack, change_sets) == {"applied": len(keys)}
    assert stack.process.poll() is None  # the stack lived on
