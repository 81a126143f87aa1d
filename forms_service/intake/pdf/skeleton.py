"""Turn an organisation's own AcroForm PDF into a form-definition skeleton to complete.

Every answerable field becomes a definition field that keeps the PDF's full name in
`pdf_field` (hierarchical names such as `topmostSubform[0].Page1[0].f1_1[0]` included), with a
type guessed from the widget (text, checkbox, radio group -> choice, list -> choice or
multiple_choice, signature), the choices and export values of buttons and lists, and /MaxLen as
`max_length`. What a PDF cannot say is left for the integrator: the source, the key and each
field's `maps_to` (the definition check names every one still missing).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from forms_service.definitions.fieldtypes import type_for_acroform, type_named_by
from forms_service.issuing.widgets import TOKEN_FIELD
from forms_service.pdfforms.labels import readable_name
from forms_service.pdfforms.model import PdfField, PdfFieldKind, PdfForm

_INDEX = re.compile(r"\[\d+\]")
_NOT_NAME = re.compile(r"[^a-z0-9]+")


@dataclass
class Skeleton:
    """The definition skeleton and what was left out of it."""

    definition: dict[str, Any]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: The ticked state (export value) of each checkbox, by definition field name.
    checkbox_states: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Radio groups whose buttons share an export value, by definition field name.
    shared_states: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: How many of the PDF's fields the `only` patterns matched (None: no patterns given).
    matched: int | None = None

    def counts(self) -> dict[str, int]:
        """Fields per type."""
        found: dict[str, int] = {}
        for item in self.definition["fields"]:
            found[item["type"]] = found.get(item["type"], 0) + 1
        return found

    def to_yaml(self, *, source_name: str) -> str:
        """The skeleton as YAML, headed by what remains to complete."""
        header = (
            f"# Skeleton made by `forms-service definitions import-pdf {source_name}` on "
            f"{dt.date.today().isoformat()}.\n"
            "# To complete: 'source' (connector, record_type), 'key', and 'maps_to' of every\n"
            "# field (the source column it updates); delete the fields you do not need. Each\n"
            "# label is the field's tooltip, else the text printed next to it, else its name,\n"
            "# in both languages: translate the one the form is not in (fr and en are needed).\n"
            "# Then run `forms-service definitions check`.\n"
        )
        if self.checkbox_states:
            header += "# Checkboxes (any of these states counts as ticked):\n" + "".join(
                f"#   {name}: {', '.join(states) or '(no state drawn)'}\n"
                for name, states in self.checkbox_states.items()
            )
        if self.shared_states:
            header += (
                "# Radio buttons sharing one export value (ticking one ticks them all, the\n"
                "# returned PDF cannot say which was meant; give each its own value in the PDF):\n"
            ) + "".join(
                f"#   {name}: {', '.join(states)}\n" for name, states in self.shared_states.items()
            )
        if self.skipped:
            header += "# Left out:\n" + "".join(
                f"#   {name}: {why}\n" for name, why in self.skipped
            )
        body = yaml.safe_dump(
            self.definition, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
        )
        return header + body


def definition_skeleton(
    form: PdfForm,
    *,
    form_id: str,
    title: str,
    template_path: str,
    printed: Mapping[str, str] | None = None,
    only: Sequence[str] = (),
) -> Skeleton:
    """Build the skeleton of a definition that issues and reads `form`'s own PDF.

    Args:
        form: the fields read from the PDF.
        form_id: the definition id (lower case, digits and dashes).
        title: the form's title (both languages get it until translated).
        template_path: the PDF's path as the definition will give it (relative to the YAML).
        printed: the text printed next to each field (pdfforms.labels.printed_labels), the
            label of a field without a tooltip.
        only: patterns of the full field names to import (`matches_any`); all when empty.
    """
    fields: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    checkbox_states: dict[str, tuple[str, ...]] = {}
    shared_states: dict[str, tuple[str, ...]] = {}
    names: set[str] = set()
    chosen = [f for f in form.fields.values() if not only or matches_any(f.name, only)]
    for pdf_field in chosen:
        why = _skip_reason(pdf_field)
        if why:
            skipped.append((pdf_field.name, why))
            continue
        name = _unique(_field_name(pdf_field.name), names)
        label = pdf_field.tooltip or (printed or {}).get(pdf_field.name)
        fields.append(_field(pdf_field, name, label or readable_name(pdf_field.name)))
        if pdf_field.kind is PdfFieldKind.CHECKBOX:
            checkbox_states[name] = pdf_field.states
        if pdf_field.shared_states:
            shared_states[name] = pdf_field.shared_states
    definition: dict[str, Any] = {
        "id": form_id,
        "version": 1,
        "title": {"fr": title, "en": title},
        "source": {"connector": "TODO", "record_type": "TODO"},
        "key": "TODO",
        "pdf_template": template_path,
        "fields": fields,
    }
    return Skeleton(
        definition, skipped, checkbox_states, shared_states, len(chosen) if only else None
    )


def matches_any(full_name: str, patterns: Sequence[str]) -> bool:
    r"""Whether a full field name matches one of `patterns`.

    A pattern is a glob (`topmostSubform[[]0].Page1*`, `*Email*`, case-sensitive, `[` written
    `[[]`), or a regular expression after `re:` (`re:.*f1_0[1-5]\[0\]`), matched against
    the whole name.
    """
    for pattern in patterns:
        if pattern.startswith("re:"):
            if re.fullmatch(pattern[3:], full_name):
                return True
        elif fnmatch.fnmatchcase(full_name, pattern):
            return True
    return False


def form_id_of(filename: str) -> str:
    """A definition id from a file name: `5000-sd_4482.pdf` -> `5000-sd-4482`, prefixed if needed."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(filename.rsplit(".", 1)[0]).lower()).strip("-")
    slug = slug or "imported-form"
    if not slug[0].isalpha():
        slug = f"form-{slug}"
    return slug[:63]


def _skip_reason(pdf_field: PdfField) -> str | None:
    if pdf_field.name.rsplit(".", 1)[-1] == TOKEN_FIELD:
        return "the document token field (added on issue)"
    if pdf_field.kind is PdfFieldKind.PUSHBUTTON:
        return "a push button (no value)"
    if pdf_field.kind is PdfFieldKind.UNKNOWN:
        return "a widget without a field type"
    if pdf_field.read_only:
        return "read-only (computed or printed by the form itself)"
    if pdf_field.hidden:
        return "hidden"
    return None


def _field(pdf_field: PdfField, name: str, label: str) -> dict[str, Any]:
    label = label.strip()[:200] or name
    item: dict[str, Any] = {"name": name, "pdf_field": pdf_field.name, "type": None}
    item["label"] = {"fr": label, "en": label}
    rules: dict[str, Any] = {}
    kind = pdf_field.kind
    if kind is PdfFieldKind.TEXT:
        # Words in the field's name or tooltip may name a stricter type (see name_hint).
        item["type"] = type_named_by(f"{pdf_field.name} {label}")
        if pdf_field.max_length:
            # Kept for a guessed e-mail, phone or postcode too: the box holds no more.
            rules["max_length"] = pdf_field.max_length
    elif kind is PdfFieldKind.RADIO:
        item["choices"] = _choices((s, s) for s in pdf_field.states)
    elif kind in (PdfFieldKind.CHOICE, PdfFieldKind.LIST):
        item["choices"] = _choices(pdf_field.options)
        if not item["choices"]:
            kind = PdfFieldKind.TEXT  # a list without options: free text
            del item["choices"]
    if item["type"] is None:
        # The registry says which type takes the widget's kind (fieldtypes.type_for_acroform).
        item["type"] = type_for_acroform(kind.value, multiple=pdf_field.multiselect)
    if rules:
        item["rules"] = rules
    if pdf_field.required:
        item["required"] = True
    item["channels"] = ["online", "pdf"]
    item["policy"] = "review"
    return item


def _choices(options: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    choices: list[dict[str, Any]] = []
    seen: set[str] = set()
    for export, shown in options:
        value = export.strip()
        if not value or value in seen:
            continue
        seen.add(value)
        text = (shown or value).strip()
        choices.append({"value": value, "label": {"fr": text, "en": text}})
    return choices


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _field_name(full_name: str) -> str:
    last = _INDEX.sub("", full_name.rsplit(".", 1)[-1]) or full_name
    name = _NOT_NAME.sub("_", _ascii(last).lower()).strip("_") or "field"
    if not name[0].isalpha():
        name = f"f_{name}"
    return name[:56]


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{name}_{number}"
        number += 1
    taken.add(candidate)
    return candidate
