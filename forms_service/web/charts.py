"""Bar charts as geometry for server-rendered SVG (templates/_charts.html draws them).

No chart library and no script: a manager's browser gets plain SVG, readable without
JavaScript, printable, and each chart comes with its figures as a table for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Geometry in SVG user units; the SVG scales to its container's width.
LABEL_WIDTH = 190
BAR_AREA = 330
VALUE_WIDTH = 120
ROW_HEIGHT = 26
BAR_HEIGHT = 16


@dataclass(frozen=True)
class Bar:
    """One bar: its label, the figure written beside it and where it is drawn."""

    label: str
    text: str
    y: float
    width: float
    #: The shade of the palette (0..3), so that the stages of a funnel read as one series.
    tone: int = 0


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: its title (the SVG's accessible name) and bars."""

    title: str
    bars: tuple[Bar, ...]
    width: int = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.bars) + 8


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    scale: float | None = None,
    tones: Sequence[int] | None = None,
) -> BarChart:
    """Bars for (label, value, text) rows, scaled to `scale` (default: the largest value)."""
    top = scale if scale is not None else max((value for _, value, _ in rows), default=0.0)
    bars = tuple(
        Bar(
            label=label,
            text=text,
            y=4 + index * ROW_HEIGHT,
            width=round(BAR_AREA * value / top, 1) if top > 0 and value > 0 else 0.0,
            tone=tones[index] if tones else 0,
        )
        for index, (label, value, text) in enumerate(rows)
    )
    return BarChart(title=title, bars=bars)
