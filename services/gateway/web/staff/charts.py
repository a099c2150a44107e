"""The dashboard's horizontal bar charts, laid out here and drawn as inline SVG
by the template (staff/dashboard.html).

Each bar has its label on its own line above it, so the chart is narrow
(WIDTH user units): drawn at its own width on a desk, and scaled by at most
a tenth on a 375 px phone, its text stays legible there. The label column
beside the bars made the chart 650 units wide, and on a phone its 13-unit
text shrank to about 7 px."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

FONT_SIZE: Final = 14  # user units; 1 unit is 1 CSS px at the chart's own width
BAR_AREA: Final = 290  # the longest bar
VALUE_ROOM: Final = 60  # beside the longest bar, for "100.0%"
WIDTH: Final = BAR_AREA + VALUE_ROOM
ROW: Final = 44  # a label line, then the bar
BAR_HEIGHT: Final = 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1 for a rate, else a count
    text: str  # what is written at the bar's end


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart, laid out for the template to draw as SVG."""

    title: str
    bars: list[dict[str, Any]]
    width: int
    height: int
    font_size: int
    empty: bool


def text_width(text: str) -> float:
    """Roughly how wide ``text`` is drawn at FONT_SIZE: a CJK character is a
    full em, a Latin one about half."""
    return sum(FONT_SIZE if ord(ch) > 0x2E7F else FONT_SIZE * 0.55 for ch in text)


def fit(text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` (SVG text does not wrap)."""
    if text_width(text) <= width:
        return text
    while text and text_width(text) + FONT_SIZE > width:
        text = text[:-1]
    return text + "…"


def bar_chart(title: str, bars: Sequence[Bar], *, scale: float | None = None) -> Chart:
    """``bars`` drawn against ``scale`` (1.0 for rates), else against the largest."""
    top = max((b.value for b in bars), default=0.0)
    full = scale if scale is not None else (top or 1.0)
    laid = []
    for i, b in enumerate(bars):
        width = round(BAR_AREA * (b.value / full), 1) if full else 0
        laid.append(
            {
                "label": fit(b.label, WIDTH),
                "full_label": b.label,
                "text": b.text,
                "label_y": i * ROW + FONT_SIZE + 1,
                "bar_y": i * ROW + FONT_SIZE + 6,
                "bar_height": BAR_HEIGHT,
                "width": width,
                "text_x": width + 6,
                "text_y": i * ROW + FONT_SIZE + 6 + BAR_HEIGHT - 3,
            }
        )
    return Chart(
        title=title,
        bars=laid,
        width=WIDTH,
        height=max(len(bars), 1) * ROW,
        font_size=FONT_SIZE,
        empty=not bars,
    )
