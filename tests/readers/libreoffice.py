"""Run the real LibreOffice (Debian's headless packages) on PDFs and office documents.

`soffice --headless --convert-to pdf` opens a PDF with Draw's PDF import and exports it again
with draw_pdf_Export, as a customer does who opens the letter in LibreOffice and saves it as
PDF; an OpenDocument text goes through Writer and writer_pdf_Export. Every call starts one
soffice process for all its files, with a private user profile (nothing touches ~/.config).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


def soffice() -> str:
    """The soffice executable, which scripts/install-system-packages.sh installs."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is not installed (make test runs install-system-packages.sh --tests)"
    return found


def convert_to_pdf(
    inputs: Sequence[Path], output_dir: Path, *, profile: Path, export: str = "pdf"
) -> list[Path]:
    """Convert files to PDF with one soffice start.

    Args:
        inputs: PDFs (opened by Draw) or office documents (opened by their application).
        output_dir: where the PDFs go, named after their input.
        profile: the LibreOffice user profile folder to use (created on first use).
        export: the --convert-to target, e.g. `pdf` or `pdf:writer_pdf_Export:{...}`.

    Returns:
        The exported PDFs, in the order of `inputs`.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            export,
            "--outdir",
            str(output_dir),
            *(str(path) for path in inputs),
        ],
        capture_output=True,
        check=False,
        timeout=180,
    )
    outputs = [output_dir / f"{path.stem}.pdf" for path in inputs]
    missing = [path.name for path in outputs if not path.exists()]
    assert done.returncode == 0 and not missing, (
        f"soffice failed ({done.returncode}), missing {missing}: "
        + (done.stdout + done.stderr).decode(errors="replace")
    )
    return outputs
