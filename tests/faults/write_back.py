"""A clerk approves change sets on the stack; the write-back is then settled and reconciled.

approved = applied + conflicts + dead-lettered, read from the service database (change sets
and outbox), and the CRM holds what each delivered message wrote.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row

from tests.prod_stack import Stack

#: Where an approved change set ends: written, refused by the source's newer value, or
#: given up on (dead letter).
SETTLED = {"applied": "delivered", "conflict": "conflict", "failed": "dead"}


def open_change_sets(stack: Stack, document_ids: Sequence[str], timeout: float = 60) -> list[str]:
    """The change set of each document, once every one is proposed and waits for review."""
    deadline = time.monotonic() + timeout
    with stack.service_db() as db:
        while True:
            found = dict(
                db.execute(
                    "SELECT document_id, id FROM change_sets "
                    "WHERE document_id = ANY(%s) AND status = 'open'",
                    (list(document_ids),),
                ).fetchall()
            )
            if len(found) == len(document_ids):
                return [found[d] for d in document_ids]
            assert time.monotonic() < deadline, f"{len(found)} of {len(document_ids)} proposed"
            time.sleep(0.3)


def approve_as_clerk(stack: Stack, change_set_ids: Sequence[str], client_address: str) -> None:
    """A clerk signs in to the back office and approves each change set (303 each)."""
    credentials = stack.credentials()
    clerk = stack.client(client_address)
    signed = clerk.sign_in(credentials["clerk_user"], credentials["clerk_password"])
    assert signed.status_code == 303, signed.text[:500]
    for change_set_id in change_set_ids:
        approved = clerk.approve(change_set_id)
        assert approved.status_code == 303, (change_set_id, approved.text[:800])


def statuses(stack: Stack, change_set_ids: Sequence[str]) -> tuple[Counter[str], Counter[str]]:
    """Counts of the change sets' statuses and of their outbox messages' statuses."""
    with stack.service_db() as db:
        sets = Counter(
            status
            for (status,) in db.execute(
                "SELECT status FROM change_sets WHERE id = ANY(%s)", (list(change_set_ids),)
            )
        )
        outbox = Counter(
            status
            for (status,) in db.execute(
                "SELECT status FROM outbox WHERE change_set_id = ANY(%s)", (list(change_set_ids),)
            )
        )
    return sets, outbox


def outbox_messages(stack: Stack, change_set_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The outbox rows of the change sets, oldest first."""
    with stack.service_db() as db, db.cursor(row_factory=dict_row) as cursor:
        return list(
            cursor.execute(
                "SELECT * FROM outbox WHERE change_set_id = ANY(%s) ORDER BY id",
                (list(change_set_ids),),
            ).fetchall()
        )


def reconcile_write_back(
    stack: Stack, change_set_ids: Sequence[str], timeout: float = 60
) -> Counter[str]:
    """Wait until every approved change set is settled; check the counts and the CRM.

    Returns:
        the change sets' final statuses.
    """
    deadline = time.monotonic() + timeout
    while True:
        sets, outbox = statuses(stack, change_set_ids)
        if sets.get("approved", 0) == 0 and outbox.get("pending", 0) == 0:
            break
        assert time.monotonic() < deadline, (sets, outbox)
        time.sleep(0.3)
    # approved = applied + conflicts + dead-lettered, the same on both sides.
    assert set(sets) <= set(SETTLED), sets
    assert sum(sets.values()) == len(change_set_ids), sets
    assert outbox == Counter({SETTLED[s]: n for s, n in sets.items()}), (sets, outbox)
    messages = outbox_messages(stack, change_set_ids)
    assert len(messages) == len(change_set_ids)  # one message each: written once
    with stack.crm() as crm, crm.cursor(row_factory=dict_row) as cursor:
        for message in messages:
            row = cursor.execute(
                "SELECT * FROM customers WHERE customer_no = %s", (message["record_key"],)
            ).fetchone()
            assert row is not None
            wrote = {c: w["new"]["value"] for c, w in message["writes"].items()}
            held = {c: row[c] for c in wrote}
            if message["status"] == "delivered":
                assert held == wrote, message  # the CRM agrees with the approval
            else:
                assert held != wrote, message  # a conflict left the source's newer value
    return sets
