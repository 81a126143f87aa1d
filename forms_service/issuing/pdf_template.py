"""Prefilled copies of an organisation's own PDF form (a definition with `pdf_template`).

The copy is the original PDF with each mapped field set to the value on record and a hidden,
read-only `document_token` field added, so that the returned copy names its document like the
letters we render ourselves. Such a copy is prefilled: the returns channel reads it whole.
A hybrid form loses its XFA part, so that every reader shows the AcroForm we filled.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from forms_service.core.errors import ConfigurationError
from forms_service.definitions.model import Channel, FieldDefinition, FormDefinition
from forms_service.issuing.widgets import TOKEN_FIELD
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.guard import PdfLimits
from forms_service.pdfforms.model import PdfField, PdfFieldKind
from forms_service.pdfforms.names import name_text, pypdf_name_bytes

_TEMPLATE_LIMITS = PdfLimits(max_bytes=100 * 1024 * 1024, max_pages=500, max_fields=20000)
_HIDDEN = 1 << 1
_READ_ONLY = 1 << 0


def render_template_copy(
    definition: FormDefinition, snapshot: Mapping[str, str | None], token: str
) -> bytes:
    """The definition's own PDF, prefilled with `snapshot` and carrying the document token.

    Raises:
        ConfigurationError: the definition has no `pdf_template`, or names a field the PDF
            does not have.
    """
    if not definition.pdf_template:
        raise ConfigurationError(f"form {definition.id!r} has no pdf_template")
    template = Path(definition.pdf_template).read_bytes()
    form = read_pdf_form(template, _TEMPLATE_LIMITS)
    values: dict[str, Any] = {}
    missing = []
    for field_def in definition.fields_for(Channel.PDF):
        name = definition.pdf_name(field_def.name)
        found = form.fields.get(name)
        if found is None:
            missing.append(name)
        elif found.kind not in (PdfFieldKind.SIGNATURE, PdfFieldKind.PUSHBUTTON):
            values[name] = _pdf_value(field_def, found, snapshot.get(field_def.name))
    if missing:
        raise ConfigurationError(
            f"{definition.path}: pdf_field {', '.join(map(repr, missing))} not found in "
            f"{definition.pdf_template} (run `forms-service definitions import-pdf` on it to "
            "see its field names)"
        )
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(template)))
    _drop_xfa(writer)
    _state_names_as_read(writer, template)
    for page in writer.pages:
        if values and "/Annots" in page:
            writer.update_page_form_field_values(page, values, auto_regenerate=False)
    _add_token_field(writer, token)
    writer.set_need_appearances_writer(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_value(field_def: FieldDefinition, found: PdfField, value: str | None) -> Any:
    typed = field_def.type.template_text(value, found.max_length) if value else None
    if typed is not None:  # the type's own text (a date as the form prints it, say)
        return typed
    if found.kind is PdfFieldKind.CHECKBOX:
        on = found.states[0] if found.states else "Yes"
        return f"/{on}" if value == "true" else "/Off"
    if found.kind is PdfFieldKind.RADIO:
        return f"/{value}" if value in found.states else "/Off"
    if found.kind is PdfFieldKind.LIST and found.multiselect:
        return [v for v in (value or "").split(",") if v]
    return value or ""


def _drop_xfa(writer: PdfWriter) -> None:
    """Remove the XFA part of a hybrid form, so that every reader shows the AcroForm we fill.

    Adobe Reader shows the XFA layer of a hybrid when it has one, and ours would carry the
    template's data (usually none: a blank form) instead of the prefilled values; pdf.js,
    PDFium and the returns channel read the AcroForm. Without /XFA (and /NeedsRendering, which
    asks for the XFA to be drawn) Adobe shows the AcroForm too.
    """
    root = writer.root_object
    root.pop("/NeedsRendering", None)
    acroform = root.get("/AcroForm")
    if acroform is not None:
        cast(DictionaryObject, acroform.get_object()).pop("/XFA", None)


def _state_names_as_read(writer: PdfWriter, template: bytes) -> None:
    """Rename the button states pypdf decoded otherwise than the returns channel does.

    pypdf reads a name whose bytes are not UTF-8 as GBK where it can (`/Pr#E9sent` ->
    "Pr閟ent") and writes every name back as UTF-8; the returns channel reads such a name as
    8-bit text ("Présent", pdfforms/names.py). The copy gets the states as the channel reads
    them (so /V, /AS and the /AP keys stay one name, in UTF-8, and the snapshot's choice
    finds its state), and its returns read the same values as the template's.
    """
    for page in writer.pages:
        for annot in cast(ArrayObject, page.get("/Annots", ArrayObject())):
            widget = annot.get_object()
            if not isinstance(widget, DictionaryObject):
                continue
            appearance = widget.get("/AP")
            appearance = appearance.get_object() if appearance is not None else None
            if isinstance(appearance, DictionaryObject):
                for key in ("/N", "/D"):
                    states = appearance.get(key)
                    states = states.get_object() if states is not None else None
                    if isinstance(states, DictionaryObject) and not isinstance(
                        states, StreamObject
                    ):
                        appearance[NameObject(key)] = DictionaryObject(
                            {_as_read(k, template): v for k, v in states.items()}
                        )
            node: Any = widget
            for _ in range(32):  # the widget, then its field and the field's parents
                for key in ("/AS", "/V"):
                    if isinstance(node.get(key), NameObject):
                        node[NameObject(key)] = _as_read(node[key], template)
                parent = node.get("/Parent")
                node = parent.get_object() if parent is not None else None
                if not isinstance(node, DictionaryObject):
                    break


def _as_read(name: Any, template: bytes) -> NameObject:
    return NameObject("/" + name_text(pypdf_name_bytes(str(name)[1:], template)))


def _add_token_field(writer: PdfWriter, token: str) -> None:
    """A hidden, read-only text field on the first page holding the signed token."""
    page = writer.pages[0]
    field = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject(TOKEN_FIELD),
            NameObject("/V"): TextStringObject(token),
            NameObject("/Ff"): NumberObject(_READ_ONLY),
            NameObject("/F"): NumberObject(_HIDDEN),
            NameObject("/Rect"): ArrayObject([FloatObject(0)] * 4),
            NameObject("/P"): page.indirect_reference,
        }
    )
    reference = writer._add_object(field)
    annots = page.get("/Annots")
    if annots is None:
        page[NameObject("/Annots")] = ArrayObject([reference])
    else:
        annots.get_object().append(reference)
    acroform = cast(DictionaryObject, writer.root_object["/AcroForm"].get_object())
    cast(ArrayObject, acroform["/Fields"].get_object()).append(reference)
