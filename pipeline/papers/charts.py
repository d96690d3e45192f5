"""Bar charts for papers, as PNG bytes (matplotlib's Agg canvas, no pyplot, no global state).

A chart is drawn from the same figures as the table beside it, at 150 dpi, with no timestamp or
software name in the PNG, so the same figures give byte-for-byte the same image.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 150
NAVY, MID_BLUE, PALE_BLUE = "#1F3864", "#4F81BD", "#B8CCE4"
GREY = "#595959"
FONT_SIZE = 8


def rating_bars(panels: Sequence[tuple[str, Sequence[str], Sequence[int]]]) -> bytes:
    """One horizontal bar panel per (title, level labels, counts), stacked, the first level on top."""
    height = sum(0.45 + 0.36 * len(labels) for _, labels, _ in panels) + 0.2
    figure = Figure(figsize=(6.3, height), dpi=DPI)
    axes_list = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for axes, (title, labels, counts) in zip(axes_list, panels, strict=True):
        positions = range(len(labels))
        bars = axes.barh(list(positions), list(counts), color=NAVY, height=0.6)
        axes.bar_label(bars, labels=[str(c) for c in counts], padding=3, fontsize=FONT_SIZE)
        axes.set_yticks(list(positions), [_wrapped(label, 50) for label in labels], fontsize=FONT_SIZE)
        axes.invert_yaxis()
        _tidy(axes, title, max(counts, default=0))
    figure.tight_layout(h_pad=1.2)
    return _png(figure)


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    maximum: float,
    axis_label: str,
) -> bytes:
    """Horizontal bars, one group per category and one bar per series (e.g. per survey year).

    No title: the paper's caption names the chart.
    """
    colours = (PALE_BLUE, MID_BLUE, NAVY)[-len(series) :] if len(series) <= 3 else None
    figure = Figure(figsize=(6.3, 0.8 + 0.2 * len(categories) * max(1, len(series)) ** 0.5), dpi=DPI)
    axes = figure.subplots()
    width = 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series):
        offsets = [i - 0.4 + width * (index + 0.5) for i in range(len(categories))]
        axes.barh(
            offsets,
            [v or 0 for v in values],
            height=width * 0.95,
            label=name,
            color=colours[index] if colours else None,
        )
    axes.set_yticks(list(range(len(categories))), list(categories), fontsize=FONT_SIZE)
    axes.invert_yaxis()
    axes.set_xlim(0, maximum)
    axes.set_xlabel(axis_label, fontsize=FONT_SIZE, color=GREY)
    _tidy(axes, "", None)
    axes.legend(
        fontsize=FONT_SIZE,
        frameon=False,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=len(series),
        borderaxespad=0.2,
    )
    figure.tight_layout()
    return _png(figure)


def _tidy(axes, title: str, largest: int | None) -> None:  # type: ignore[no-untyped-def]
    if title:
        axes.set_title(title, fontsize=FONT_SIZE + 1, loc="left", fontweight="bold", color=NAVY)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", labelsize=FONT_SIZE, colors=GREY)
    if largest is not None:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(0, max(1, largest) * 1.12)


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
