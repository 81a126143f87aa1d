"""The source system down while clerks approve, on the prod-local stack.

The demo CRM (the connector's SQL database, on the stack's private PostgreSQL server) refuses
every connection for a while: existing sessions are ended and new ones are refused
(ALLOW_CONNECTIONS false), as for a CRM that is down. Clerks approve meanwhile. The outbox
holds every change (nothing lost, nothing dead-lettered), the outbox deliverer process of
prod-local (`forms-service outbox run`) tries again with back-off, and once the CRM accepts
connections again it drains by itself: each change written exactly once (counted by a
trigger in the CRM), the CRM rows agree, and approved = applied + conflicts + dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests.faults.conftest import OUTBOX_FIRST_DELAY_SECONDS
from tests.faults.write_back import (
    approve_as_clerk,
    open_change_sets,
    outbox_messages,
    reconcile_write_back,
    statuses,
)
from tests.prod_stack import Stack, crm_record

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.faults]

KEYS = [f"C{n:06d}" for n in range(110, 118)]
#: Changed in the CRM by another system after the proposal: its approval is a conflict.
CHANGED_ELSEWHERE = KEYS[-1]


@contextmanager
def _crm_down(stack: Stack) -> Iterator[None]:
    """The CRM database refuses connections (the open ones are ended) until the block ends."""
    crm = f"{stack.database}_crm"
    with psycopg.connect(stack.admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{crm}" WITH ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (crm,)
        )
    try:
        yield
    finally:
        with psycopg.connect(stack.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{crm}" WITH ALLOW_CONNECTIONS true')


def _count_writes(stack: Stack) -> None:
    """A trigger in the CRM records every row an UPDATE of customers really changes."""
    with stack.crm() as crm:
        crm.execute("CREATE TABLE fault_writes (customer_no text NOT NULL)")
        crm.execute(
            "CREATE FUNCTION fault_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO fault_writes VALUES (NEW.customer_no); RETURN NEW; END $$"
        )
        crm.execute(
            "CREATE TRIGGER fault_writes AFTER UPDATE ON customers "
            "FOR EACH ROW EXECUTE FUNCTION fault_write()"
        )


def _writes(stack: Stack) -> Counter[str]:
    with stack.crm() as crm:
        return Counter(key for (key,) in crm.execute("SELECT customer_no FROM fault_writes"))


def _answer_online(stack: Stack) -> list[str]:
    """Each customer passes the identity question and sends a new city; their documents."""
    token = stack.credentials()["api_token"]
    documents = stack.client("192.0.2.110").issue(token, "contact-update", KEYS, "crm-down")
    for number, document in enumerate(documents):
        customer = stack.client(f"192.0.2.{120 + number}")
        record = crm_record(stack, document["key"])
        challenge = customer.pass_challenge(document["link"], record["birth_date"])
        assert challenge.status_code == 303, challenge.text[:300]
        sent = customer.submit_contact(document["link"], record, city=f"VILLE {number}")
        assert sent.status_code == 303, sent.text[:300]  # acknowledged
    return [d["document_id"] for d in documents]


def _tried_again(
    stack: Stack, change_sets: list[str], before: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The outbox messages once each has been tried again since `before`."""
    deadline = time.monotonic() + 60
    while True:
        messages = outbox_messages(stack, change_sets)
        if all(m["attempts"] > b["attempts"] for m, b in zip(messages, before, strict=True)):
            return messages
        assert time.monotonic() < deadline, [m["attempts"] for m in messages]
        time.sleep(0.2)


def test_source_down_during_approvals_the_outbox_holds_and_drains_once_back(
    stack: Stack,
) -> None:
    document_ids = _answer_online(stack)
    with stack.service_db() as db:
        stored = Counter(
            document_id
            for (document_id,) in db.execute(
                "SELECT document_id FROM submissions WHERE document_id = ANY(%s)", (document_ids,)
            )
        )
    assert stored == Counter(document_ids)  # acknowledged = stored, once each
    change_sets = open_change_sets(stack, document_ids)
    with stack.crm() as crm:
        crm.execute(
            "UPDATE customers SET city = 'SAINT-FLOUR' WHERE customer_no = %s",
            (CHANGED_ELSEWHERE,),
        )
    _count_writes(stack)

    with _crm_down(stack):
        with pytest.raises(psycopg.OperationalError, match="not currently accepting"):
            stack.crm()
        approve_as_clerk(stack, change_sets, "192.0.2.111")  # the web's own try fails
        sets, outbox = statuses(stack, change_sets)
        assert (sets, outbox) == ({"approved": len(KEYS)}, {"pending": len(KEYS)})
        # Tried once by the approval itself (then, maybe, by the deliverer already).
        first = outbox_messages(stack, change_sets)
        assert min(m["attempts"] for m in first) >= 1
        assert all("cannot be reached" in m["last_error"] for m in first), first
        # The deliverer process tries again, waiting longer each time: after the k-th failed
        # try it waits 2 s x 2^(k-1), and a try comes no earlier than it is due, so from
        # the j-th to the k-th try the due time moves at least 2 s x (2^k - 2^j).
        again = _tried_again(stack, change_sets, first)
        for before, after in zip(first, again, strict=True):
            moved = after["next_attempt_at"] - before["next_attempt_at"]
            least = OUTBOX_FIRST_DELAY_SECONDS * (2 ** after["attempts"] - 2 ** before["attempts"])
            assert moved >= dt.timedelta(seconds=least), (before, after)
            assert after["status"] == "pending"  # held: not lost, not dead-lettered

    # Back: the outbox drains by itself, each change written once, no dead letter.
    sets = reconcile_write_back(stack, change_sets, timeout=90)
    assert sets == {"applied": len(KEYS) - 1, "conflict": 1}
    applied = {m["record_key"] for m in outbox_messages(stack, change_sets)} - {CHANGED_ELSEWHERE}
    assert _writes(stack) == Counter(applied)  # exactly once each; the conflict not at all
    assert crm_record(stack, CHANGED_ELSEWHERE)["city"] == "SAINT-FLOUR"
    assert min(m["attempts"] for m in outbox_messages(stack, change_sets)) >= 3
    assert stack.process.poll() is None
