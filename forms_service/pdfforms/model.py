"""What a returned PDF form holds, as plain values: one PdfField per terminal form field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class PdfFieldKind(StrEnum):
    """The kind of an AcroForm field, as a definition needs it."""

    TEXT = "text"
    CHECKBOX = "checkbox"
    RADIO = "radio"
    CHOICE = "choice"
    LIST = "list"
    SIGNATURE = "signature"
    PUSHBUTTON = "pushbutton"
    UNKNOWN = "unknown"


class ValueSource(StrEnum):
    """Where a field's value was read from."""

    VALUE = "V"
    APPEARANCE = "AP"
    STATE = "AS"
    NONE = "none"


@dataclass(frozen=True)
class PdfField:
    """One terminal field of the form and its value.

    Attributes:
        name: the fully qualified name (parents' partial names joined with dots).
        kind: text, checkbox, radio, choice, list, signature…
        value: the text, the export value of the ticked state or chosen option (joined with
            commas for multi-select lists); None when empty or Off.
        source: where the value came from (the /V entry, the appearance stream, the state).
        states: the export values a checkbox or radio group can take (its "on" states).
        options: (export value, display text) of a choice or list field.
        max_length: /MaxLen of a text field.
        comb: a comb text field (one character per cell).
        multiline: a multi-line text field.
        multiselect: a list that allows several options.
        hidden: every widget of the field is hidden (the document token lives in one).
        read_only: the field is read-only.
        required: the form marks the field required.
        tooltip: the /TU text, often the only human label a government form carries.
        page: the first page (from 1) a widget of the field sits on, when known.
        rect: that widget's rectangle in PDF points.
        orphan: the widget is on a page but not in the form's field list.
        shared_states: on-states that more than one radio button of the group has (ticking
            one ticks them all; a form cannot tell them apart).
    """

    name: str
    kind: PdfFieldKind
    value: str | None = None
    source: ValueSource = ValueSource.NONE
    states: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    comb: bool = False
    multiline: bool = False
    multiselect: bool = False
    hidden: bool = False
    read_only: bool = False
    required: bool = False
    tooltip: str | None = None
    page: int | None = None
    rect: tuple[float, float, float, float] | None = None
    orphan: bool = False
    shared_states: tuple[str, ...] = ()


@dataclass(frozen=True)
class PdfForm:
    """The fields of one PDF and facts about the file.

    Attributes:
        fields: terminal fields by fully qualified name, in the form's order.
        page_count: pages declared by the page tree.
        producer: the /Producer of the document information, when given.
        xfa: the form also carries an XFA description (only the AcroForm part is read).
        xfa_only: the catalog's /NeedsRendering asks for the XFA to be drawn (a dynamic form:
            its AcroForm part, if any, is not the form).
        need_appearances: /NeedAppearances was set (the viewer draws the appearances).
        encrypted: the file was encrypted (and opened with the empty user password).
        reader: which parser read it ("pdfplumber" or "pypdf").
    """

    fields: Mapping[str, PdfField] = field(default_factory=dict)
    page_count: int = 0
    producer: str | None = None
    xfa: bool = False
    xfa_only: bool = False
    need_appearances: bool = False
    encrypted: bool = False
    reader: str = "pdfplumber"

    @property
    def has_fields(self) -> bool:
        """Whether any field is left (a flattened or printed PDF has none)."""
        return any(f.kind is not PdfFieldKind.PUSHBUTTON for f in self.fields.values())

    def value(self, name: str) -> str | None:
        """The value of the field called `name`, None when absent or empty."""
        found = self.fields.get(name)
        return found.value if found else None
