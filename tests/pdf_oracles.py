"""Independent readers of a PDF's form values (pdftk-java, PDFium) for differential tests.

Neither shares code with ours: pdftk-java is built on iText and walks the field tree its own
way; PDFium (Chromium's engine) builds its interactive form from the field tree and the pages'
widgets. Both answer in the same shape as our reader: full name -> value, with None for an
empty field or an unticked box and the selected values of a multi-select list joined by commas.
"""

from __future__ import annotations

import ctypes
import html
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw


@dataclass(frozen=True)
class OracleField:
    """What an independent reader says about one field."""

    #: text, checkbox, radio, pushbutton, choice (pdftk: combo or list), list, signature, or
    #: "node" (pdftk lists the untyped parents of a hierarchy too).
    kind: str
    value: str | None
    states: tuple[str, ...] = ()


def read_with_pdftk(path: Path) -> dict[str, OracleField]:
    """The fields as `pdftk FILE dump_data_fields_utf8` reports them."""
    out = subprocess.run(
        ["pdftk", str(path), "dump_data_fields_utf8"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode("utf-8")
    fields: dict[str, OracleField] = {}
    for block in out.split("\n---\n"):
        entries: dict[str, list[str]] = {}
        last = ""
        # Only LF ends an entry: a CR inside a value is written as is, and a line that does
        # not start with a key continues the value above it (an LF inside the value).
        for line in block.split("\n"):
            key, sep, value = line.partition(": ")
            if not sep and line.startswith("Field") and line.endswith(":"):
                key, sep, value = line[:-1], ":", ""
            if sep and key.startswith("Field") and " " not in key:
                entries.setdefault(key, []).append(html.unescape(value))
                last = key
            elif last:
                entries[last][-1] += "\n" + html.unescape(line)
        if "FieldName" not in entries:
            continue
        kind = entries.get("FieldType", [""])[0].lower()
        flags = int(entries.get("FieldFlags", ["0"])[0] or 0)
        if kind == "button" and flags & (1 << 16):
            kind = "pushbutton"
        elif kind == "button":
            kind = "radio" if flags & (1 << 15) else "checkbox"
        values = [v for v in entries.get("FieldValue", []) if v]
        if kind in ("checkbox", "radio"):
            values = [v for v in values if v != "Off"]
        states = tuple(s for s in entries.get("FieldStateOption", []) if s != "Off")
        fields[entries["FieldName"][0]] = OracleField(
            kind=kind or "node", value=",".join(values) or None, states=states
        )
    return fields


def _text(call: Any, *args: Any) -> str:
    """A UTF-16 string out of a PDFium getter called twice (length, then content)."""
    length = call(*args, None, 0)
    if length <= 2:
        return ""
    buffer = ctypes.create_string_buffer(length)
    call(*args, ctypes.cast(buffer, ctypes.POINTER(pdfium_raw.FPDF_WCHAR)), length)
    return buffer.raw.decode("utf-16-le").rstrip("\x00")


_PDFIUM_KINDS = {
    pdfium_raw.FPDF_FORMFIELD_PUSHBUTTON: "pushbutton",
    pdfium_raw.FPDF_FORMFIELD_CHECKBOX: "checkbox",
    pdfium_raw.FPDF_FORMFIELD_RADIOBUTTON: "radio",
    pdfium_raw.FPDF_FORMFIELD_COMBOBOX: "choice",
    pdfium_raw.FPDF_FORMFIELD_LISTBOX: "list",
    pdfium_raw.FPDF_FORMFIELD_TEXTFIELD: "text",
    pdfium_raw.FPDF_FORMFIELD_SIGNATURE: "signature",
}


def read_with_pdfium(path: Path) -> dict[str, OracleField]:
    """The fields as PDFium's form API reports them, widget by widget on the pages.

    Text and combo boxes: the field value. Checkboxes and radio groups: the export value of the
    widget PDFium sees checked. List boxes: the labels of the selected options.
    """
    document = pdfium.PdfDocument(str(path))
    fields: dict[str, OracleField] = {}
    try:
        document.init_forms()
        form = document.formenv.raw
        for page in document:
            for index in range(pdfium_raw.FPDFPage_GetAnnotCount(page.raw)):
                annot = pdfium_raw.FPDFPage_GetAnnot(page.raw, index)
                try:
                    if pdfium_raw.FPDFAnnot_GetSubtype(annot) != pdfium_raw.FPDF_ANNOT_WIDGET:
                        continue
                    name = _text(pdfium_raw.FPDFAnnot_GetFormFieldName, form, annot)
                    kind = _PDFIUM_KINDS.get(
                        pdfium_raw.FPDFAnnot_GetFormFieldType(form, annot), "unknown"
                    )
                    fields[name] = _merge(fields.get(name), _widget(form, annot, kind))
                finally:
                    pdfium_raw.FPDFPage_CloseAnnot(annot)
            page.close()
    finally:
        document.close()
    return fields


def _widget(form: Any, annot: Any, kind: str) -> OracleField:
    if kind in ("checkbox", "radio"):
        export = _text(pdfium_raw.FPDFAnnot_GetFormFieldExportValue, form, annot)
        checked = bool(pdfium_raw.FPDFAnnot_IsChecked(form, annot))
        return OracleField(kind, export if checked else None, (export,) if export else ())
    if kind == "list":
        selected = [
            _text(pdfium_raw.FPDFAnnot_GetOptionLabel, form, annot, i)
            for i in range(pdfium_raw.FPDFAnnot_GetOptionCount(form, annot))
            if pdfium_raw.FPDFAnnot_IsOptionSelected(form, annot, i)
        ]
        return OracleField(kind, ",".join(selected) or None)
    value = _text(pdfium_raw.FPDFAnnot_GetFormFieldValue, form, annot)
    return OracleField(kind, value if value.strip() else None)


def _merge(known: OracleField | None, widget: OracleField) -> OracleField:
    if known is None:
        return widget
    states = known.states + tuple(s for s in widget.states if s not in known.states)
    return OracleField(known.kind, known.value or widget.value, states)
