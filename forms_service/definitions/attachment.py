"""A document the customer may attach beside a field: a RIB beside the IBAN, say.

A definition names it in `attachment:`: the field it is evidence for (`beside`), its label
and help in both languages, and the largest file taken (`max_megabytes`, 5 by default). The
types are always PDF, PNG and JPEG, checked by content (intake/online/attachments.py); the
reviewers of the field see the file beside the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from forms_service.core.i18n import pick

Texts = Mapping[str, str]

_KEYS = {"beside", "label", "help", "max_megabytes"}
#: What an attachment may be, by its content's media type, and its file suffix.
TYPES: Mapping[str, str] = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
}


@dataclass(frozen=True)
class Attachment:
    """The document a form takes beside one of its fields."""

    beside: str
    label: Texts
    help: Texts = field(default_factory=dict)
    max_megabytes: int = 5

    @property
    def max_bytes(self) -> int:
        """The largest file taken, in bytes."""
        return self.max_megabytes * 1024 * 1024

    def label_in(self, locale: str) -> str:
        """The label in `locale`."""
        return pick(self.label, locale)

    def help_in(self, locale: str) -> str:
        """The help in `locale` (empty when none)."""
        return pick(self.help, locale) if self.help else ""


def parse_attachment(
    raw: object,
    add: Callable[[str], None],
    field_names: set[str],
    texts: Callable[[object, str, bool], dict[str, str]],
) -> Attachment | None:
    """Read `attachment:`; every problem goes to `add`."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        add("'attachment' must be a mapping (beside, label, help, max_megabytes)")
        return None
    for key in sorted(set(raw) - _KEYS):
        add(f"'attachment' has an unknown key {key!r} (allowed: {', '.join(sorted(_KEYS))})")
    beside = raw.get("beside")
    if beside not in field_names:
        add(f"'attachment.beside' must name a field, not {beside!r}")
        return None
    size = raw.get("max_megabytes", 5)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 20:
        add("'attachment.max_megabytes' must be a whole number from 1 to 20")
        return None
    label = texts(raw.get("label"), "attachment.label", True)
    help_texts = texts(raw.get("help"), "attachment.help", False) if "help" in raw else {}
    return Attachment(str(beside), label, help_texts, size)
