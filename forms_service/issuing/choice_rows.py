"""The words of a choice's option rows on the paper form (layout 2 on), in the page's language.

Each option row shows the option's label, its state on record (from the document's
snapshot), and the words beside its Yes and No squares; a hint line under the field's label
says how to mark them. The texts are the catalogues' (context "paper form").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from forms_service.core.i18n import NP_, pgettext
from forms_service.definitions.model import FieldDefinition
from forms_service.issuing.layout import MM, CaptionRole, OptionCaption

_BOX_WORDS = {
    CaptionRole.YES: NP_("paper form", "Yes"),
    CaptionRole.NO: NP_("paper form", "No"),
}
#: The state on record: not chosen (False), chosen (True).
_ON_RECORD = {
    False: NP_("paper form", "currently: no"),
    True: NP_("paper form", "currently: yes"),
}
#: The hint under a choice's label, for several answers (True) or one (False).
_HINTS = {
    True: NP_(
        "paper form",
        "Mark Yes or No only where something changes; a row left empty stays as it is.",
    ),
    False: NP_(
        "paper form",
        "Mark Yes for your new choice (one only); nothing marked: no change.",
    ),
}
#: Room for an option's label and for its state, before the squares.
LABEL_WIDTH = 68 * MM
STATE_WIDTH = 45 * MM


@dataclass(frozen=True)
class RowText:
    """What one caption of an option row prints.

    Attributes:
        text: the words, in the page's language.
        grey: printed grey (the state on record and the hint, like "Actuellement : …").
        width: the room it must fit in (None: the content width).
    """

    text: str
    grey: bool = False
    width: float | None = None


def row_text(
    field_def: FieldDefinition,
    caption: OptionCaption,
    snapshot: Mapping[str, str | None],
    locale: str,
) -> RowText:
    """The text of one option-row caption of `field_def` on a document with `snapshot`."""
    role = caption.role
    if role is CaptionRole.HINT:
        return RowText(pgettext(*_HINTS[field_def.type.multiple], locale), grey=True)
    if role is CaptionRole.OPTION:
        return RowText(field_def.display(caption.text_key, locale), width=LABEL_WIDTH)
    if role is CaptionRole.STATE:
        on_record = field_def.type.options_on_record(snapshot.get(field_def.name))
        chosen = caption.text_key in on_record
        return RowText(pgettext(*_ON_RECORD[chosen], locale), grey=True, width=STATE_WIDTH)
    return RowText(pgettext(*_BOX_WORDS[role], locale))
