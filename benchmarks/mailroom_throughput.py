"""Mailroom throughput: pages per minute through the real job worker vs. read in one process.

Issues N documents of contact-update, draws their returned pages (typed answers in three
boxes, signed) with the real page codes, and sends them as one PDF batch:
- inline: jobs run in the caller (JOBS_EAGER), one process: the baseline;
- worker: the batch is queued on the embedded filesystem broker and read by a real
  `forms-service worker` with --concurrency 2 (prefork), as `make run` starts it.

Prints pages per minute of each (from the batch being stored to every page settled) and the
ratio worker / inline. Tesseract runs with OMP_THREAD_LIMIT=1 in both.

    .venv/bin/python benchmarks/mailroom_throughput.py            # 40 pages
    .venv/bin/python benchmarks/mailroom_throughput.py --pages 12
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["OMP_THREAD_LIMIT"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # the handprint model's numpy (docs/ocr.md)

from forms_service.app import create_app  # noqa: E402
from forms_service.config import DEMO_CRM_RECORD_TYPES  # noqa: E402
from forms_service.demo.service import create_demo_crm  # noqa: E402
from forms_service.intake.mailroom import queries  # noqa: E402
from forms_service.intake.mailroom.service import Upload  # noqa: E402
from forms_service.storage import migrate  # noqa: E402
from tests.mailroom_scans import as_pdf, issue, scanned_page  # noqa: E402
from tests.ocr_pages import Answers  # noqa: E402

FORM = "contact-update"


def _settings(folder: Path, crm: str, eager: bool) -> dict[str, Any]:
    return {
        "VAR_DIR": str(folder / "var"),
        "DATABASE_URL": f"sqlite:///{folder / 'forms.sqlite'}",
        "FILE_STORE_DIR": str(folder / "files"),
        "DEFINITIONS_DIR": str(ROOT / "form_definitions"),
        "CONNECTORS": {"crm": {"type": "sql", "url": crm, "record_types": DEMO_CRM_RECORD_TYPES}},
        "JOBS_EAGER": eager,
    }


def _batch(folder: Path, crm: str, pages: int, eager: bool) -> tuple[Any, bytes]:
    migrate.upgrade(f"sqlite:///{folder / 'forms.sqlite'}")
    app = create_app(_settings(folder, crm, eager))
    runtime = app.extensions["forms_service"]
    scans = []
    for n in range(pages):
        document = issue(runtime, FORM, f"C{n + 1:06d}")
        answers = Answers(
            texts={"city": "BORDEAUX", "postcode": "33000", "phone": "0612345678"}, signed=True
        )
        scans.append(scanned_page(runtime, document, FORM, answers, seed=n))
    return runtime, as_pdf(scans)


def _wait(runtime: Any, batch_id: str, deadline: float) -> dict[str, int]:
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            batch = queries.batch(session, batch_id)
        if batch.status == "done":
            return dict(batch.counts)
        time.sleep(0.2)
    raise SystemExit("the batch did not finish in time")


def inline(pages: int, crm: str) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        runtime, pdf = _batch(Path(tmp), crm, pages, eager=True)
        started = time.perf_counter()
        received = runtime.mailroom.receive([Upload("batch.pdf", pdf)], source="cli", actor="bench")
        counts = _wait(runtime, received.id, time.monotonic() + 3600)
        return time.perf_counter() - started, counts


def worker(pages: int, crm: str) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runtime, pdf = _batch(folder, crm, pages, eager=False)
        env = dict(os.environ)
        for name, value in _settings(folder, crm, eager=False).items():
            env[f"FORMS_{name}"] = json.dumps(value) if isinstance(value, dict | bool) else value
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/forms-service"), "worker", "--concurrency", "2",
             "--loglevel", "WARNING"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(8)  # let the worker start and load its engine before the clock starts
            started = time.perf_counter()
            received = runtime.mailroom.receive(
                [Upload("batch.pdf", pdf)], source="cli", actor="bench"
            )
            counts = _wait(runtime, received.id, time.monotonic() + 3600)
            return time.perf_counter() - started, counts
        finally:
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        crm = f"sqlite:///{Path(tmp) / 'crm.sqlite'}"
        create_demo_crm(crm, max(args.pages, 10))
        one, one_counts = inline(args.pages, crm)
        two, two_counts = worker(args.pages, crm)
    print(f"pages: {args.pages}, {os.cpu_count()} cores, OMP_THREAD_LIMIT=1")
    print(f"inline (1 process):        {60 * args.pages / one:6.1f} pages/min  {one_counts}")
    print(f"worker (prefork, 2 procs): {60 * args.pages / two:6.1f} pages/min  {two_counts}")
    print(f"ratio worker / inline: {one / two:.2f}x")


if __name__ == "__main__":
    main()
