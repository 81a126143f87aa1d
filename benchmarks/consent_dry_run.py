"""The consent gate's dry run over 100,000 documents on the embedded default (SQLite).

The dry run of a commercial campaign (SMS, then e-mail) with the shipped contact rules reads,
a batch of 200 documents at a time: the documents, their first messages, their CRM records,
the ledger, the customers' counted contacts (one query per batch) and the channels' bookings,
chooses each document's channel and decides it. The baselines are bare SQL over the same rows:
- count: `count(*)` of the campaign's documents, of the CRM's customers and of the counted
  contacts of the window (what a person checking "how many would we send" would type);
- read: the same rows fetched (every column the dry run needs), without deciding anything.
The ratios are printed; the target is the dry run within 5x of the bare reads (well under a
minute in any case).

A quarter of the customers have contacts counted in the last 30 days (one to three
commercial messages), so that the caps defer and suppress some.

    .venv/bin/python benchmarks/consent_dry_run.py              # 100,000 documents
    .venv/bin/python benchmarks/consent_dry_run.py --count 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import MetaData, func, insert, select  # noqa: E402

from forms_service.config import DEMO_CRM_RECORD_TYPES  # noqa: E402
from forms_service.connectors.service import build_connectors  # noqa: E402
from forms_service.consent.gate import Gate  # noqa: E402
from forms_service.consent.rules import load_contact_rules  # noqa: E402
from forms_service.definitions.service import load_definitions  # noqa: E402
from forms_service.delivery.campaigns import CampaignOptions  # noqa: E402
from forms_service.delivery.interfaces import Channel, Purpose  # noqa: E402
from forms_service.delivery.service import DeliveryService  # noqa: E402
from forms_service.demo.service import customers_table  # noqa: E402
from forms_service.storage import migrate  # noqa: E402
from forms_service.storage.messages import Message  # noqa: E402
from forms_service.storage.model import Document, DocumentStatus  # noqa: E402
from forms_service.storage.pressure import ContactPressure  # noqa: E402
from forms_service.storage.service import make_engine, make_session_factory  # noqa: E402

DEFINITIONS = ROOT / "form_definitions"
#: A Tuesday, 10:00 in Paris: commercial SMS may go (the calendar does not defer them all).
NOW = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
CAMPAIGN = "benchmark"


def _crm(url: str, count: int, rng: random.Random) -> None:
    engine = make_engine(url)
    metadata = MetaData()
    table = customers_table(metadata)
    metadata.create_all(engine)
    rows = []
    for n in range(1, count + 1):
        rows.append(
            {
                "customer_no": f"C{n:06d}",
                "first_name": "Claire",
                "last_name": f"Martin{n}",
                "address_line": f"{n} rue des Lilas",
                "postcode": "75002",
                "city": "Paris",
                "email": f"client{n}@example.org" if rng.random() < 0.9 else None,
                "phone": f"06{n % 100_000_000:08d}" if rng.random() < 0.8 else None,
                "consent_email": rng.random() < 0.8,
                "consent_sms": rng.random() < 0.7,
                "consent_post": True,
                "preferred_channel": rng.choice(["sms", "email", "post", None]),
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(table), rows[start : start + 10_000])
    engine.dispose()


def _service_rows(url: str, count: int, rng: random.Random) -> None:
    engine = make_engine(url)
    documents = [
        {
            "id": secrets.token_hex(16),
            "reference": f"R{n:012d}",
            "form_id": "contact-update",
            "form_version": 1,
            "layout_version": 1,
            "record_key": f"C{n:06d}",
            "campaign": CAMPAIGN,
            "snapshot": {"email": f"client{n}@example.org", "city": "Paris"},
            "challenge_digests": {},
            "status": DocumentStatus.ISSUED.value,
            "issued_at": NOW - dt.timedelta(days=1),
            "expires_at": NOW + dt.timedelta(days=59),
            "challenge_failures": 0,
            "challenge_locks": 0,
        }
        for n in range(1, count + 1)
    ]
    pressure = []
    for n in range(1, count + 1):
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                pressure.append(
                    {
                        "message_id": secrets.token_hex(16),
                        "customer_key": f"crm/customer/C{n:06d}",
                        "channel": rng.choice(["email", "sms", "letter"]),
                        "purpose": "commercial",
                        "at": NOW - dt.timedelta(days=rng.uniform(0.5, 29)),
                    }
                )
    with engine.begin() as connection:
        for start in range(0, len(documents), 10_000):
            connection.execute(insert(Document), documents[start : start + 10_000])
        for start in range(0, len(pressure), 10_000):
            connection.execute(insert(ContactPressure), pressure[start : start + 10_000])
    engine.dispose()


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="Print where a dry run's time goes.")
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    rng = random.Random(14)
    folder = Path(tempfile.mkdtemp(prefix="consent-bench-"))
    service_url = f"sqlite:///{folder / 'forms.sqlite'}"
    crm_url = f"sqlite:///{folder / 'crm.sqlite'}"
    started = time.perf_counter()
    migrate.upgrade(service_url)
    _crm(crm_url, args.count, rng)
    _service_rows(service_url, args.count, rng)
    print(f"set up {args.count:,} documents and customers in {time.perf_counter() - started:.1f} s")

    config = {"crm": {"type": "sql", "url": crm_url, "record_types": DEMO_CRM_RECORD_TYPES}}
    connectors = build_connectors(config)
    definitions = load_definitions(DEFINITIONS, connectors={"crm": ["customer"]})
    engine = make_engine(service_url, immediate=True)
    sessions = make_session_factory(engine)
    service = DeliveryService(
        sessions,
        definitions,
        connectors,
        None,  # type: ignore[arg-type]  # a dry run renders nothing and links nothing
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,
        clock=lambda: NOW,
        gate=Gate(load_contact_rules(DEFINITIONS)),
    )
    options = CampaignOptions(channels=(Channel.SMS, Channel.EMAIL), purpose=Purpose.COMMERCIAL)
    crm_engine = make_engine(crm_url)
    crm = customers_table(MetaData())
    since = NOW - dt.timedelta(days=30)

    def count() -> int:
        total = 0
        with sessions() as session:
            total += (
                session.scalar(
                    select(func.count()).select_from(Document).where(Document.campaign == CAMPAIGN)
                )
                or 0
            )
            total += (
                session.scalar(
                    select(func.count()).select_from(Message).where(Message.campaign == CAMPAIGN)
                )
                or 0
            )
            total += (
                session.scalar(
                    select(func.count())
                    .select_from(ContactPressure)
                    .where(ContactPressure.at > since)
                )
                or 0
            )
        with crm_engine.connect() as connection:
            total += connection.scalar(select(func.count()).select_from(crm)) or 0
        return int(total)

    def read() -> int:
        total = 0
        with sessions() as session:
            total += len(
                session.execute(
                    select(Document.id, Document.form_id, Document.record_key, Document.status,
                           Document.expires_at, Document.revoked_at)
                    .where(Document.campaign == CAMPAIGN)
                ).all()
            )  # fmt: skip
            total += len(
                session.execute(
                    select(ContactPressure.customer_key, ContactPressure.channel,
                           ContactPressure.purpose, ContactPressure.at)
                    .where(ContactPressure.at > since)
                ).all()
            )  # fmt: skip
        with crm_engine.connect() as connection:
            total += len(connection.execute(select(crm)).all())
        return total

    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            service.send_campaign(CAMPAIGN, options, dry_run=True)
        pstats.Stats(profile).sort_stats(args.sort).print_stats(30)
    # Interleaved rounds (count, read, dry run), the best of each: the machine is shared, and
    # a load that comes and goes then weighs on the three alike.
    bare_count = bare_read = dry = float("inf")
    for _ in range(args.repeat):
        elapsed, counted = _timed(count, 1)
        bare_count = min(bare_count, elapsed)
        elapsed, rows = _timed(read, 1)
        bare_read = min(bare_read, elapsed)
        elapsed, plan = _timed(lambda: service.send_campaign(CAMPAIGN, options, dry_run=True), 1)
        dry = min(dry, elapsed)
    print(f"bare SQL count:      {bare_count * 1000:8.1f} ms ({counted:,} rows counted)")
    print(f"bare SQL read:       {bare_read * 1000:8.1f} ms ({rows:,} rows fetched)")
    print(f"dry run:             {dry * 1000:8.1f} ms ({plan.documents:,} documents)")
    for channel, row in sorted(plan.gate.items()):
        print(f"  {channel}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(row.items())))
    for reason, number in plan.decisions.most_common():
        print(f"  {reason}: {number:,}")
    print(f"ratio dry run / bare read:  {dry / bare_read:6.1f}x (target: within 5x)")
    print(f"ratio dry run / bare count: {dry / bare_count:6.1f}x")


if __name__ == "__main__":
    main()
