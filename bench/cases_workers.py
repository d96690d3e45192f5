"""Several workers on one store (issue 15): the same returns dropped into inbox/ at once and taken
in by one `pipeline watch` on SQLite, and by one, two and four `pipeline watch` processes sharing
one PostgreSQL database; throughput, and the time against one watcher on SQLite, in one run.

The PostgreSQL server is a throwaway cluster (tests/support/postgres.py) started for the run with fsync
and synchronous commit on, as a real server keeps them (SQLite commits with synchronous=FULL).
A run is timed from the first file renamed into inbox/ to the last result a watcher prints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.context import Context
from bench.measure import Result, Timings, ratio
from bench.returns import Return, record_issued

READY_TIMEOUT_S = 60
RUN_TIMEOUT_S = 900
SETUPS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 4))
QUIET_SECONDS = 0.5  # the same for every set-up: a file must rest this long before it is taken


def pipeline_command() -> list[str]:
    from bench.cases_watch import pipeline_command as command

    return command()


@dataclass
class Run:
    total_s: float
    accepted: int
    stored: int
    by_worker: list[int]


class _Workers:
    """`count` `pipeline watch --json` processes on one home; every result as it is printed."""

    def __init__(self, home: Path, count: int) -> None:
        self.results: list[tuple[float, dict[str, object]]] = []
        self.by_worker = [0] * count
        self.changed = threading.Condition()
        self.ready = [threading.Event() for _ in range(count)]
        self.log: list[str] = []
        self.processes = []
        for number in range(count):
            process = subprocess.Popen([*pipeline_command(), "watch", "--json", "--home", str(home)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.processes.append(process)
            threading.Thread(target=self._read_results, args=(number, process), daemon=True).start()
            threading.Thread(target=self._read_log, args=(number, process), daemon=True).start()

    def _read_results(self, number: int, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not line.startswith("{"):
                continue
            result = json.loads(line)
            if result["outcome"] == "taken elsewhere":
                continue
            with self.changed:
                self.results.append((time.time(), result))
                self.by_worker[number] += 1
                self.changed.notify_all()

    def _read_log(self, number: int, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.log.append(line)
            if "for returned files" in line:
                self.ready[number].set()

    def wait_ready(self) -> None:
        for event in self.ready:
            if not event.wait(READY_TIMEOUT_S):
                raise RuntimeError("A watcher did not start:\n" + "".join(self.log[-30:]))

    def wait_for(self, count: int) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.results) >= count, RUN_TIMEOUT_S):
                raise RuntimeError(f"The watchers took over {RUN_TIMEOUT_S} s; they printed "
                                   f"{len(self.results)} results:\n" + "".join(self.log[-30:]))
            return self.results[count - 1][0]

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def several_workers(ctx: Context) -> list[Result]:
    from tests.support.postgres import start_cluster

    count = ctx.sizes.workers_files
    burst = ctx.returns(count)
    cluster = start_cluster(durable=True)
    if isinstance(cluster, str):  # no PostgreSQL here: the SQLite watcher alone, and say why
        alone = [_run(ctx.folder(f"workers-sqlite-1-{repeat}"), burst, 1, None)
                 for repeat in range(ctx.sizes.workers_repeats)]
        return [*_results({("sqlite", 1): alone}, count), _not_run(cluster)]
    try:
        runs: dict[tuple[str, int], list[Run]] = {setup: [] for setup in SETUPS}
        for repeat in range(ctx.sizes.workers_repeats):
            for kind, workers in SETUPS:
                url = cluster.new_database() if kind == "postgresql" else None
                home = ctx.folder(f"workers-{kind}-{workers}-{repeat}")
                runs[(kind, workers)].append(_run(home, burst, workers, url))
    finally:
        cluster.stop()
    return _results(runs, count)


def _run(home: Path, burst: list[Return], workers: int, url: str | None) -> Run:
    (home / "inbox").mkdir()
    database = f'[database]\nurl = "{url}"\n' if url else ""
    (home / "pipeline.toml").write_text(f"{database}[watch]\nquiet_seconds = {QUIET_SECONDS}\n")
    record_issued(home)
    staging = home / "staging"
    staging.mkdir()
    for item in burst:
        (staging / item.name).write_bytes(item.data)
    running = _Workers(home, workers)
    try:
        running.wait_ready()
        start = time.time()
        for item in burst:
            os.rename(staging / item.name, home / "inbox" / item.name)
        total = running.wait_for(len(burst)) - start
    finally:
        running.stop()
    accepted = sum(result["outcome"] == "accepted" for _, result in running.results)
    return Run(total, accepted, _stored(home), running.by_worker)


def _stored(home: Path) -> int:
    from pipeline.core.config import settings_for
    from pipeline.store import Store

    with Store.for_home(settings_for(home)) as store:
        counts = store.counts()
    return counts["current"] + counts["superseded"]


def _results(runs: dict[tuple[str, int], list[Run]], count: int) -> list[Result]:
    baseline = Timings([run.total_s for run in runs[("sqlite", 1)]])
    results = []
    for (kind, workers), done in runs.items():
        timings = Timings([run.total_s for run in done])
        wrong = [f"accepted {run.accepted} and stored {run.stored} of {count}" for run in done
                 if run.accepted != count or run.stored != count]
        shares = "; ".join("/".join(map(str, run.by_worker)) for run in done)
        got = ratio(timings.median, baseline.median)
        speed = baseline.median / timings.median if timings.median else None
        results.append(Result(
            name=f"workers-{kind}-{workers}", baseline=f"one `pipeline watch` on SQLite, the same "
            f"{count:,} files", median_s=timings.median, spread_s=timings.spread,
            baseline_median_s=baseline.median, ratio=got, target="reported", met=None,
            per_second=count / timings.median, correct=not wrong, repeats=len(done),
            notes="WRONG: " + "; ".join(wrong) if wrong else
            f"{workers} `pipeline watch` process(es) on {kind}: {count / timings.median:.1f} "
            f"returns/s, {speed:.2f}x the throughput of one watcher on SQLite; files taken by "
            f"each watcher: {shares}",
        ))
    return results


def _not_run(reason: str) -> Result:
    return Result(name="workers-postgresql", baseline="-", median_s=None, spread_s=(None, None),
                  baseline_median_s=None, ratio=None, target="reported", met=None, per_second=None,
                  correct=True, notes=f"not run: {reason}")
