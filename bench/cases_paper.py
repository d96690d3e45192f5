"""Committee papers from 1,000, 10,000 and 100,000 stored returns: time (against the paper from
1,000) and peak memory, each paper written in a process of its own (`bench.paper_worker`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from bench.bulk import Expected, build
from bench.context import REPO, Context
from bench.measure import Result, Timings, ratio, timed

TIME_LIMIT_S = 30.0
MEMORY_LIMIT_MB = 500.0
WORKER_TIMEOUT_S = 600


def papers(ctx: Context) -> list[Result]:
    runs: list[tuple[int, Timings, list[float], bool, str, float]] = []
    for count, repeats in zip(ctx.sizes.papers, ctx.sizes.paper_repeats, strict=True):
        home = ctx.folder(f"paper-{count}")
        built, expected = timed(lambda home=home, count=count: build(home / "pipeline.sqlite3",
                                                                     ctx.monitoring, count))
        timings, memory, problems = Timings(), [], []
        for _ in range(repeats):
            report = _write_paper(home)
            timings.runs.append(float(report["seconds"]))
            memory.append(float(report["peak_rss_mb"]))
            problems = problems or _check(report, expected)  # type: ignore[arg-type]
        runs.append((count, timings, memory, not problems, "; ".join(problems), built))
    return _results(runs)


def _write_paper(home: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bench.paper_worker", str(home), str(home / "papers")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"The paper could not be written:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(report: dict[str, Any], expected: Expected) -> list[str]:
    """The annex's figures against the counts the data was built with."""
    docx, annex = Path(report["docx"]), Path(report["annex"])
    if not docx.is_file() or docx.stat().st_size == 0 or report["pdf"] is not None:
        return ["WRONG: the Word paper was not written (or a PDF was made when none was asked)"]
    book = load_workbook(annex, read_only=True)
    sheets = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book}
    book.close()
    problems = []
    totals = next((row for row in sheets.get("Returns by partnership", []) if row[0] == "Total"), None)
    # received, on time, late: one return per meeting (a corrected copy replaces, never adds)
    wanted = [expected.meetings, expected.meetings - expected.late, expected.late]
    if totals is None or totals[2:5] != wanted:
        problems.append(f"WRONG: the returns table's totals are {totals and totals[2:5]}, not {wanted}")
    for title, counts in (("Agenda Rating", expected.agenda), ("Attendance Rating", expected.attendance)):
        shown = [row[1] for row in sheets.get(title, [])[1:] if row[0] != "Total" and row[1] is not None]
        if sorted(shown) != sorted(counts.values()) or sum(shown) != expected.meetings:
            problems.append(f"WRONG: the {title} counts are {shown}, not {sorted(counts.values())}")
    return problems


def _results(runs: list[tuple[int, Timings, list[float], bool, str, float]]) -> list[Result]:
    base_count, base, base_memory, *_ = runs[0]
    results = []
    for count, timings, memory, correct, problems, built in runs:
        linear = count / base_count
        got = ratio(timings.median, base.median)
        is_base = count == base_count
        largest = count == runs[-1][0] and not is_base
        met = None if is_base else got is not None and got <= linear and \
            (not largest or count < 100_000 or timings.median < TIME_LIMIT_S)
        target = "base of the growth" if is_base else f"<= {linear:g}x (linear)" + \
            (f" and < {TIME_LIMIT_S:g} s" if largest and count >= 100_000 else "")
        results.append(Result(
            name=f"paper-{count}", baseline=f"the same paper from {base_count:,} returns",
            median_s=timings.median, spread_s=timings.spread, baseline_median_s=base.median,
            ratio=got, target=target, met=met, per_second=1 / timings.median, correct=correct,
            repeats=len(timings.runs),
            notes=problems or f"monitoring summary .docx + .xlsx annex, no PDF; {count:,} stored "
            f"returns (1 in 20 a corrected copy), built in {built:.1f} s; per second = papers",
            extra={"peak_rss_mb": round(max(memory), 1)},
        ))
    count, timings, memory, correct, problems, _ = runs[-1]
    results.append(_memory(count, memory, base_count, base_memory, correct, problems))
    return results


def _memory(count: int, memory: list[float], base_count: int, base_memory: list[float], correct: bool,
            problems: str) -> Result:
    peak = max(memory)
    return Result(
        name=f"paper-{count}-memory", baseline=f"peak RSS of the paper from {base_count:,}",
        median_s=None, spread_s=(None, None), baseline_median_s=None,  # type: ignore[arg-type]
        ratio=peak / max(base_memory), target=f"< {MEMORY_LIMIT_MB:g} MB peak RSS",
        met=peak < MEMORY_LIMIT_MB, per_second=None, correct=correct, repeats=len(memory),
        notes=problems or "peak resident memory of the whole paper process (Python, imports, "
        "SQLite, docxtpl, openpyxl, matplotlib), worst of the repeats",
        extra={"peak_rss_mb": round(peak, 1), "peak_rss_mb_runs": [round(m, 1) for m in memory],
               "baseline_peak_rss_mb": round(max(base_memory), 1)},
    )
