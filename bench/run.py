"""The benchmarks, in one command: `./run bench` (or `.venv/bin/python bench/run.py`).

    ./run bench                  every benchmark, full size (about 15 minutes on 2 cores);
                                 writes bench/results.json
    ./run bench --quick          tiny sizes, one repeat, no 100,000 (the smoke test)
    ./run bench --only papers    one benchmark (repeatable); see --help for the names

Prints a table (median and spread of the repeats, the baseline timed in the same run, the ratio,
the target, whether it was met, and whether the result was right) and writes it as JSON.
Exits 1 when any benchmark produced a wrong answer or failed to run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)  # run as a script: import `bench`, `pipeline` and `tests` from the repo

from bench import (  # noqa: E402
    cases_generate,
    cases_paper,
    cases_read,
    cases_watch,
    cases_workers,
    cases_worst,
)
from bench.context import FULL, QUICK, Context  # noqa: E402
from bench.measure import Result, machine, markdown, now_text, table  # noqa: E402

RESULTS = REPO / "bench" / "results.json"
WORK = REPO / "bench" / "work"
Case = Callable[[Context], Result | list[Result]]
CASES: dict[str, Case] = {
    "parse": cases_read.parse_docx,
    "ingest-docx": cases_read.ingest_docx,
    "ingest-xlsx": cases_read.ingest_xlsx,
    "generate": cases_generate.generate_docx,
    "papers": cases_paper.papers,
    "watch": cases_watch.watch_burst,
    "worst": cases_worst.worst_cases,
    "workers": cases_workers.several_workers,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./run bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one repeat, no 100,000-return paper (a smoke test)")
    parser.add_argument("--only", action="append", choices=list(CASES), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(CASES)}")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: bench/results.json "
                        "for a full run of everything, else bench/work/results-partial.json)")
    parser.add_argument("--work", type=Path, default=WORK,
                        help="folder for the data the benchmarks build (default: bench/work)")
    return parser.parse_args(argv)


def run_case(name: str, case: Case, ctx: Context) -> list[Result]:
    print(f"bench: {name}...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        found = case(ctx)
    except Exception as exc:  # a benchmark that cannot run is reported, and the rest still run
        traceback.print_exc()
        found = Result(name=name, baseline="-", median_s=None, spread_s=(None, None),
                       baseline_median_s=None, ratio=None, target="-", met=False, per_second=None,
                       correct=False, notes=f"FAILED to run: {type(exc).__name__}: {exc}")
    print(f"bench: {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return found if isinstance(found, list) else [found]


def previous_results(path: Path) -> dict[str, dict[str, object]]:
    try:
        return {row["name"]: row for row in json.loads(path.read_text())["results"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = args.only or list(CASES)
    out = args.out or (RESULTS if not args.quick and not args.only else WORK / "results-partial.json")
    ctx = Context(QUICK if args.quick else FULL, args.work)
    ctx.work.mkdir(parents=True, exist_ok=True)
    host, started, clock = machine(), now_text(), time.perf_counter()
    results = [result for name in chosen for result in run_case(name, CASES[name], ctx)]
    report = {"machine": {**host, "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
              "run_at": started, "quick": args.quick,
              "duration_s": round(time.perf_counter() - clock, 1),
              "results": [result.to_json() for result in results]}
    print(table(results, previous_results(RESULTS)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {out} ({report['duration_s']} s). Markdown for the README:\n")
    print(markdown(results))
    wrong = [r.name for r in results if not r.correct]
    if wrong:
        print(f"\nWRONG or FAILED: {', '.join(wrong)}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
