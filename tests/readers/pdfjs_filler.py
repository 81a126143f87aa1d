"""Fill PDF forms with pdf.js, the reader inside Firefox, and save them the way Firefox does.

The Node script tests/readers/pdfjs/fill.mjs runs the pinned `pdfjs-dist` package (installed
with `npm ci` by `make install-test`, part of `make test`): it sets the values in pdf.js's
annotationStorage as the viewer's annotation layer does when a customer types and clicks,
then calls `saveDocument()`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

PDFJS_DIR = Path(__file__).parent / "pdfjs"
PINNED = json.loads((PDFJS_DIR / "package.json").read_text())["dependencies"]["pdfjs-dist"]

#: A text, "/<state>" to click a checkbox or radio button, or the export values of a list.
PdfjsValue = str | Sequence[str]


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, (
        "Node.js is not installed (make test runs scripts/install-system-packages.sh --tests)"
    )
    installed = PDFJS_DIR / "node_modules" / "pdfjs-dist" / "package.json"
    assert installed.exists(), (
        f"pdfjs-dist is not installed: run make install-test (npm ci in {PDFJS_DIR})"
    )
    return node


def fill_many_with_pdfjs(forms: Sequence[tuple[bytes, Mapping[str, PdfjsValue]]]) -> list[bytes]:
    """Fill and save several PDFs in one Node process (pdf.js loads once).

    Args:
        forms: each PDF with its values by full field name.

    Returns:
        The bytes pdf.js saved, in the same order.
    """
    with tempfile.TemporaryDirectory(prefix="pdfjs-") as folder:
        work = Path(folder)
        jobs = []
        for index, (pdf, values) in enumerate(forms):
            (work / f"in{index}.pdf").write_bytes(pdf)
            plain = {k: v if isinstance(v, str) else list(v) for k, v in values.items()}
            jobs.append(
                {
                    "input": str(work / f"in{index}.pdf"),
                    "output": str(work / f"out{index}.pdf"),
                    "values": plain,
                }
            )
        done = subprocess.run(
            [_node(), str(PDFJS_DIR / "fill.mjs")],
            input=json.dumps(jobs).encode(),
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        report = json.loads(done.stdout)
        assert report["pdfjs"] == PINNED, report  # the pinned pdf.js ran, not another copy
        return [Path(job["output"]).read_bytes() for job in report["jobs"]]


def fill_with_pdfjs(pdf: bytes, values: Mapping[str, PdfjsValue]) -> bytes:
    """Fill one PDF in pdf.js and save it as Firefox's Save button does."""
    (saved,) = fill_many_with_pdfjs([(pdf, values)])
    return saved
