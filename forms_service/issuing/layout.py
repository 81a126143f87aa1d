"""The paper form's layout versions: new pages print with the current one, old ones stay readable.

A layout is a pure function of (definition, layout version) handed to ocr/ as geometry. The
layout version is printed in every page code (`F<layout version>.…`, see pagecode.py), so a
page posted before a change of margins or box sizes is still read with the geometry it was
printed with. Each version is a frozen module (layout_v1.py, …) registered here; changing
what a registered version returns misreads every page printed with it, which
tests/unit/issuing/test_layout_versions.py guards against with a committed fingerprint.

To change the layout: copy the current version's module to layout_v<N+1>.py, change the
copy, register it in LAYOUTS with current=N+1, and keep every older version registered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from forms_service.core.errors import FormsError
from forms_service.core.i18n import N_
from forms_service.definitions.model import FormDefinition
from forms_service.issuing import layout_v1, layout_v2
from forms_service.issuing.layout_model import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Caption,
    CaptionRole,
    FieldBlock,
    FormLayout,
    LayoutError,
    OptionCaption,
    answer_zones,
    paper_fields,
)
from ocr.geometry import FormGeometry

__all__ = [
    "CONTENT_WIDTH",
    "CURRENT_LAYOUT",
    "LAYOUTS",
    "MARGIN",
    "MM",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "Caption",
    "CaptionRole",
    "FieldBlock",
    "FormLayout",
    "LayoutError",
    "LayoutFunction",
    "LayoutVersions",
    "OptionCaption",
    "UnknownLayoutVersion",
    "answer_zones",
    "form_geometry",
    "layout",
    "paper_fields",
]

MM = 72 / 25.4
#: Page furniture the renderer draws outside every answer box (letter, header, footer):
#: not part of any version's geometry, so the scan reader never depends on it.
MARGIN = 20 * MM
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

LayoutFunction = Callable[[FormDefinition], FormLayout]


class UnknownLayoutVersion(FormsError):
    """A page code names a layout version this service does not have (a newer deployment's)."""

    status = 400
    code = "unknown_layout_version"


class LayoutVersions:
    """The registry of layout versions; `current` is the one new documents print with.

    Args:
        versions: layout version -> its frozen layout function.
        current: the version the renderer prints with.
    """

    def __init__(self, versions: Mapping[int, LayoutFunction], *, current: int) -> None:
        if current not in versions:
            raise ValueError(f"the current layout version {current} is not registered")
        if any(not 1 <= v <= 999 for v in versions):
            raise ValueError("layout versions are 1 to 999 (three digits in the page code)")
        self._versions = dict(versions)
        self.current = current

    @property
    def versions(self) -> tuple[int, ...]:
        """The registered versions, oldest first."""
        return tuple(sorted(self._versions))

    def __contains__(self, version: object) -> bool:
        return version in self._versions

    def layout(self, definition: FormDefinition, version: int | None = None) -> FormLayout:
        """The layout of `definition` in `version` (the current one by default).

        Raises:
            UnknownLayoutVersion: `version` is not registered.
            LayoutError: the definition cannot be laid out.
        """
        number = self.current if version is None else version
        function = self._versions.get(number)
        if function is None:
            raise UnknownLayoutVersion(
                N_("layout version %(layout)s is unknown here (known: %(known)s)"),
                field="layout_version",
                params={"layout": number, "known": ", ".join(map(str, self.versions))},
            )
        return function(definition)

    def geometry(self, definition: FormDefinition, version: int | None = None) -> FormGeometry:
        """The scan reader's geometry of `definition` in `version` (see `layout`)."""
        return self.layout(definition, version).geometry()

    def with_version(
        self, version: int, function: LayoutFunction, *, current: bool = True
    ) -> LayoutVersions:
        """A registry with one more version (the next layout, or a test's), others kept.

        Raises:
            ValueError: `version` is already registered (a version never changes).
        """
        if version in self._versions:
            raise ValueError(f"layout version {version} is already registered")
        return LayoutVersions(
            {**self._versions, version: function},
            current=version if current else self.current,
        )


#: Every layout version ever printed. Never remove or change one: posted pages use them.
#: Version 2 (issue 17) prints each option of a choice with its state and a Yes and a No box.
LAYOUTS = LayoutVersions(
    {
        layout_v1.LAYOUT_VERSION: layout_v1.layout,
        layout_v2.LAYOUT_VERSION: layout_v2.layout,
    },
    current=layout_v2.LAYOUT_VERSION,
)
CURRENT_LAYOUT = LAYOUTS.current


def layout(definition: FormDefinition, version: int | None = None) -> FormLayout:
    """Lay a definition out on A4 form pages, in `version` (the current one by default).

    A pure function of the definition (hence of its id and version) and the layout version:
    the same pair always gives an equal layout, so the scan reader can recompute it from a
    page code.

    Raises:
        LayoutError: a field's boxes cannot fit on one page (too many options, say).
        UnknownLayoutVersion: no such layout version.
    """
    return LAYOUTS.layout(definition, version)


def form_geometry(definition: FormDefinition, version: int | None = None) -> FormGeometry:
    """The geometry of a definition's form pages (see `layout`)."""
    return LAYOUTS.geometry(definition, version)
