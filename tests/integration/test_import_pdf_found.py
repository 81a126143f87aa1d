"""Issue 17, `definitions import-pdf` on forms as they come: old encodings, shared export values,
XFA-only forms, damaged files, missing tooltips, and a long form imported a few fields at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from forms_service.cli import cli
from forms_service.pdfforms.labels import readable_name
from tests.raw_pdf import build, form, legacy_hybrid_form, stream


def _run(tmp_path: Path, pdf: bytes, *options: str) -> Result:
    (tmp_path / "form.pdf").write_bytes(pdf)
    return CliRunner().invoke(
        cli,
        [
            "definitions",
            "import-pdf",
            str(tmp_path / "form.pdf"),
            "-o",
            str(tmp_path / "f.yaml"),
            *list(options),
        ],
    )


def _skeleton(tmp_path: Path, pdf: bytes, *options: str) -> tuple[dict[str, Any], str, Result]:
    result = _run(tmp_path, pdf, *options)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "f.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text), text, result


def _text(name: bytes, rect: bytes, extra: bytes = b"") -> bytes:
    return (
        b"<< /FT /Tx /T (" + name + b") /Type /Annot /Subtype /Widget /Rect [" + rect + b"]"
        b" /P 3 0 R /DA (/Helv 10 Tf 0 g) " + extra + b" >>"
    )


def test_latin1_state_names_become_readable_choices(tmp_path: Path) -> None:
    skeleton, text, _ = _skeleton(tmp_path, legacy_hybrid_form(xfa=False))
    statut = next(f for f in skeleton["fields"] if f["pdf_field"] == "statut")
    assert [c["value"] for c in statut["choices"]] == ["Présent", "Résilié"]
    assert "b'" not in text and "\\x" not in text


def test_radio_buttons_sharing_an_export_value_are_reported(tmp_path: Path) -> None:
    on = stream(b"0 g 2 2 10 10 re f", b"/Type /XObject /Subtype /Form /BBox [0 0 14 14]")
    widget = (
        b"<< /Type /Annot /Subtype /Widget /Parent 7 0 R /Rect [%d 700 %d 714] /P 3 0 R"
        b" /AS /Off /AP << /N << /%s 11 0 R /Off 11 0 R >> >> >>"
    )
    pdf = form(
        [b"<< /FT /Btn /Ff 49152 /T (civilite) /Kids [8 0 R 9 0 R 10 0 R] >>"],
        [widget % (50, 64, b"M"), widget % (80, 94, b"Mme"), widget % (110, 124, b"M"), on],
    )
    skeleton, text, result = _skeleton(tmp_path, pdf)
    assert "sharing one export value" in text and "#   civilite: M\n" in text
    assert "1 radio group(s) with buttons sharing an export value" in result.stderr
    assert [c["value"] for c in skeleton["fields"][0]["choices"]] == ["M", "Mme"]


def test_max_length_is_kept_for_guessed_types(tmp_path: Path) -> None:
    pdf = form(
        [
            _text(b"Email", b"50 700 250 720", b"/MaxLen 40"),
            _text(b"Telephone", b"50 660 250 680", b"/MaxLen 10"),
            _text(b"CodePostal", b"50 620 250 640", b"/MaxLen 5 /TU (Code postal)"),
        ],
        [],
    )
    skeleton, _, _ = _skeleton(tmp_path, pdf)
    assert [(f["type"], f["rules"]) for f in skeleton["fields"]] == [
        ("email", {"max_length": 40}),
        ("phone", {"max_length": 10}),
        ("postcode", {"max_length": 5}),
    ]


def _xfa_only() -> bytes:
    return form(
        [_text(b"placeholder", b"0 0 0 0", b"/F 2")],
        [stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")],
        acroform_extra=b" /XFA 8 0 R",
    ).replace(b"/AcroForm 4 0 R >>", b"/AcroForm 4 0 R /NeedsRendering true >>")


def test_xfa_only_form_exits_non_zero_with_its_message(tmp_path: Path) -> None:
    result = _run(tmp_path, _xfa_only())
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and "XFA-only (dynamic) form" in result.stderr
    assert not (tmp_path / "f.yaml").exists()


def _in_a_process(tmp_path: Path, pdf: bytes, *options: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it (pytest's log capture would hide the libraries' logging)."""
    (tmp_path / "form.pdf").write_bytes(pdf)
    program = "from forms_service.cli import cli; cli()"
    command = [sys.executable, "-c", program, "definitions", "import-pdf"]
    return subprocess.run(
        [*command, str(tmp_path / "form.pdf"), "-o", str(tmp_path / "f.yaml"), *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )


def test_library_warnings_do_not_reach_the_user(tmp_path: Path) -> None:
    # A colour operator pdfminer cannot read: it logs "Cannot set non-stroke color…".
    page = b"/P0 cs /X sc BT /F1 10 Tf 50 705 Td (Nom :) Tj ET"
    pdf = form([_text(b"nom", b"140 700 290 716")], [], page_content=page)
    refused = _in_a_process(tmp_path, pdf, "--fields", "nothing*")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: "), refused.stderr  # the project's error first
    done = _in_a_process(tmp_path, pdf)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("form.pdf: 1 fields"), done.stderr


def test_labels_tooltip_else_printed_text_else_readable_name(tmp_path: Path) -> None:
    page = (
        b"BT /F1 10 Tf 50 705 Td (Nom de famille :) Tj ET "
        b"BT /F1 10 Tf 300 730 Td (Ville de naissance) Tj ET"
    )
    pdf = form(
        [
            _text(b"f1_1[0]", b"140 700 290 716"),  # printed on its left
            _text(b"f1_2[0]", b"300 705 450 721"),  # printed above
            _text(b"f1_3[0]", b"140 600 290 616", b"/TU (Pr\\351nom)"),  # its tooltip
            _text(b"topmostSubform[0].Page1[0].FirstName_2[0]", b"140 400 290 416"),
        ],
        [],
        page_content=page,
    )
    skeleton, _, _ = _skeleton(tmp_path, pdf)
    labels = [f["label"] for f in skeleton["fields"]]
    assert labels == [
        {"fr": "Nom de famille", "en": "Nom de famille"},
        {"fr": "Ville de naissance", "en": "Ville de naissance"},
        {"fr": "Prénom", "en": "Prénom"},
        {"fr": "First name 2", "en": "First name 2"},
    ]


def test_readable_names() -> None:
    assert readable_name("form1[0].#subform[6].Part10_Item5_Email[0]") == "Part 10 item 5 email"
    assert readable_name("IBAN_Titulaire") == "IBAN titulaire"
    assert readable_name("[0]") == "[0]"


def test_only_some_fields_of_a_long_form(tmp_path: Path) -> None:
    fields = [
        _text(b"f1_%d[0]" % n, b"50 %d 250 %d" % (800 - 4 * n, 803 - 4 * n)) for n in range(196)
    ]
    pdf = form(fields, [])
    skeleton, _, result = _skeleton(
        tmp_path, pdf, "--fields", "f1_1[[]0]", "--fields", "re:f1_19[0-1]\\[0\\]"
    )
    assert [f["pdf_field"] for f in skeleton["fields"]] == ["f1_1[0]", "f1_190[0]", "f1_191[0]"]
    assert "3 of 196 fields matched --fields" in result.stderr
    none = _run(tmp_path, pdf, "--fields", "nothing*")
    assert none.exit_code == 1 and "no field matches --fields nothing*" in none.stderr
    bad = _run(tmp_path, pdf, "--fields", "re:(")
    assert bad.exit_code == 2 and "--fields" in bad.stderr


def test_build_is_a_readable_pdf() -> None:
    assert build([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
