"""Read every AcroForm field of a PDF by walking its field tree, whatever tool filled it.

The walk starts at the catalog's /AcroForm /Fields, follows /Kids and joins the partial names
(/T) with dots, so hierarchical names such as `topmostSubform[0].Page1[0].f1_1[0]` come out as
the form author wrote them. Inheritable entries (/FT, /Ff, /V, /MaxLen, /Opt, /DA) flow down.
Widgets placed on pages but missing from the field list are picked up from the pages' /Annots.
A text value missing from /V is read from the text drawn in the widget's appearance stream;
an empty /V is an empty value, whatever the appearance still draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from forms_service.core.bounded import OverLimits, run_bounded
from forms_service.pdfforms.guard import (
    CorruptPdf,
    PdfBomb,
    PdfLimits,
    PdfRejected,
    preflight,
    structure_check,
)
from forms_service.pdfforms.model import PdfField, PdfFieldKind, PdfForm, ValueSource
from forms_service.pdfforms.names import name_text
from forms_service.pdfforms.objects import PdfObjects, open_objects

_INHERITED = ("FT", "Ff", "V", "MaxLen", "Opt", "DA", "TU")
_HIDDEN_FLAGS = (1 << 1) | (1 << 5)  # Hidden, NoView
_READ_ONLY = 1 << 0
_REQUIRED = 1 << 1
_MULTILINE = 1 << 12
_COMB = 1 << 24
_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16
_COMBO = 1 << 17
_MULTISELECT = 1 << 21
_MAX_DEPTH = 32
_OFF = b"Off"


def read_pdf_form(
    content: bytes, limits: PdfLimits | None = None, *, reader: str = "auto"
) -> PdfForm:
    """Check and read a PDF's form fields.

    Args:
        content: the uploaded bytes.
        limits: size, page, nesting and field limits (defaults when None).
        reader: "auto" (pdfplumber, pypdf when it fails), "pdfplumber" or "pypdf".

    Returns:
        The fields and facts about the file; no fields at all for a flattened or printed PDF.

    Raises:
        PdfRejected: not a PDF, too large, truncated, encrypted, damaged or a PDF bomb.
    """
    limits = limits or PdfLimits()
    preflight(content, limits)
    objects = open_objects(content, limits, reader=reader)
    try:
        return _read(objects, limits)
    except CorruptPdf:
        # pdfminer resolves objects lazily: damage found mid-walk gets pypdf's second opinion.
        if reader != "auto" or objects.reader == "pypdf":
            raise
    return _read(open_objects(content, limits, reader="pypdf"), limits)


def read_untrusted_pdf_form(
    content: bytes, limits: PdfLimits, *, seconds: int, memory_bytes: int
) -> PdfForm:
    """`read_pdf_form` for a file anyone may send: its cost bounded, the caller's process spared.

    The byte counts of `structure_check` run here (milliseconds); everything else, the
    preflight scans included, runs in a forked child (core.bounded) with `seconds` of CPU and
    wall-clock time and `memory_bytes` of memory, so a file built to exhaust the reader costs
    the caller a wait on a pipe, not its CPU, its memory or its other threads' time.

    Raises:
        PdfRejected: as `read_pdf_form`; a PdfBomb when the child runs out of time or memory.
    """
    structure_check(content, limits)
    try:
        return run_bounded(
            lambda: read_pdf_form(content, limits), memory_bytes=memory_bytes, seconds=seconds
        )
    except OverLimits:
        raise PdfBomb(
            "The file needs more time or memory to read than a returned form may take."
        ) from None


def _read(objects: PdfObjects, limits: PdfLimits) -> PdfForm:
    try:
        return _FormReader(objects, limits).read()
    except PdfRejected:
        raise
    except (RecursionError, MemoryError):
        raise PdfBomb("The file is built to exhaust the reader.") from None
    except Exception:  # any parser failure while walking means a damaged file
        raise CorruptPdf("The file is damaged and cannot be read.") from None
    finally:
        objects.close()


@dataclass
class _Node:
    """A field dictionary met during the walk, with what it inherits."""

    node: Any
    name: str
    inherited: dict[str, Any]
    depth: int


@dataclass
class _Widgets:
    """Where each widget annotation sits: page number and rectangle, by object identity."""

    page_of: dict[int, int] = field(default_factory=dict)
    on_pages: list[tuple[int, Any]] = field(default_factory=list)
    stray: list[Any] = field(default_factory=list)

    def all(self) -> list[Any]:
        """The widgets on pages, then those listed in /Fields without their field."""
        return [w for _, w in self.on_pages] + self.stray


class _FormReader:
    def __init__(self, objects: PdfObjects, limits: PdfLimits) -> None:
        self.o = objects
        self.limits = limits
        self.seen_widgets: set[int] = set()
        self.visited: set[int] = set()
        self.count = 0
        self.fields: dict[str, PdfField] = {}

    def read(self) -> PdfForm:
        catalog = self.o.catalog()
        pages_root = self.o.get(catalog, "Pages")
        declared = self.o.get(pages_root, "Count")
        page_count = int(declared) if isinstance(declared, int | float) else 0
        if page_count > self.limits.max_pages:
            raise PdfBomb(
                f"The file declares {page_count} pages (the limit is {self.limits.max_pages})."
            )
        acroform = self.o.as_dict(self.o.get(catalog, "AcroForm")) or {}
        self.resources = self.o.get(acroform, "DR")
        widgets = self._page_widgets()
        for kid in self.o.as_list(self.o.get(acroform, "Fields")):
            entry = self.o.as_dict(kid)
            if entry is not None and self._stray_widget(entry):
                # A widget listed in /Fields itself while its field (/Parent) is not: it is
                # read with its parent's name and value, as a widget missing from the list.
                widgets.stray.append(entry)
                continue
            self._walk(_Node(kid, "", {}, 0), widgets)
        self._orphans(widgets)
        producer = self.o.text(self.o.get(self.o.info(), "Producer"))
        return PdfForm(
            fields=dict(self.fields),
            page_count=page_count or len(set(widgets.page_of.values())),
            producer=producer,
            xfa=self.o.get(acroform, "XFA") is not None,
            xfa_only=self.o.get(acroform, "XFA") is not None
            and str(self.o.get(catalog, "NeedsRendering")).lower() == "true",
            need_appearances=str(self.o.get(acroform, "NeedAppearances")).lower() == "true",
            encrypted=self.o.encrypted,
            reader=self.o.reader,
        )

    # -- pages ---------------------------------------------------------------------------

    def _page_widgets(self) -> _Widgets:
        found = _Widgets()
        for number, page in enumerate(self.o.pages(), start=1):
            if number > self.limits.max_pages:
                raise PdfBomb(f"The file has more than {self.limits.max_pages} pages.")
            for annot in self.o.as_list(self.o.get(page, "Annots")):
                resolved = self.o.as_dict(annot)
                if resolved is None or self.o.name(self.o.get(resolved, "Subtype")) != "Widget":
                    continue
                self._count()
                found.page_of.setdefault(id(resolved), number)
                found.on_pages.append((number, resolved))
        return found

    def _count(self) -> None:
        self.count += 1
        if self.count > self.limits.max_fields:
            raise PdfBomb(f"The file has more than {self.limits.max_fields} form fields.")

    # -- the field tree ------------------------------------------------------------------

    def _walk(self, start: _Node, widgets: _Widgets) -> None:
        stack = [start]
        while stack:
            current = stack.pop()
            node = self.o.as_dict(current.node)
            if node is None or id(node) in self.visited:
                continue
            if current.depth > _MAX_DEPTH:
                raise PdfBomb("The form's field tree is nested too deep.")
            self.visited.add(id(node))
            self._count()
            partial = self.o.text(self.o.get(node, "T"))
            name = ".".join(p for p in (current.name, partial) if p)
            inherited = dict(current.inherited)
            for key in _INHERITED:
                value = self.o.get(node, key)
                if value is not None:
                    inherited[key] = value
            kids = [k for k in self.o.as_list(self.o.get(node, "Kids")) if self.o.as_dict(k)]
            child_fields = [k for k in kids if self.o.get(k, "T") is not None]
            kid_widgets = [k for k in kids if self.o.get(k, "T") is None]
            for kid in reversed(child_fields):
                stack.append(_Node(kid, name, inherited, current.depth + 1))
            if child_fields and not kid_widgets:
                continue
            terminal_widgets = [self.o.as_dict(k) for k in kid_widgets] or [node]
            self._terminal(name, node, inherited, [w for w in terminal_widgets if w], widgets)

    def _stray_widget(self, entry: Mapping[str, Any]) -> bool:
        parent = self.o.as_dict(self.o.get(entry, "Parent"))
        return (
            self.o.get(entry, "T") is None
            and parent is not None
            and self.o.get(parent, "T") is not None
        )

    def _orphans(self, widgets: _Widgets) -> None:
        for widget in widgets.all():
            if id(widget) in self.seen_widgets:
                continue
            chain = [widget]
            parent = self.o.as_dict(self.o.get(widget, "Parent"))
            while (
                parent is not None
                and len(chain) < _MAX_DEPTH
                and all(parent is not n for n in chain)
            ):
                chain.append(parent)
                parent = self.o.as_dict(self.o.get(parent, "Parent"))
            names = [self.o.text(self.o.get(n, "T")) for n in reversed(chain)]
            name = ".".join(n for n in names if n)
            if not name or name in self.fields:
                self.seen_widgets.add(id(widget))
                continue
            inherited: dict[str, Any] = {}
            for node in reversed(chain):
                for key in _INHERITED:
                    value = self.o.get(node, key)
                    if value is not None:
                        inherited[key] = value
            terminal = next((n for n in chain if self.o.get(n, "T") is not None), widget)
            members = (
                [widget]
                if terminal is widget
                else [
                    w for w in widgets.all() if self.o.as_dict(self.o.get(w, "Parent")) is terminal
                ]
            )
            self._terminal(name, terminal, inherited, members, widgets, orphan=True)

    # -- one field -----------------------------------------------------------------------

    def _terminal(
        self,
        name: str,
        node: Mapping[str, Any],
        inherited: Mapping[str, Any],
        members: list[Any],
        widgets: _Widgets,
        *,
        orphan: bool = False,
    ) -> None:
        for widget in members:
            self.seen_widgets.add(id(widget))
        if not name:
            name = f"unnamed_{len(self.fields) + 1}"
        flags = self._int(inherited.get("Ff"))
        kind = self._kind(self.o.name(inherited.get("FT")), flags, members)
        opt = [self._option(item) for item in self.o.as_list(inherited.get("Opt"))]
        value, source, states = self._value(kind, node, inherited, members, opt)
        annotation_flags = [self._int(self.o.get(w, "F")) for w in members]
        first = next(
            (w for w in members if id(w) in widgets.page_of), members[0] if members else None
        )
        rect = self._rect(self.o.get(first, "Rect")) if first is not None else None
        max_length = inherited.get("MaxLen")
        found = PdfField(
            name=name,
            kind=kind,
            value=value,
            source=source,
            states=states,
            options=tuple(opt) if kind in (PdfFieldKind.CHOICE, PdfFieldKind.LIST) else (),
            max_length=int(max_length) if isinstance(max_length, int | float) else None,
            comb=kind is PdfFieldKind.TEXT and bool(flags & _COMB),
            multiline=kind is PdfFieldKind.TEXT and bool(flags & _MULTILINE),
            multiselect=kind is PdfFieldKind.LIST and bool(flags & _MULTISELECT),
            hidden=_hidden(annotation_flags, rect),
            read_only=bool(flags & _READ_ONLY),
            required=bool(flags & _REQUIRED),
            tooltip=self.o.text(inherited.get("TU")),
            page=widgets.page_of.get(id(first)) if first is not None else None,
            rect=rect,
            orphan=orphan,
            shared_states=self._shared_states(members) if kind is PdfFieldKind.RADIO else (),
        )
        existing = self.fields.get(name)
        if existing is None or _rank(found) > _rank(existing):
            self.fields[name] = found

    def _kind(self, field_type: str | None, flags: int, members: list[Any]) -> PdfFieldKind:
        if field_type == "Tx":
            return PdfFieldKind.TEXT
        if field_type == "Btn":
            if flags & _PUSHBUTTON:
                return PdfFieldKind.PUSHBUTTON
            return PdfFieldKind.RADIO if flags & _RADIO else PdfFieldKind.CHECKBOX
        if field_type == "Ch":
            return PdfFieldKind.CHOICE if flags & _COMBO else PdfFieldKind.LIST
        if field_type == "Sig":
            return PdfFieldKind.SIGNATURE
        if any(self._on_states(w) for w in members):
            return PdfFieldKind.CHECKBOX
        return PdfFieldKind.UNKNOWN

    def _value(
        self,
        kind: PdfFieldKind,
        node: Mapping[str, Any],
        inherited: Mapping[str, Any],
        members: list[Any],
        opt: list[tuple[str, str]],
    ) -> tuple[str | None, ValueSource, tuple[str, ...]]:
        raw = inherited.get("V")
        if kind in (PdfFieldKind.CHECKBOX, PdfFieldKind.RADIO):
            return self._button(raw, members, opt)
        if kind is PdfFieldKind.SIGNATURE:
            return ("signed" if raw is not None else None), ValueSource.VALUE, ()
        if kind is PdfFieldKind.PUSHBUTTON:
            return None, ValueSource.NONE, ()
        values = [self._plain(item) for item in self.o.as_list(raw)] or [self._plain(raw)]
        texts = [v for v in values if v]
        if not texts and kind is PdfFieldKind.LIST:
            indices = [self.o.resolve(i) for i in self.o.as_list(self.o.get(node, "I"))]
            texts = [opt[i][0] for i in indices if isinstance(i, int) and 0 <= i < len(opt)]
        if texts:
            return ",".join(texts), ValueSource.VALUE, ()
        if raw is not None and kind is not PdfFieldKind.UNKNOWN:
            # /V present wins over the appearance, empty included: a filler that emptied the
            # box and left the old drawing did empty it (not "unchanged").
            return None, ValueSource.VALUE, ()
        if kind in (PdfFieldKind.TEXT, PdfFieldKind.CHOICE, PdfFieldKind.UNKNOWN):
            for widget in members:
                drawn = self.o.drawn_text(self._normal_appearance(widget), self.resources)
                if drawn:
                    return drawn, ValueSource.APPEARANCE, ()
        return None, ValueSource.NONE, ()

    def _plain(self, value: Any) -> str | None:
        if value is None:
            return None
        text: str | None
        if self.o.is_stream(value):
            text = self.o.stream_text(value)
        else:
            text = self.o.text(value) or self.o.name(value)
            if text is None and isinstance(value, int | float) and not isinstance(value, bool):
                text = str(value)
        return text if text and text.strip() else None

    def _button(
        self, raw: Any, members: list[Any], opt: list[tuple[str, str]]
    ) -> tuple[str | None, ValueSource, tuple[str, ...]]:
        # States are name bytes (names.py): /V, /AS and the /AP keys are compared as bytes.
        states: list[bytes] = []
        for widget in members:
            states += [s for s in self._on_states(widget) if s not in states]
        chosen = self.o.name_bytes(raw)
        if chosen is None and (written := self.o.text(raw)) is not None:
            # A string /V (some fillers write one) names the state that reads the same.
            chosen = next((s for s in states if name_text(s) == written), written.encode())
        source = ValueSource.VALUE
        if chosen is None or chosen == _OFF or (states and chosen not in states):
            # /V missing, Off or naming a state no widget has: trust what the widget shows.
            chosen, source = None, ValueSource.STATE
            for widget in members:
                shown = self.o.name_bytes(self.o.get(widget, "AS"))
                if shown and shown != _OFF and (not states or shown in states):
                    chosen = shown
                    break
        exports = tuple(self._export(s, opt) for s in states)
        if chosen is None:
            return None, ValueSource.NONE if source is ValueSource.STATE else source, exports
        return self._export(chosen, opt), source, exports

    @staticmethod
    def _export(state: bytes, opt: list[tuple[str, str]]) -> str:
        # pdf-lib and Acrobat name states "0", "1"… and keep the export values in /Opt.
        if state.isdigit() and int(state) < len(opt):
            return opt[int(state)][0]
        return name_text(state)

    def _shared_states(self, members: list[Any]) -> tuple[str, ...]:
        seen: list[bytes] = []
        shared: list[bytes] = []
        for widget in members:
            for state in self._on_states(widget):
                if state in seen and state not in shared:
                    shared.append(state)
                seen.append(state)
        return tuple(name_text(s) for s in shared)

    def _on_states(self, widget: Any) -> list[bytes]:
        appearance = self.o.get(widget, "AP")
        states: list[bytes] = []
        for key in ("N", "D"):
            entry = self.o.get(appearance, key)
            keys = self.o.key_bytes(entry) if not self.o.is_stream(entry) else []
            states += [s for s in keys if s != _OFF and s not in states]
        return states

    def _normal_appearance(self, widget: Any) -> Any:
        entry = self.o.get(self.o.get(widget, "AP"), "N")
        if self.o.is_stream(entry):
            return entry
        shown = self.o.name_bytes(self.o.get(widget, "AS"))
        if shown is not None and self.o.as_dict(entry):
            return self.o.get_key(entry, shown)
        return None

    def _option(self, item: Any) -> tuple[str, str]:
        pair = self.o.as_list(item)
        if len(pair) >= 2:
            export = self.o.text(pair[0]) or ""
            return export, self.o.text(pair[1]) or export
        text = self.o.text(item) or self.o.name(item) or ""
        return text, text

    @staticmethod
    def _int(value: Any) -> int:
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

    def _rect(self, value: Any) -> tuple[float, float, float, float] | None:
        resolved = [self.o.resolve(v) for v in self.o.as_list(value)]
        resolved = [n for n in resolved if isinstance(n, int | float)]
        if len(resolved) != 4:
            return None
        x0, y0, x1, y1 = (float(n) for n in resolved)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _rank(found: PdfField) -> tuple[bool, bool]:
    """Which of two fields with the same name to keep: one the reader shows, then one with a value.

    Sejda leaves copies of a field without any widget on a page beside the one shown
    (sample_template_sejda.pdf): the value the customer saw and could change is the shown one's.
    """
    return found.page is not None, found.value is not None


def _hidden(annotation_flags: list[int], rect: tuple[float, float, float, float] | None) -> bool:
    """Every widget is hidden, or the field has no area to show on."""
    if annotation_flags and all(f & _HIDDEN_FLAGS for f in annotation_flags):
        return True
    return rect is not None and (rect[2] - rect[0]) * (rect[3] - rect[1]) == 0
