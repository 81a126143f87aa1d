"""Campaign PDF throughput and peak memory, against a bare reportlab baseline (issue 4, item 7).

Runs, each in a fresh process so that peak memory is its own:
- ours: `run_campaign` exactly as `forms-service issue --all --pdf DIR [--jobs N]` does it
  (issue each document in SQLite with its audit event, read the CRM record, render the
  letter and the fillable form, write one PDF per document, write the manifest);
- baseline: reportlab alone drawing the same letter text and one QR code per page, same page
  count, same embedded font, one file per document; nothing else.

Prints documents per second, peak RSS and the ratios the issue sets as targets:
ours >= 50% of the baseline per process, --jobs 2 >= 1.7x one process, peak memory for the
large count within 10% of the small one.

    .venv/bin/python benchmarks/issue_pdf.py            # 1,000 and 10,000 documents
    .venv/bin/python benchmarks/issue_pdf.py --quick    # 200 and 1,000 documents
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM = "contact-update"
BASELINE_FONT = "BaselineDejaVuSans"


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _result(count: int, seconds: float, cpu: float) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "rate": count / seconds,
        "cpu_rate": count / cpu,
        "peak_mb": _peak_mb(),
        "load": os.getloadavg()[0],
    }


def _peak_mb() -> float:
    """Peak resident memory of this process (VmHWM, which exec resets, unlike ru_maxrss)
    or of its largest worker process, whichever is higher."""
    own_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own_kb = int(line.split()[1])
    workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own_kb, workers_kb) / 1024


def _crm(work: Path, count: int) -> Path:
    from forms_service.demo.service import create_demo_crm

    path = work / f"crm-{count}.sqlite"
    if not path.exists():
        create_demo_crm(f"sqlite:///{path}", count)
    return path


def run_ours(count: int, jobs: int, work: Path) -> dict[str, Any]:
    from forms_service.config import DEMO_CRM_RECORD_TYPES, ensure_secrets, load_settings
    from forms_service.connectors.interfaces import Selection
    from forms_service.issuing.campaign import CampaignPlan, run_campaign
    from forms_service.runtime import build_runtime, worker_issuing
    from forms_service.storage import migrate

    run_dir = work / f"ours-{count}-{jobs}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    crm = run_dir / "crm.sqlite"
    shutil.copy(_crm(work, count), crm)
    database = f"sqlite:///{run_dir / 'forms.sqlite'}"
    settings = load_settings(
        environ={},
        overrides={
            "VAR_DIR": str(run_dir / "var"),
            "DATABASE_URL": database,
            "DEFINITIONS_DIR": str(ROOT / "form_definitions"),
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
    runtime = build_runtime(settings)
    plan = CampaignPlan(FORM, "bench", Selection(all=True), run_dir / "pdf", jobs=jobs)
    started, cpu = time.perf_counter(), _cpu_seconds()
    summary = run_campaign(
        runtime.issuing, worker_issuing(settings), plan, run_dir / "manifest.csv"
    )
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    assert summary.documents == summary.rendered == count, summary  # noqa: S101
    return _result(count, seconds, cpu)


# -- the bare baseline --------------------------------------------------------------------


def _baseline_lines(index: int) -> tuple[list[str], str]:
    link = f"http://127.0.0.1:5000/f/{index:022d}.tqi3dt.k1.{index:022d}"
    lines = [
        "forms_service",
        "Réf. 7Q4-K2M-98X",
        f"Mme Hélène Lefèvre {index}",
        "12 rue des Lilas",
        "69003 LYON",
        "23 novembre 2026",
        "Objet : Mise à jour de vos coordonnées",
        "Madame, Monsieur,",
        "Pour que nos informations restent exactes, merci de vérifier les données ci-jointes et",
        "de corriger ce qui a changé : en ligne à l'adresse ci-dessous, dans ce PDF, ou sur le",
        "formulaire papier à nous retourner.",
        "Nous vous prions d'agréer nos salutations distinguées.",
        "Répondez en ligne, en deux minutes :",
        link,
        "ou scannez ce code avec votre téléphone.",
    ]
    return lines, link


def _baseline_documents(first: int, count: int, out: Path, pages: int) -> int:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    from forms_service.issuing.barcodes import draw_qr, qr_code
    from forms_service.issuing.fonts import FONT_DIR

    # reportlab's own TrueType font, as a bare program would embed it (the renderer's
    # fonts reuse their subsets from one document to the next: that is not the baseline's).
    if BASELINE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(BASELINE_FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    # reportlab maps a name to the first font registered for the same face: not ours.
    assert type(pdfmetrics.getFont(BASELINE_FONT)) is TTFont  # noqa: S101
    for index in range(first, first + count):
        lines, link = _baseline_lines(index)
        canvas = Canvas(str(out / f"{index}.pdf"), pagesize=(595.28, 841.89), pageCompression=1)
        for _page in range(pages):
            text = canvas.beginText(56, 780)
            text.setFont(BASELINE_FONT, 10)
            for line in lines:
                text.textLine(line)
            canvas.drawText(text)
            draw_qr(canvas, qr_code(link), 450, 100, 85)
            canvas.showPage()
        canvas.save()
    return count


def run_render(count: int, jobs: int, work: Path) -> dict[str, Any]:
    """Our renderer alone (no database, no source): the same documents as the baseline."""
    return run_baseline(count, jobs, work, draw=_render_documents, name="render")


def run_baseline(
    count: int, jobs: int, work: Path, *, draw: Any = _baseline_documents, name: str = "baseline"
) -> dict[str, Any]:
    from forms_service.definitions.service import load_definitions
    from forms_service.issuing.layout import layout

    pages = 1 + layout(load_definitions(ROOT / "form_definitions")[FORM]).page_count
    out = work / f"{name}-{count}-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    if draw is _render_documents:
        _render_setup()  # workers fork from here with it loaded, as campaign workers do
    started, cpu = time.perf_counter(), _cpu_seconds()
    if jobs == 1:
        draw(0, count, out, pages)
    else:
        chunk = 25
        tasks = [(first, min(chunk, count - first), out, pages) for first in range(0, count, chunk)]
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            assert sum(pool.starmap(draw, tasks)) == count  # noqa: S101
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    return _result(count, seconds, cpu)


@functools.cache
def _render_setup() -> tuple[Any, Any, Any]:
    """Definition, letter and renderer, once per process (as a campaign worker has them)."""
    from forms_service.definitions.service import load_definitions
    from forms_service.issuing.letter import letter_of
    from forms_service.issuing.pagecode import PageCodes
    from forms_service.issuing.pdf import PdfRenderer
    from forms_service.issuing.tokens import SigningKey

    definition = load_definitions(ROOT / "form_definitions")[FORM]
    renderer = PdfRenderer(PageCodes([SigningKey.parse("k1:" + "s" * 40)]))
    return definition, letter_of(definition), renderer


def _render_documents(first: int, count: int, out: Path, pages: int) -> int:
    from forms_service.issuing.pdf import DocumentContent

    definition, letter, renderer = _render_setup()
    for index in range(first, first + count):
        _lines, link = _baseline_lines(index)
        content = DocumentContent(
            document_id=f"{index:022d}",
            reference="7Q4-K2M-98X",
            token=link.rsplit("/", 1)[-1],
            link=link,
            snapshot={"address_line": "12 RUE DES LILAS", "postcode": "69003", "city": "Lyon"},
            record={"title": "Mme", "first_name": "Hélène", "last_name": f"Lefèvre {index}"},
            issued_on=dt.date(2026, 11, 23),
            expires_on=dt.date(2027, 1, 22),
        )
        (out / f"{index}.pdf").write_bytes(renderer.render(definition, letter, content))
    return count


# -- orchestration ------------------------------------------------------------------------


def _child(kind: str, count: int, jobs: int, work: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and read its JSON line."""
    completed = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(count), str(jobs), str(work)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    if completed.returncode != 0:
        raise SystemExit(f"{kind} {count} x{jobs} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parse the arguments and run the benchmark (or one measurement with --one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 documents")
    parser.add_argument("--one", nargs=4, metavar=("KIND", "COUNT", "JOBS", "WORK"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.one:
        kind, count, jobs, work = args.one
        runner = {"ours": run_ours, "render": run_render, "baseline": run_baseline}[kind]
        print(json.dumps(runner(int(count), int(jobs), Path(work))))
        return
    small, large = (200, 1000) if args.quick else (1000, 10000)
    work = Path(tempfile.mkdtemp(prefix="issue-pdf-bench-"))
    print(f"issue_pdf benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, form {FORM}, ")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, work dir {work}")
    print("(docs/CPU-s counts CPU time of the run and its workers: the rate per busy core,")
    print(" which other work on a shared machine does not distort)")
    for count in (small, large):
        _crm(work, count)
    results: dict[tuple[str, int, int], dict[str, Any]] = {}
    print(
        f"{'run':<10} {'docs':>6} {'jobs':>4} {'seconds':>8} {'docs/s':>8} "
        f"{'docs/CPU-s':>10} {'peak MB':>8} {'load':>5}"
    )
    for count in (small, large):
        for jobs in (1, 2):
            for kind in ("baseline", "render", "ours"):
                result = _child(kind, count, jobs, work)
                results[(kind, count, jobs)] = result
                print(
                    f"{kind:<10} {count:>6} {jobs:>4} {result['seconds']:>8.1f} "
                    f"{result['rate']:>8.1f} {result['cpu_rate']:>10.1f} {result['peak_mb']:>8.1f}"
                    f" {result['load']:>5.1f}",
                    flush=True,
                )
    print("\nratios (target):")
    for count in (small, large):
        base1 = results[("baseline", count, 1)]
        for kind in ("render", "ours"):
            one, two = results[(kind, count, 1)], results[(kind, count, 2)]
            print(
                f"  {count:>6} docs, {kind:<6}: / baseline, one process: wall "
                f"{one['rate'] / base1['rate']:.2f}, CPU {one['cpu_rate'] / base1['cpu_rate']:.2f} "
                f"(>= 0.50); --jobs 2 / one process {two['rate'] / one['rate']:.2f} (>= 1.70; "
                f"CPU per document, --jobs 2 / one process {one['cpu_rate'] / two['cpu_rate']:.2f})"
            )
    for kind in ("ours", "render", "baseline"):
        for jobs in (1, 2):
            ratio = (
                results[(kind, large, jobs)]["peak_mb"] / results[(kind, small, jobs)]["peak_mb"]
            )
            print(
                f"  peak memory {kind}, jobs {jobs}: {large} / {small} docs {ratio:.2f} (<= 1.10)"
            )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
