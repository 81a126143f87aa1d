"""Counting contact pressure in bulk, and writing what a send adds to it (one row a message).

Reads are one query per batch of customers (never one per message); a send's row is written
in the transaction that claims its message, after the customers' lock (`lock_customers`), so
that two workers deciding for the same customer at once see each other's sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from forms_service.storage.pressure import ContactPressure

#: Customers per IN list.
_CHUNK = 500


@dataclass(frozen=True)
class PastContact:
    """One message already counted for a customer."""

    channel: str
    purpose: str
    at: dt.datetime


def past_contacts(
    session: Session,
    customers: Collection[str],
    since: dt.datetime,
    *,
    exclude: Collection[str] = (),
) -> dict[str, list[PastContact]]:
    """Customer -> the messages counted since `since`, oldest first (one query per 500).

    `exclude`: message ids not to count (the message being decided, claimed once before).
    """
    found: dict[str, list[PastContact]] = defaultdict(list)
    keys = sorted(set(customers))
    skip = set(exclude)
    for start in range(0, len(keys), _CHUNK):
        rows = session.execute(
            select(
                ContactPressure.customer_key,
                ContactPressure.message_id,
                ContactPressure.channel,
                ContactPressure.purpose,
                ContactPressure.at,
            )
            .where(
                ContactPressure.customer_key.in_(keys[start : start + _CHUNK]),
                ContactPressure.at > since,
            )
            .order_by(ContactPressure.at)
        )
        for customer, message_id, channel, purpose, at in rows:
            if message_id not in skip:
                found[customer].append(PastContact(channel, purpose, at))
    return found


def count_contact(
    session: Session,
    message_id: str,
    customer: str,
    channel: str,
    purpose: str,
    at: dt.datetime,
) -> None:
    """Count a message handed over (once: a message claimed again keeps its first row)."""
    count_contacts(session, [Counted(message_id, customer, channel, purpose)], at)


@dataclass(frozen=True)
class Counted:
    """A message to count: its id, its customer, its channel and purpose."""

    message_id: str
    customer: str
    channel: str
    purpose: str


def count_contacts(session: Session, messages: Iterable[Counted], at: dt.datetime) -> None:
    """Count messages handed over at `at`, each once (one query for those counted before)."""
    wanted = {m.message_id: m for m in messages}
    ids = list(wanted)
    for start in range(0, len(ids), _CHUNK):
        counted = session.scalars(
            select(ContactPressure.message_id).where(
                ContactPressure.message_id.in_(ids[start : start + _CHUNK])
            )
        )
        for message_id in counted:
            del wanted[message_id]
    if wanted:  # one executemany, without an ORM object a row
        session.execute(
            insert(ContactPressure),
            [
                {"message_id": m.message_id, "customer_key": m.customer, "channel": m.channel,
                 "purpose": m.purpose, "at": at}
                for m in wanted.values()
            ],
        )  # fmt: skip


def uncount_contact(session: Session, message_id: str) -> None:
    """Forget a message's count: it never reached the customer (refused at hand-over)."""
    row = session.get(ContactPressure, message_id)
    if row is not None:
        session.delete(row)


def lock_key(customer: str) -> int:
    """A signed 64-bit advisory lock key for a customer."""
    digest = hashlib.blake2b(customer.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_customers(session: Session, customers: Iterable[str]) -> None:
    """Hold the customers until the transaction ends (PostgreSQL advisory locks, in order).

    SQLite needs none: the service's transactions begin IMMEDIATE, one writer at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({lock_key(c) for c in customers})
    if not keys:
        return
    # One statement for the batch, the locks taken in the keys' order (two batches sharing
    # customers never wait for each other in a circle).
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM "
            "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
        ),
        {"keys": keys},
    )
