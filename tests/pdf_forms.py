"""Build AcroForm PDFs and fill them the ways customers' tools do (pypdf, pdftk, incremental)."""

from __future__ import annotations

import ctypes
import io
import shutil
import subprocess
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
)
from reportlab.pdfgen.canvas import Canvas

FIXTURES = Path(__file__).parent / "fixtures" / "pdf-forms"


@dataclass(frozen=True)
class Box:
    """One widget to draw: kind text, comb, checkbox or radio (one per option)."""

    name: str
    kind: str = "text"
    max_length: int | None = None
    options: Sequence[str] = ()
    hidden: bool = False
    value: str = ""


@dataclass
class FormPdf:
    """A reportlab-made AcroForm, one widget row per box."""

    boxes: Sequence[Box]
    pages: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def build(self) -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer)
        form = canvas.acroForm
        y = 760.0
        for box in self.boxes:
            if box.kind in ("text", "comb"):
                form.textfield(
                    name=box.name,
                    value=box.value,
                    x=0 if box.hidden else 72,
                    y=0 if box.hidden else y,
                    width=0 if box.hidden else 300,
                    height=0 if box.hidden else 20,
                    maxlen=box.max_length or 0,
                    fieldFlags="comb" if box.kind == "comb" else "",
                    annotationFlags="hidden" if box.hidden else "print",
                    borderWidth=1,
                )
            elif box.kind == "checkbox":
                form.checkbox(name=box.name, x=72, y=y, size=14, buttonStyle="check")
            elif box.kind == "radio":
                for index, option in enumerate(box.options):
                    form.radio(
                        name=box.name, value=option, x=72 + 40 * index, y=y, size=14, selected=False
                    )
            if not box.hidden:
                y -= 36
        for _ in range(self.pages - 1):
            canvas.showPage()
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()


def fill_with_pypdf(
    pdf: bytes,
    values: Mapping[str, str],
    *,
    need_appearances: bool = True,
    incremental: bool = False,
) -> bytes:
    """Fill like pypdf does (NeedAppearances on by default), optionally as an incremental update."""
    if incremental:
        writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    else:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        writer.update_page_form_field_values(page, dict(values), auto_regenerate=need_appearances)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _catalog_entry(writer: PdfWriter, key: str) -> DictionaryObject:
    """A dictionary of the document catalog (pypdf types an entry as any PDF object)."""
    entry = writer.root_object[key]
    assert isinstance(entry, DictionaryObject), key
    return entry


def drop_values(pdf: bytes, names: Sequence[str]) -> bytes:
    """Remove /V from fields, leaving their values only in the appearance streams."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        for annot in page.get("/Annots", []):
            widget = annot.get_object()
            target = widget.get("/Parent", widget).get_object() if "/T" not in widget else widget
            if target.get("/T") in names:
                target.pop(NameObject("/V"), None)
                widget.pop(NameObject("/V"), None)
    _catalog_entry(writer, "/AcroForm").pop(NameObject("/NeedAppearances"), None)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def orphan_widgets(pdf: bytes, names: Sequence[str]) -> bytes:
    """Drop fields from /AcroForm /Fields while their widgets stay on the page."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    acroform = _catalog_entry(writer, "/AcroForm")
    fields = acroform["/Fields"]
    assert isinstance(fields, ArrayObject)
    kept = [f for f in fields if f.get_object().get("/T") not in names]
    acroform[NameObject("/Fields")] = ArrayObject(kept)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def appearance_bomb(pdf: bytes, name: str, size: int = 30 * 1024 * 1024) -> bytes:
    """Replace a field's appearance by a small stream that inflates to `size` bytes."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    stream = StreamObject()
    stream._data = zlib.compress(b"0 0 m\n" * (size // 6), 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream[NameObject("/Subtype")] = NameObject("/Form")
    stream[NameObject("/BBox")] = ArrayObject([NumberObject(0)] * 2 + [NumberObject(10)] * 2)
    reference = writer._add_object(stream)
    for annot in writer.pages[0].get("/Annots", []):
        widget = annot.get_object()
        if widget.get("/T") == name:
            widget.pop(NameObject("/V"), None)
            widget[NameObject("/AP")] = DictionaryObject({NameObject("/N"): reference})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def declared_pages(pdf: bytes, count: int) -> bytes:
    """Claim `count` pages in the page tree (the trick of a page-count bomb)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    _catalog_entry(writer, "/Pages")[NameObject("/Count")] = NumberObject(count)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypt(pdf: bytes, *, user_password: str, algorithm: str = "AES-256") -> bytes:
    """Encrypt with pypdf (an empty user password opens without asking)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def run_tool(arguments: Sequence[str], tmp: Path) -> None:
    """Run a command-line PDF tool (qpdf, pdftk) that must be installed."""
    executable = shutil.which(arguments[0])
    assert executable, (
        f"{arguments[0]} is not installed (scripts/install-system-packages.sh --tests)"
    )
    done = subprocess.run([executable, *arguments[1:]], cwd=tmp, capture_output=True, check=False)
    # qpdf exits with 3 when it succeeded with warnings (it repaired something).
    allowed = (0, 3) if arguments[0] == "qpdf" else (0,)
    assert done.returncode in allowed, done.stderr.decode(errors="replace")


def fill_with_pdftk(pdf: bytes, fdf: bytes, tmp: Path, *, need_appearances: bool) -> bytes:
    """Fill with pdftk fill_form from FDF data (need_appearances: let the viewer draw)."""
    (tmp / "blank.pdf").write_bytes(pdf)
    (tmp / "data.fdf").write_bytes(fdf)
    arguments = ["pdftk", "blank.pdf", "fill_form", "data.fdf", "output", "filled.pdf"]
    run_tool([*arguments, "need_appearances"] if need_appearances else arguments, tmp)
    return (tmp / "filled.pdf").read_bytes()


def fdf_of(values: Mapping[str, str]) -> bytes:
    """FDF data for pdftk: text values as UTF-16 strings, /Name values for buttons."""
    parts = []
    for key, value in values.items():
        title = key.encode("utf-16-be").hex()
        if value.startswith("/"):
            shown = value
        else:
            shown = "<FEFF" + value.encode("utf-16-be").hex().upper() + ">"
        parts.append(f"<< /T <FEFF{title.upper()}> /V {shown} >>")
    body = " ".join(parts)
    return (
        f"%FDF-1.2\n1 0 obj\n<< /FDF << /Fields [ {body} ] >> >>\nendobj\n"
        f"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    ).encode()


def _pdfium_text(call: Any, *args: Any) -> str:
    """A UTF-16 string out of a PDFium getter called twice (length, then content)."""
    length = call(*args, None, 0)
    buffer = ctypes.create_string_buffer(length)
    call(*args, ctypes.cast(buffer, ctypes.POINTER(pdfium_raw.FPDF_WCHAR)), length)
    return buffer.raw.decode("utf-16-le").rstrip("\x00")


def fill_with_pdfium(pdf: bytes, values: Mapping[str, str], *, incremental: bool = False) -> bytes:
    """Fill like Chromium's PDF viewer: PDFium's form engine, typing and clicking.

    A value "/state" clicks the widget of that field whose export value is `state`
    (checkboxes and radio buttons); any other value is typed into the text field.
    """
    document = pdfium.PdfDocument(pdf)
    document.init_forms()
    form = document.formenv.raw
    for page in document:
        for index in range(pdfium_raw.FPDFPage_GetAnnotCount(page.raw)):
            annot = pdfium_raw.FPDFPage_GetAnnot(page.raw, index)
            name = _pdfium_text(pdfium_raw.FPDFAnnot_GetFormFieldName, form, annot)
            wanted = values.get(name)
            if wanted is not None and wanted.startswith("/"):
                export = _pdfium_text(pdfium_raw.FPDFAnnot_GetFormFieldExportValue, form, annot)
                if export == wanted[1:]:
                    rect = pdfium_raw.FS_RECTF()
                    pdfium_raw.FPDFAnnot_GetRect(annot, rect)
                    x, y = (rect.left + rect.right) / 2, (rect.top + rect.bottom) / 2
                    pdfium_raw.FORM_OnMouseMove(form, page.raw, 0, x, y)
                    pdfium_raw.FORM_OnLButtonDown(form, page.raw, 0, x, y)
                    pdfium_raw.FORM_OnLButtonUp(form, page.raw, 0, x, y)
                    pdfium_raw.FORM_ForceToKillFocus(form)
            elif wanted is not None:
                pdfium_raw.FORM_SetFocusedAnnot(form, annot)
                pdfium_raw.FORM_SelectAllText(form, page.raw)
                typed = ctypes.create_string_buffer((wanted + "\x00").encode("utf-16-le"))
                pdfium_raw.FORM_ReplaceSelection(
                    form, page.raw, ctypes.cast(typed, ctypes.POINTER(pdfium_raw.FPDF_WCHAR))
                )
                pdfium_raw.FORM_ForceToKillFocus(form)
            pdfium_raw.FPDFPage_CloseAnnot(annot)
    out = io.BytesIO()
    document.save(out, flags=pdfium_raw.FPDF_INCREMENTAL if incremental else 0)
    document.close()
    return out.getvalue()


def hand_written_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand: object 1 is the catalogue; a correct cross-reference table.

    For the readers' hostile inputs (loops of references, pages named many times), which no
    PDF library writes.
    """
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out
