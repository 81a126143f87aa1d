"""Change-set throughput on SQLite: propose, approve, deliver, against bare source writes.

For N answered documents (contact-update, city and postcode changed):
- propose: read the live record, three-way diff, store the change set with its rows;
- approve: one clerk approves all (optimistic lock, audit events, outbox row in the same
  transaction), with delivery left to the worker;
- deliver: `forms-service outbox run --once` (claim, optimistic write to the CRM, audit);
- baseline: the same optimistic writes done directly with the SQL connector, nothing else.

Prints change sets per second for each step and the ratio of the whole write-back path
(approve + deliver) to the bare write, so a regression shows as a ratio, not a time.

    .venv/bin/python benchmarks/review_throughput.py [--count 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _runtime(work: Path, count: int) -> Any:
    from forms_service.config import DEMO_CRM_RECORD_TYPES, ensure_secrets, load_settings
    from forms_service.demo.service import create_demo_crm
    from forms_service.runtime import build_runtime
    from forms_service.storage import migrate

    crm = work / "crm.sqlite"
    create_demo_crm(f"sqlite:///{crm}", count)
    database = f"sqlite:///{work / 'forms.sqlite'}"
    settings = load_settings(
        environ={},
        overrides={
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": database,
            "DEFINITIONS_DIR": str(ROOT / "form_definitions"),
            "OUTBOX_DELIVER_IMMEDIATELY": False,
            "CONNECTORS": {
                "crm": {
                    "type": "sql",
                    "url": f"sqlite:///{crm}",
                    "record_types": DEMO_CRM_RECORD_TYPES,
                }
            },
        },
    )
    settings = ensure_secrets(settings)
    migrate.upgrade(database)
    return build_runtime(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    count = parser.parse_args().count

    from forms_service.connectors.interfaces import FieldWrite, Selection
    from forms_service.core.errors import InvalidInput
    from forms_service.definitions.model import Channel
    from forms_service.storage.model import Document

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        runtime = _runtime(work, count * 2)
        runtime.intake.after_submit = None  # propose is timed on its own
        keys = [f"C{n:06d}" for n in range(1, count * 2 + 1)]
        submissions = []
        skipped = 0
        for key in keys[:count]:
            (issued,) = runtime.issuing.issue("contact-update", Selection(keys=(key,)), "bench")
            with runtime.sessions() as session:
                document = session.get(Document, issued.document_id)
                session.expunge(document)
            definition = runtime.intake.definition(document)
            shown = {
                f.name: document.snapshot.get(f.name) for f in definition.fields_for(Channel.ONLINE)
            }
            if shown.get("email") and "@" not in str(shown["email"]):
                shown["email"] = None
            answer = shown | {"city": "Villeurbanne", "postcode": "69100"}
            try:
                receipt = runtime.intake.submit(
                    document, answer, shown, locale="fr", opened_at=None
                )
            except InvalidInput:  # a demo record the form refuses: not this benchmark's subject
                skipped += 1
                continue
            submissions.append(receipt.submission.id)
        n = len(submissions)

        started = time.perf_counter()
        views = [runtime.changes.propose(s) for s in submissions]
        propose = time.perf_counter() - started

        started = time.perf_counter()
        for view in views:
            runtime.changes.approve_all(view.id, actor="bench", version=view.version)
        approve = time.perf_counter() - started

        started = time.perf_counter()
        counts = runtime.outbox.run_once(limit=n + 1)
        deliver = time.perf_counter() - started
        if counts != {"delivered": n}:
            raise SystemExit(f"expected {n} deliveries, got {counts}")

        crm = runtime.connectors["crm"]
        records = [(k, crm.read("customer", k)) for k in keys[count:]]
        started = time.perf_counter()
        for key, record in records:
            if record is None:
                raise SystemExit(f"no record {key}")
            crm.apply(
                "customer",
                key,
                {
                    "city": FieldWrite(record["city"], "Villeurbanne"),
                    "postcode": FieldWrite(record["postcode"], "69100"),
                },
            )
        baseline = time.perf_counter() - started
        runtime.engine.dispose()

    print(f"change sets: {n} ({skipped} demo records skipped)")
    print(f"propose:  {n / propose:8.1f} per second")
    print(f"approve:  {n / approve:8.1f} per second")
    print(f"deliver:  {n / deliver:8.1f} per second")
    print(f"baseline: {len(records) / baseline:8.1f} bare optimistic writes per second")
    print(
        f"write-back path (approve + deliver) / bare write: {(approve + deliver) / n / (baseline / len(records)):.1f}x the time"
    )


if __name__ == "__main__":
    main()
