"""What a layout is, whatever its version: field blocks, page furniture, the reader's geometry.

The values here are shared by every layout version (forms_service.issuing.layout_v1, …);
the numbers that place boxes belong to each version's own module, so that changing one
version can never move the boxes of another.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from forms_service.definitions.model import Channel, FieldDefinition, FormDefinition
from ocr.geometry import FormGeometry, PageGeometry, Rect, Zone

PAGE_WIDTH = 595.28  # A4
PAGE_HEIGHT = 841.89


class LayoutError(ValueError):
    """A definition that cannot be laid out on A4 (a comb too long for one line, say)."""


@dataclass(frozen=True)
class Caption:
    """A short text printed beside a box (an option's label, JJ/MM/AAAA)."""

    text_key: str
    x: float
    y: float
    size: float


class CaptionRole(StrEnum):
    """What an option row's caption says (layout 2 on); `text_key` is the option value."""

    #: The option's label.
    OPTION = "option"
    #: The option's state on record, from the document's snapshot.
    STATE = "state"
    #: The word beside the Yes square.
    YES = "yes"
    #: The word beside the No square.
    NO = "no"
    #: The block's instruction line (how to mark the rows; `text_key` empty).
    HINT = "hint"


@dataclass(frozen=True)
class OptionCaption(Caption):
    """A caption of a choice's option rows (a subclass: older layouts' captions unchanged)."""

    role: CaptionRole = CaptionRole.OPTION


@dataclass(frozen=True)
class FieldBlock:
    """One field on a form page: where its label, its current value and its boxes go.

    Attributes:
        field: the definition's field name.
        page: form page number (1-based).
        top: y of the block's top edge.
        label_at: baseline start of the label.
        current_at: baseline start of the grey current value (None for a signature).
        zones: the answer boxes.
        captions: texts printed beside boxes; `text_key` is an option value, "true"/"false"
            for the Oui/Non squares of a checkbox, or JJ/MM/AAAA under a date.
        groups: for comb cells, the cell indexes after which a thicker separator is drawn.
    """

    field: str
    page: int
    top: float
    label_at: tuple[float, float]
    current_at: tuple[float, float] | None
    zones: tuple[Zone, ...]
    captions: tuple[Caption, ...] = ()
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class FormLayout:
    """Every form page of one definition version in one layout version.

    Attributes:
        layout_version: the layout algorithm that placed the boxes (printed in the page
            code, so that a page is always read with the geometry it was printed with).
        marks: centres of the registration squares, `mark_size` wide.
        qr: where the page code is drawn.
    """

    form_id: str
    version: int
    layout_version: int
    page_count: int
    blocks: tuple[FieldBlock, ...]
    marks: tuple[tuple[float, float], ...]
    mark_size: float
    qr: Rect

    def blocks_on(self, page: int) -> tuple[FieldBlock, ...]:
        """The blocks of one form page, top to bottom."""
        return tuple(b for b in self.blocks if b.page == page)

    def geometry(self) -> FormGeometry:
        """The scan reader's view: per page, marks, QR area and answer zones."""
        return FormGeometry(
            form_id=self.form_id,
            version=self.version,
            pages=tuple(
                PageGeometry(
                    number=page,
                    width=PAGE_WIDTH,
                    height=PAGE_HEIGHT,
                    marks=self.marks,
                    mark_size=self.mark_size,
                    qr=self.qr,
                    zones=tuple(z for b in self.blocks_on(page) for z in b.zones),
                )
                for page in range(1, self.page_count + 1)
            ),
        )


def paper_fields(definition: FormDefinition) -> tuple[FieldDefinition, ...]:
    """The fields layout version 1 places: those answered on paper or in the fillable PDF.

    Frozen with version 1 (its geometry is fingerprinted): a PDF-only field keeps its block,
    so that the fillable copy has its widget and no other box moves. What is printed on the
    paper form and read from its scans is narrower: `answer_zones` and the renderer keep
    only the fields of the channel (`FormDefinition.fields_for`). A next layout version may
    place `definition.fields_for(Channel.PAPER)` alone, if the fillable copy finds another
    place for PDF-only fields.
    """
    return tuple(
        f for f in definition.fields if Channel.PAPER in f.channels or Channel.PDF in f.channels
    )


def answer_zones(
    definition: FormDefinition, page: PageGeometry, channel: Channel = Channel.PAPER
) -> PageGeometry:
    """The page with only the zones of fields answered on `channel`: what a scan is read in.

    A scanned letter answers on paper; a flattened PDF return read by scan answers on the
    PDF channel. Every layout version is read through this, so a field whose `channels`
    leave out paper (a mandate only signed online or in the PDF) is never read from paper,
    even on pages printed before it stopped being printed.
    """
    wanted = {f.name for f in definition.fields_for(channel)}
    zones = tuple(zone for zone in page.zones if zone.field in wanted)
    if len(zones) == len(page.zones):
        return page
    return dataclasses.replace(page, zones=zones)
