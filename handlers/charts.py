"""Charts as PNG bytes with matplotlib, rendered off-screen (the Agg canvas, no pyplot state).

Before matplotlib 3.11, matplotlib drew characters one by one from left to right, so Arabic text
was shaped (letters joined: arabic-reshaper) and put in visual right-to-left order (python-bidi)
first. Matplotlib 3.11 lays out complex text itself (joining and right-to-left): doing it again
reversed every Arabic label, so there the text is left as it is. The labels come in already
translated; this module knows nothing of catalogs.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


@lru_cache(maxsize=1)
def _matplotlib_lays_out_text() -> bool:
    import matplotlib

    major, minor = (int(p) for p in matplotlib.__version__.split(".")[:2])
    return (major, minor) >= (3, 11)


def shape(text: str) -> str:
    """Text ready for matplotlib: Arabic joined and right-to-left, anything else untouched."""
    if not _ARABIC.search(text) or _matplotlib_lays_out_text():
        return text
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


@dataclass
class Panel:
    """One bar chart: a title, labels with values, and how to print a value."""

    title: str
    labels: list[str]
    values: list[float]
    horizontal: bool = True
    percent: bool = False
    series: list[tuple[str, list[float]]] = field(default_factory=list)  # grouped bars instead


LABEL_MAX = 28


def short_label(text: str, maximum: int = LABEL_MAX) -> str:
    """A label that fits beside its bar: long session titles end with "…" (not cut off)."""
    return text if len(text) <= maximum else text[: maximum - 1].rstrip() + "…"


def render_panels(panels: list[Panel], title: str) -> bytes:
    """A figure with one panel per chart, two columns wide; returns the PNG bytes."""
    figure = draw_panels(panels, title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_panels(panels: list[Panel], title: str) -> Any:
    """The matplotlib figure of :func:`render_panels`. Counts get whole-number ticks (no "0.5
    artisan"); percentages keep matplotlib's."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = (len(panels) + 1) // 2
    figure = Figure(figsize=(12, 4.2 * rows), dpi=100)
    FigureCanvasAgg(figure)
    figure.suptitle(shape(title), fontsize=15, fontweight="bold")
    for index, panel in enumerate(panels):
        axes = figure.add_subplot(rows, 2, index + 1)
        axes.set_title(shape(panel.title), fontsize=12)
        labels = [shape(short_label(label)) for label in panel.labels]
        positions = list(range(len(labels)))
        if panel.series:
            width = 0.8 / max(1, len(panel.series))
            for n, (name, values) in enumerate(panel.series):
                shifted = [p + (n - (len(panel.series) - 1) / 2) * width for p in positions]
                bars = axes.bar(shifted, values, width=width, label=shape(name))
                axes.bar_label(bars, fmt="%d", fontsize=8)
            axes.set_xticks(positions, labels, rotation=20, ha="right", fontsize=8)
            axes.legend(fontsize=8)
        elif panel.horizontal:
            bars = axes.barh(positions, panel.values, color="#b5562b")
            axes.set_yticks(positions, labels, fontsize=8)
            axes.invert_yaxis()
            axes.bar_label(bars, fmt="%.0f%%" if panel.percent else "%d", fontsize=8, padding=2)
        else:
            bars = axes.bar(positions, panel.values, color="#2b6cb5")
            axes.set_xticks(positions, labels, rotation=45, ha="right", fontsize=8)
            axes.bar_label(bars, fmt="%.0f%%" if panel.percent else "%d", fontsize=8)
        if not labels:
            axes.text(0.5, 0.5, "—", ha="center", va="center", transform=axes.transAxes)
        if not panel.percent:
            value_axis = axes.xaxis if panel.horizontal and not panel.series else axes.yaxis
            value_axis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    return figure
