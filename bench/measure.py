"""Timing and reporting: repeats, median and spread, one `Result` per measurement, the table.

Every figure is compared with a baseline timed in the same run (absolute times on a shared
machine drift), and every result says whether what was measured produced the right answer.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """One row of the table and of `results.json` (times in seconds)."""

    name: str
    baseline: str
    median_s: float | None  # None for a row that measures memory
    spread_s: tuple[float | None, float | None]  # min and max over the repeats
    baseline_median_s: float | None
    ratio: float | None  # median_s / baseline_median_s
    target: str
    met: bool | None  # None where there is nothing to meet (reported only)
    per_second: float | None  # forms (or papers) per second at the median
    correct: bool
    notes: str = ""
    repeats: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        for key in ("median_s", "baseline_median_s", "ratio", "per_second"):
            data[key] = _rounded(data[key])
        data["spread_s"] = [_rounded(v) for v in self.spread_s]
        return {**data, **extra}


def _rounded(value: float | None) -> float | None:
    return None if value is None or value != value else round(value, 6)


@dataclass
class Timings:
    """Seconds per repeat, for one side of a comparison."""

    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.runs), max(self.runs)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """Seconds `action` took, and what it returned.

    Garbage is collected first, outside the clock: python-docx and docxtpl leave reference
    cycles holding whole parsed documents, which would otherwise be freed (and paid for) in
    whichever timing came next, and pile up to gigabytes in between. What is left (the bench's
    own data: hundreds of returns) is then set aside with `gc.freeze` while the clock runs, so
    neither side's collections walk it, as the watcher sets aside its forms and store.
    """
    gc.collect()
    gc.freeze()
    try:
        start = time.perf_counter()
        value = action()
        return time.perf_counter() - start, value
    finally:
        gc.unfreeze()


def per_item(total: float, count: int) -> float:
    return total / count if count else float("nan")


def ratio(ours: float, baseline: float | None) -> float | None:
    return ours / baseline if baseline else None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    Linux's `VmHWM` where there is one: `ru_maxrss` of a process started by a large parent
    counts the parent's memory before the exec, so it is not this program's own peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
    }


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the table ---------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def table(results: list[Result], previous: dict[str, dict[str, Any]]) -> str:
    """The results as a plain-text table; `previous` (name -> last run's row) for the last column."""
    header = ("measurement", "median", "spread (min-max)", "baseline", "ratio", "target", "met",
              "per s", "correct", "last run")
    rows = [header] + [_row(r, previous.get(r.name)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _row(result: Result, last: dict[str, Any] | None) -> tuple[str, ...]:
    met = {True: "yes", False: "NO", None: "-"}[result.met]
    if result.median_s is None and "peak_rss_mb" in result.extra:  # a memory row
        runs = result.extra.get("peak_rss_mb_runs") or [result.extra["peak_rss_mb"]]
        shown = (f"{result.extra['peak_rss_mb']:.0f} MB", f"{min(runs):.0f} - {max(runs):.0f} MB",
                 f"{result.extra.get('baseline_peak_rss_mb', 0):.0f} MB")
        last_shown = f"{last['peak_rss_mb']:.0f} MB" if last and last.get("peak_rss_mb") else "-"
    else:
        low, high = result.spread_s
        shown = (seconds(result.median_s), f"{seconds(low)} - {seconds(high)}",
                 seconds(result.baseline_median_s))
        last_shown = seconds(last.get("median_s")) if last else "-"
    return (
        result.name,
        *shown,
        "-" if result.ratio is None else f"{result.ratio:.2f}",
        result.target,
        met,
        "-" if result.per_second is None else f"{result.per_second:,.1f}",
        "yes" if result.correct else "WRONG",
        last_shown,
    )


def markdown(results: list[Result]) -> str:
    """The same results as a Markdown table, for the README."""
    lines = ["| measurement | median | spread (min-max) | baseline median | ratio | target | met "
             "| per second | correct |", "| --- " * 9 + "|"]
    for r in results:
        cells = _row(r, None)[:-1]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
