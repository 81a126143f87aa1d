"""A test-only layout version 9 that really differs from version 1, and layout fingerprints.

The tests prove the versioning with this one, whatever the shipped versions are: every box,
label and caption of version 1 moved 6 mm to the right, so that a page printed with one
version and read with the other's zones is visibly misread (a comb cell is 5 to 7 mm wide).
Its number lies past the shipped versions (1 and 2), so that it never takes one's place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from forms_service.definitions.model import FormDefinition
from forms_service.issuing import layout_v1
from forms_service.issuing.layout import LAYOUTS, FormLayout, LayoutVersions
from ocr.geometry import Zone

SHIFT = 6 * 72 / 25.4
TEST_LAYOUT = 9


def _moved(zone: Zone) -> Zone:
    rect = zone.rect
    return dataclasses.replace(zone, rect=dataclasses.replace(rect, x=round(rect.x + SHIFT, 2)))


def shifted_layout(definition: FormDefinition) -> FormLayout:
    """Layout version 9 (tests only): version 1 moved 6 mm to the right."""
    base = layout_v1.layout(definition)
    blocks = tuple(
        dataclasses.replace(
            block,
            label_at=(round(block.label_at[0] + SHIFT, 2), block.label_at[1]),
            current_at=None
            if block.current_at is None
            else (round(block.current_at[0] + SHIFT, 2), block.current_at[1]),
            zones=tuple(_moved(z) for z in block.zones),
            captions=tuple(dataclasses.replace(c, x=round(c.x + SHIFT, 2)) for c in block.captions),
        )
        for block in base.blocks
    )
    return dataclasses.replace(base, layout_version=TEST_LAYOUT, blocks=blocks)


def with_test_layout() -> LayoutVersions:
    """The shipped registry plus version 9, which becomes the current one."""
    return LAYOUTS.with_version(TEST_LAYOUT, shifted_layout)


def fingerprint(form_layout: FormLayout) -> str:
    """A digest of everything a layout places: zones, marks, QR area, labels, captions.

    The reader recomputes the zones, and the blank page it compares a scan with is drawn
    from the blocks (comb separators, captions), so both are part of what must not move.
    """
    canonical = json.dumps(dataclasses.asdict(form_layout), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
