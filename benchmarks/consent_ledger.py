"""What the consent ledger costs for a campaign of a million customers, on SQLite or PostgreSQL.

Fills a fresh, migrated service database through `ConsentLedger.record` (--customers customers,
one commercial e-mail consent each, 1,000 a statement and --commit-every a transaction, as
`consent import` does), then reads every customer's state the way the gate does, a campaign
batch (--batch keys) at a time with `ConsentLedger.states`, and compares it with the same batched
queries sent on the bare database driver's cursor. Prints the write rate, the read rate and
the read's ratio to the bare queries.

    .venv/bin/python benchmarks/consent_ledger.py [--customers 1000000] [--batch 1000]
        [--database-url postgresql+psycopg://…/db]   (default: a SQLite file in a temp folder)
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.consent.ledger import ConsentEntry, ConsentLedger, Source, Wording
from forms_service.storage import migrate
from forms_service.storage.service import make_engine, make_session_factory

AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
WORDING = Wording("J'accepte de recevoir des informations par e-mail", "fr")


def main() -> None:
    """Fill, read, compare; print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--commit-every", type=int, default=50_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'forms.sqlite'}"
        migrate.upgrade(url)
        engine = make_engine(url, immediate=True)
        sessions = make_session_factory(engine)
        ledger = ConsentLedger(clock=lambda: AT)
        keys = [customer_key("crm", "customer", f"C{n:07d}") for n in range(args.customers)]

        started = time.perf_counter()
        for start in range(0, len(keys), args.commit_every):
            entries = [
                ConsentEntry(
                    key,
                    "commercial",
                    "email",
                    ConsentState.GRANTED if n % 3 else ConsentState.WITHDRAWN,
                    AT,
                    Source.IMPORT,
                    via="crm",
                    wording=WORDING,
                )
                for n, key in enumerate(keys[start : start + args.commit_every], start)
            ]
            with sessions() as session, session.begin():
                ledger.record(session, entries)
        wrote = time.perf_counter() - started

        started = time.perf_counter()
        withdrawn = 0
        with sessions() as session:
            for start in range(0, len(keys), args.batch):
                states = ledger.states(
                    session, keys[start : start + args.batch], "commercial", "email"
                )
                withdrawn += sum(1 for s in states.values() if s is ConsentState.WITHDRAWN)
        read = time.perf_counter() - started

        # The same reads as bare SQL on the driver's cursor: the batches' IN queries, and one
        # count of every row.
        started = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            mark = "%s" if engine.dialect.name == "postgresql" else "?"
            bare_withdrawn = 0
            for start in range(0, len(keys), args.batch):
                chunk = keys[start : start + args.batch]
                marks = ", ".join([mark] * len(chunk))  # placeholders only, no value
                cursor.execute(
                    "SELECT customer, state FROM consent_states WHERE purpose = 'commercial' "  # noqa: S608
                    f"AND channel = 'email' AND customer IN ({marks})",
                    chunk,
                )
                bare_withdrawn += sum(1 for _c, state in cursor.fetchall() if state == "withdrawn")
            bare = time.perf_counter() - started
            cursor.execute(
                "SELECT count(*) FROM consent_states WHERE purpose = 'commercial' "
                "AND channel = 'email'"
            )
            row = cursor.fetchone()
            counted = row[0] if row else 0
        finally:
            raw.close()
        engine.dispose()
    assert counted == len(keys) and withdrawn == bare_withdrawn == (len(keys) + 2) // 3  # noqa: S101
    print(f"database: {url.split(':', 1)[0]}; customers: {len(keys):,}")
    print(f"write: {wrote:.1f} s ({len(keys) / wrote:,.0f} events/s, event + state + wording)")
    print(f"read by batches of {args.batch}: {read:.2f} s ({len(keys) / read:,.0f} states/s)")
    print(f"the same queries on the bare driver: {bare:.2f} s; ledger / bare: {read / bare:.2f}x")


if __name__ == "__main__":
    main()
