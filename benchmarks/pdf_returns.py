"""How fast returned PDFs are read, against the bare parsers (issue 4, item 3).

For the issued contact-update letter filled by pypdf, and for every public form of
tests/fixtures/pdf-forms, measures (median of several runs):
- ours: `read_pdf_form` (preflight checks + field-tree walk + values, appearance streams when
  /V is missing) with pdfplumber, and with the pypdf fallback;
- baselines: pdfplumber opening the file and listing the AcroForm fields' raw /V without
  any check, and pypdf's `get_fields()`.

Prints files per second and the ratio ours / baseline for each parser.

    .venv/bin/python benchmarks/pdf_returns.py [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402
import pypdf  # noqa: E402
from pdfminer.pdftypes import resolve1  # noqa: E402

from forms_service.pdfforms.acroform import read_pdf_form  # noqa: E402
from tests.pdf_forms import FIXTURES, Box, FormPdf, fill_with_pypdf  # noqa: E402


def _bare_pdfplumber(content: bytes) -> int:
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        acroform = resolve1(pdf.doc.catalog.get("AcroForm")) or {}
        stack = list(resolve1(acroform.get("Fields")) or [])
        count = 0
        while stack:
            node = resolve1(stack.pop())
            count += node.get("V") is not None
            stack += list(resolve1(node.get("Kids")) or [])
        return count


def _bare_pypdf(content: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(content)).get_fields() or {})


def _rate(files: list[bytes], read: Callable[[bytes], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        for content in files:
            read(content)
        timings.append(time.perf_counter() - start)
    return len(files) / statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    letter = FormPdf(
        [Box(n) for n in ("address_line", "address_extra", "city", "email")]
        + [Box("postcode", "comb", 5), Box("phone", "comb", 10)]
        + [Box("document_token", hidden=True, value="x" * 60)]
    ).build()
    filled = fill_with_pypdf(letter, {"city": "Lyon", "postcode": "69003"})
    corpus = [
        p.read_bytes() for p in sorted(FIXTURES.rglob("*.pdf")) if p.name != "issue19484_2.pdf"
    ]
    for label, files in (("filled letter x50", [filled] * 50), ("public forms", corpus)):
        plumber = _rate(files, lambda c: read_pdf_form(c, reader="pdfplumber"), runs)
        bare_plumber = _rate(files, _bare_pdfplumber, runs)
        fallback = _rate(files, lambda c: read_pdf_form(c, reader="pypdf"), runs)
        bare_pypdf = _rate(files, _bare_pypdf, runs)
        print(f"{label} ({len(files)} files, median of {runs} runs)")
        print(
            f"  read_pdf_form/pdfplumber {plumber:8.1f} files/s   bare pdfplumber "
            f"{bare_plumber:8.1f} files/s   ratio {plumber / bare_plumber:.2f}"
        )
        print(
            f"  read_pdf_form/pypdf      {fallback:8.1f} files/s   bare pypdf get_fields "
            f"{bare_pypdf:8.1f} files/s   ratio {fallback / bare_pypdf:.2f}"
        )


if __name__ == "__main__":
    main()
