"""Issued PDFs open in real readers, carry widgets on the printed boxes and verifiable QR codes."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdf
import pypdfium2
import pytest
import zxingcpp
from flask import Flask
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text

from forms_service.cli.definitions import definitions_check
from forms_service.connectors.interfaces import Selection
from forms_service.definitions.model import Channel
from forms_service.issuing.layout import form_geometry
from forms_service.issuing.letter import letter_of
from forms_service.issuing.pagecode import TamperedPageCode
from forms_service.issuing.printing import DocumentPrinter
from forms_service.issuing.widgets import TOKEN_FIELD, split_widget_name
from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from ocr.geometry import OptionAnswer, OptionBox, Rect, ZoneKind
from tests.conftest import DEFINITIONS

FORMS = ("contact-update", "bank-details", "consent-preferences")


def _issue(runtime: Runtime, form_id: str, key: str = "C000002") -> tuple[str, bytes]:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "pdf-test")
    return issued.document_id, runtime.printer.pdf_for(issued.document_id)


def _rounded(rect: Rect) -> tuple[float, ...]:
    return tuple(round(v, 2) for v in (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height))


def _walk(fields: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The AcroForm field tree as pdfplumber sees it: (full name, widget dictionary)."""
    for ref in resolve1(fields):
        node = resolve1(ref)
        name = node.get("T")
        full = prefix
        if name is not None:
            part = decode_text(name) if isinstance(name, bytes) else str(name)
            full = f"{prefix}.{part}" if prefix else part
        kids = node.get("Kids")
        if kids is not None and all("T" not in resolve1(k) for k in resolve1(kids)):
            for kid in resolve1(kids):  # widgets of one field (a radio group)
                yield full, {**node, **resolve1(kid)}
        elif kids is not None:
            yield from _walk(kids, full)
        else:
            yield full, node


def _state_names(widget: dict[str, Any]) -> set[str]:
    appearances = resolve1(resolve1(widget["AP"])["N"])
    return {k for k in appearances if k != "Off"}


def _plumber_rects(acroform: Any, token: str) -> dict[tuple[str, str | None], tuple[float, ...]]:
    rects = {}
    for name, widget in _walk(acroform["Fields"]):
        if name == TOKEN_FIELD:
            assert decode_text(resolve1(widget["V"])) == token
            continue
        field_name, option = split_widget_name(name)
        field_type = resolve1(widget.get("FT"))
        if option is None and isinstance(field_type, PSLiteral) and field_type.name == "Btn":
            states = _state_names(widget)
            if states != {"Yes"}:
                (option,) = states
        rects[(field_name, option)] = tuple(round(float(v), 2) for v in resolve1(widget["Rect"]))
    return rects


@pytest.mark.parametrize("form_id", FORMS)
def test_pdf_opens_in_real_readers_with_accents(
    runtime: Runtime, tmp_path: Path, form_id: str
) -> None:
    _document_id, pdf = _issue(runtime, form_id)
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Form:            AcroForm" in info.stdout
    assert "A4" in info.stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert "DejaVuSans" in fonts.stdout
    dejavu = [line for line in fonts.stdout.splitlines() if "DejaVuSans" in line]
    assert all(" yes yes " in line for line in dejavu)  # embedded subsets
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    definition = runtime.definitions[form_id]
    assert definition.title_in("fr") in text
    assert "Écrivez en MAJUSCULES, un caractère par case" in text
    assert "Actuellement :" in text
    with runtime.sessions() as session:
        document = session.get(Document, _document_id)
        assert document is not None
        reference = document.reference
    pages = text.split("\f")
    assert all(f"Réf. {reference}" in page for page in pages if page.strip())
    record = runtime.connectors["crm"].read("customer", "C000002")
    assert record is not None
    assert record["last_name"] in text  # the window address
    letter = letter_of(definition)
    assert f"Objet : {letter.subject_in(definition, 'fr')}" in text
    assert "Mutuelle Horizon" in text  # the sender block of the definition's letter
    assert "enveloppe T jointe" in text
    assert str(record["postcode"]) in text


@pytest.mark.parametrize("form_id", FORMS)
def test_widgets_sit_exactly_on_the_printed_boxes_and_start_empty(
    runtime: Runtime, tmp_path: Path, form_id: str
) -> None:
    document_id, pdf = _issue(runtime, form_id)
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    definition = runtime.definitions[form_id]
    geometry = form_geometry(definition)
    expected: dict[tuple[str, str | None], tuple[int, tuple[float, ...], ZoneKind, int | None]] = {}
    fillable = {f.name for f in definition.fields if Channel.PDF in f.channels}
    for page in geometry.pages:
        for zone in page.zones:
            if zone.field not in fillable:
                continue  # printed for paper only
            if isinstance(zone, OptionBox) and zone.answer is OptionAnswer.NO:
                continue  # an option row's No square is paper only: the PDF ticks options
            expected[(zone.field, zone.choice)] = (
                page.number,
                _rounded(zone.rect),
                zone.kind,
                zone.cells,
            )

    # pypdf: the field list, values and per-page widget rectangles.
    reader = pypdf.PdfReader(path)
    fields = reader.get_fields()
    assert fields is not None
    token = fields.pop(TOKEN_FIELD)
    assert (
        runtime.signer.verify(str(token["/V"]), dt.datetime.now(dt.UTC)).document_id == document_id
    )
    for name, value in fields.items():
        assert value.get("/V") in (None, "", "/Off"), name  # empty on issue
    found = {}
    for page_index, pdf_page in enumerate(reader.pages):
        for annotation in pdf_page.get("/Annots", []):
            widget = annotation.get_object()
            parent = widget.get("/Parent")
            name = str(widget.get("/T") or parent.get_object()["/T"])
            if name == TOKEN_FIELD:
                assert page_index == 1 and int(widget["/F"]) & 2  # hidden, on the form page
                continue
            field_name, option = split_widget_name(name)
            if option is None and parent is not None:  # radio group: export value = choice
                option = next(str(k)[1:] for k in widget["/AP"]["/N"] if k != "/Off")
            rect = tuple(round(float(v), 2) for v in widget["/Rect"])
            found[(field_name, option)] = (page_index, rect, widget)
    assert set(found) == set(expected)
    for key, (form_page, rect, kind, cells) in expected.items():
        page_index, widget_rect, widget = found[key]
        assert page_index == form_page  # page 0 is the letter
        assert widget_rect == pytest.approx(rect, abs=0.011), key
        if kind is ZoneKind.COMB:
            assert int(widget["/MaxLen"]) == cells
            assert int(widget["/Ff"]) & (1 << 24)  # comb flag
        if kind is ZoneKind.CHECKBOX and key[0] in {
            f.name for f in definition.fields if f.type_name == "multiple_choice"
        }:
            assert set(widget["/AP"]["/N"]) == {"/Yes", "/Off"}

    # pdfplumber: the same rectangles by walking the AcroForm field tree.
    with pdfplumber.open(path) as plumber:
        acroform = resolve1(plumber.doc.catalog["AcroForm"])
        plumber_rects = _plumber_rects(acroform, str(token["/V"]))
    assert set(plumber_rects) == set(expected)
    for key, (_page, rect, _kind, _cells) in expected.items():
        assert plumber_rects[key] == pytest.approx(rect, abs=0.011), key


def _qr_payloads(pdf: bytes) -> list[list[str]]:
    document = pypdfium2.PdfDocument(pdf)
    found = []
    for index in range(len(document)):
        image = document[index].render(scale=200 / 72, grayscale=True).to_pil()
        gray = np.asarray(image.convert("L"))
        results = zxingcpp.read_barcodes(
            gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
        found.append([r.text for r in results])
    document.close()
    return found


def test_qr_code_on_each_page_decodes_to_a_verifiable_payload(runtime: Runtime) -> None:
    printer = runtime.printer
    for form_id in FORMS:
        document_id, pdf = _issue(runtime, form_id)
        payloads = _qr_payloads(pdf)
        assert (
            len(payloads) == 1 + printer.renderer.layout_of(runtime.definitions[form_id]).page_count
        )
        # The letter's code is the document's short link (issue 13), which leads to it.
        (letter_code,) = payloads[0]
        assert letter_code.startswith("http://localhost/r/")
        assert len(letter_code) == len("http://localhost/r/") + 20
        with runtime.sessions() as session:
            assert (
                runtime.short_links.resolve(session, letter_code.rsplit("/", 1)[1]) == document_id
            )
        for form_page, codes in enumerate(payloads[1:], start=1):
            (code,) = codes
            claims = printer.page_codes.decode(code)
            assert claims.document_id == document_id
            assert claims.page == form_page
            assert claims.version == runtime.definitions[form_id].version
            with pytest.raises(TamperedPageCode):
                printer.page_codes.decode(code.replace(f".{form_page}.", f".{form_page + 1}.", 1))


def test_rendering_the_same_document_twice_gives_the_same_pages(runtime: Runtime) -> None:
    document_id, first = _issue(runtime, "contact-update")
    # A printer of its own: nothing cached by the first rendering may change the second.
    second = DocumentPrinter(runtime.issuing).pdf_for(document_id)
    assert _qr_payloads(first) == _qr_payloads(second)
    text_first = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(first)).pages]
    text_second = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(second)).pages]
    assert text_first == text_second


def test_definitions_check_reports_a_wrong_letter(app: Flask, tmp_path: Path) -> None:
    for source in DEFINITIONS.glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    bank = tmp_path / "bank-details.yaml"
    bank.write_text(bank.read_text(encoding="utf-8").replace("  place: Paris", "  place: [Paris]"))
    result = app.test_cli_runner().invoke(definitions_check, [str(tmp_path)])
    assert result.exit_code == 1
    assert "bank-details.yaml: letter: 'place' must be a town name" in result.output
    assert "ok: contact-update.yaml" in result.output


@pytest.mark.parametrize("form_id", FORMS)
def test_printed_boxes_are_the_geometry_zones(
    runtime: Runtime, tmp_path: Path, form_id: str
) -> None:
    _document_id, pdf = _issue(runtime, form_id)
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    geometry = form_geometry(runtime.definitions[form_id])
    with pdfplumber.open(path) as plumber:
        for page in geometry.pages:
            printed = [
                (round(r["x0"], 2), round(r["y0"], 2), round(r["x1"], 2), round(r["y1"], 2))
                for r in plumber.pages[page.number].rects
            ]
            for zone in page.zones:
                assert any(
                    all(abs(a - b) <= 0.011 for a, b in zip(box, _rounded(zone.rect), strict=True))
                    for box in printed
                ), zone
            # The four registration squares are solid 8 mm squares centred on the marks.
            for cx, cy in page.marks:
                half = page.mark_size / 2
                assert any(
                    all(
                        abs(a - b) <= 0.011
                        for a, b in zip(
                            box, (cx - half, cy - half, cx + half, cy + half), strict=True
                        )
                    )
                    for box in printed
                ), (cx, cy)
