"""Robustness sweep: read every file of a PDF form corpus, none may crash, hang or blow memory.

The development corpus (../shared/corpus/pdf-forms, ~170 public forms from many producers) is
not in the repository, so this is a script, not a test; tests/fixtures/pdf-forms holds the
subset the tests use and is the default when the corpus is absent. Each file is read by
`read_pdf_form` in a forked child with a time limit and an address-space limit, so a hang or a
memory blow-up is caught and reported instead of taking the sweep down. The same child also
times pypdf's `get_fields()` on the file, as a baseline in the same invocation.

Prints, per producer: files read, files refused by each clear error (PdfRejected subclasses),
unexpected exceptions, time-outs and out-of-memory kills; then the slowest files and the ratio
of our time to pypdf's. Exits 1 when any file crashed, hung or ran out of memory.

    .venv/bin/python benchmarks/pdf_corpus.py [DIR] [--timeout 20] [--memory-mb 1024] [--damaged N]
        [--reader auto|pdfplumber|pypdf] [--oracles]
"""

from __future__ import annotations

import argparse
import collections
import io
import logging
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pypdf  # noqa: E402

from forms_service.pdfforms.acroform import read_pdf_form  # noqa: E402
from forms_service.pdfforms.guard import PdfRejected  # noqa: E402
from forms_service.pdfforms.model import PdfFieldKind  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pdf-forms"
FIXTURES = ROOT / "tests" / "fixtures" / "pdf-forms"
_BOOKKEEPING = {"MANIFEST.tsv", "SOURCES.md", "PROVENANCE.md"}


@dataclass(frozen=True)
class Outcome:
    """What reading one file gave."""

    path: str
    producer: str
    verdict: str  # "read", a PdfRejected class name, "CRASH <type>", "TIMEOUT", "MEMORY"
    fields: int = 0
    seconds: float = 0.0
    baseline_seconds: float | None = None
    peak_mb: float = 0.0
    detail: str = ""


def _producer_of(content: bytes) -> str:
    try:
        info = pypdf.PdfReader(io.BytesIO(content), strict=False).metadata
        return str(info.producer) if info and info.producer else "(none)"
    except Exception:  # unreadable metadata: the sweep still classifies the file
        return "(unreadable)"


def damage(content: bytes, variant: int, name: str) -> bytes:
    """Variant 0 is the file itself; others are cut or have bytes overwritten, reproducibly."""
    if variant == 0 or not content:
        return content
    rng = random.Random(f"{name}:{variant}")
    if variant % 2:
        return content[: rng.randrange(len(content))]
    damaged = bytearray(content)
    for _ in range(8):
        at = rng.randrange(len(damaged))
        damaged[at : at + 4] = bytes(rng.randrange(256) for _ in range(4))
    return bytes(damaged)


def _child(
    path: str,
    variant: int,
    reader: str,
    memory_bytes: int,
    sender: multiprocessing.connection.Connection,
) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    logging.disable(logging.WARNING)  # pypdf's and pdfminer's complaints about damaged files
    content = damage(Path(path).read_bytes(), variant, Path(path).name)
    if variant:
        path = f"{path}#damaged{variant}"
    producer = _producer_of(content)
    start = time.perf_counter()
    verdict, fields, detail = "read", 0, ""
    try:
        fields = len(read_pdf_form(content, reader=reader).fields)
    except PdfRejected as exc:
        verdict, detail = type(exc).__name__, str(exc)
    except MemoryError:
        verdict = "MEMORY"
    except Exception as exc:  # the sweep exists to find these
        verdict, detail = f"CRASH {type(exc).__name__}", str(exc)[:200]
    seconds = time.perf_counter() - start
    baseline: float | None = None
    start = time.perf_counter()
    try:
        pypdf.PdfReader(io.BytesIO(content), strict=False).get_fields()
        baseline = time.perf_counter() - start
    except Exception:  # pypdf refusing a file is no baseline time
        baseline = None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sender.send(Outcome(path, producer, verdict, fields, seconds, baseline, peak, detail))
    sender.close()


def sweep_file(
    path: Path, timeout: float, memory_mb: int, variant: int = 0, reader: str = "auto"
) -> Outcome:
    """Read one file (or a damaged variant) in a forked child; a hang or a kill is an outcome."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(str(path), variant, reader, memory_mb * 1024 * 1024, sender)
    )
    start = time.perf_counter()
    child.start()
    sender.close()
    if receiver.poll(timeout):
        try:
            outcome: Outcome = receiver.recv()
        except EOFError:
            outcome = Outcome(str(path), "?", "MEMORY", detail="the child died while reading")
        child.join(5)
        return outcome
    child.kill()
    child.join()
    verdict = "TIMEOUT" if child.exitcode == -9 else f"CRASH exit {child.exitcode}"
    return Outcome(str(path), "?", verdict, seconds=time.perf_counter() - start)


def oracle_differences(path: Path) -> list[str]:
    """Fields whose value differs between our reader and pdftk or PDFium (a report, no verdict).

    The known, explained kinds of difference are listed in tests/readers/test_reader_oracles.py;
    on the whole corpus they add fields only pdftk lists (widgets missing from /Fields), fields
    PDFium cannot see (no widget on any page) and forms with duplicate field names.
    """
    from tests.pdf_oracles import read_with_pdfium, read_with_pdftk

    form = read_pdf_form(path.read_bytes())
    ours = {
        name: found
        for name, found in form.fields.items()
        if found.kind not in (PdfFieldKind.PUSHBUTTON, PdfFieldKind.SIGNATURE)
    }
    found: list[str] = []
    for label, read in (("pdftk", read_with_pdftk), ("pdfium", read_with_pdfium)):
        try:
            theirs = read(path)
        except Exception as exc:  # an oracle that cannot open the file says nothing
            found.append(f"{label} could not read it: {type(exc).__name__}")
            continue
        values = {
            name: (f.value if f.value and f.value.strip() else None)
            for name, f in theirs.items()
            if f.kind not in ("pushbutton", "signature", "node")
        }
        for name in sorted(set(ours) | set(values)):
            mine = ours[name].value if name in ours else "<absent>"
            if label == "pdfium" and name in ours and ours[name].kind is PdfFieldKind.LIST:
                labels = dict(ours[name].options)
                mine = ",".join(labels.get(v, v) for v in (mine or "").split(",")) or None
            other = values.get(name, "<absent>") if name in values else "<absent>"
            if mine != other:
                found.append(f"{label}: {name!r} ours={mine!r} theirs={other!r}")
    return found


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name not in _BOOKKEEPING)


def _family(producer: str) -> str:
    """Group producers by product, not by version (for the summary only)."""
    words = producer.replace("(", " ").split()
    known = (
        "Acrobat Distiller",
        "Acrobat Pro",
        "Adobe Acrobat",
        "Acrobat Web Capture",
        "LiveCycle",
        "Adobe PDF Library",
        "Designer",
    )
    for name in known:
        if name.lower() in producer.lower():
            return name
    return " ".join(words[:2]) if words else "(none)"


def main() -> int:
    """Run the sweep and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument(
        "--damaged", type=int, default=0, help="also read N cut or overwritten copies of each"
    )
    parser.add_argument("--reader", choices=("auto", "pdfplumber", "pypdf"), default="auto")
    parser.add_argument(
        "--oracles", action="store_true", help="also compare values with pdftk and PDFium"
    )
    args = parser.parse_args()
    directory = args.directory or (CORPUS if CORPUS.is_dir() else FIXTURES)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    started = time.perf_counter()
    outcomes = [
        sweep_file(p, args.timeout, args.memory_mb, reader=args.reader) for p in _files(directory)
    ]
    damaged = [
        sweep_file(p, args.timeout, args.memory_mb, variant, args.reader)
        for p in _files(directory)
        for variant in range(1, args.damaged + 1)
    ]
    by_family: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for outcome in outcomes:
        by_family[_family(outcome.producer)][outcome.verdict] += 1
    print(f"{len(outcomes)} files under {directory}")
    print(f"{'producer':28} {'files':>5}  verdicts")
    for family, verdicts in sorted(by_family.items(), key=lambda kv: -sum(kv[1].values())):
        shown = ", ".join(f"{v} {n}" for v, n in verdicts.most_common())
        print(f"{family[:28]:28} {sum(verdicts.values()):5}  {shown}")
    if damaged:
        verdicts = collections.Counter(o.verdict for o in damaged)
        print(
            f"{len(damaged)} damaged copies:",
            ", ".join(f"{v} {n}" for v, n in verdicts.most_common()),
        )
    bad = [o for o in outcomes + damaged if o.verdict.startswith(("CRASH", "TIMEOUT", "MEMORY"))]
    for outcome in bad:
        print(f"BUG {outcome.verdict}: {outcome.path} {outcome.detail}")
    refused = collections.Counter(o.verdict for o in outcomes if o.verdict not in ("read",))
    print("refusals and failures:", dict(refused) or "none")
    read = [o for o in outcomes if o.verdict == "read"]
    if read:
        times = [o.seconds for o in read]
        print(
            f"time per file read: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.0f} ms; peak RSS max {max(o.peak_mb for o in read):.0f} MB"
        )
        paired = [o for o in read if o.baseline_seconds]
        ours = sum(o.seconds for o in paired)
        theirs = sum(o.baseline_seconds or 0 for o in paired)
        if theirs:
            print(
                f"ours / pypdf get_fields() on the {len(paired)} files both read: "
                f"{ours:.2f} s / {theirs:.2f} s = {ours / theirs:.2f}x"
            )
        for outcome in sorted(read, key=lambda o: -o.seconds)[:5]:
            print(f"  slowest: {outcome.seconds * 1000:7.0f} ms {outcome.path}")
    if args.oracles:
        agreeing = 0
        for outcome in read:
            differences = oracle_differences(Path(outcome.path))
            agreeing += not differences
            if differences:
                print(f"DIFF {outcome.path}: {len(differences)}")
                for line in differences[:5]:
                    print(f"    {line[:160]}")
        print(f"oracles: {agreeing} of {len(read)} files read agree with pdftk and PDFium")
    print(f"sweep took {time.perf_counter() - started:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
