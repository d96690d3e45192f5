"""A burst of returns dropped into inbox/ with `pipeline watch` running (file events, and
`--polling`) against the same files through one `pipeline ingest` call; and how long a file
waits in inbox/ before the watcher takes it, in the burst and when it arrives on its own.

When a file is taken is seen from outside: a thread looks through inbox/ every `LOOK_EVERY`
seconds and notes when each name disappears (the watcher's claim moves it out).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.measure import Result, Timings, ratio
from bench.returns import Return, record_issued

TARGET = 1.5
LOOK_EVERY = 0.025
READY_TIMEOUT_S = 60
RUN_TIMEOUT_S = 900
SETTLE_S = 0.3


def pipeline_command() -> list[str]:
    script = Path(sys.executable).parent / "pipeline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]


@dataclass
class WatchRun:
    total_s: float
    burst_waits: list[float]
    idle_waits: list[float]
    accepted: int
    stored: int


@dataclass
class Modes:
    ingest: Timings = field(default_factory=Timings)
    runs: dict[str, list[WatchRun]] = field(default_factory=lambda: {"events": [], "polling": []})
    problems: list[str] = field(default_factory=list)


def watch_burst(ctx: Context) -> list[Result]:
    count = ctx.sizes.burst
    pool = ctx.returns(count + ctx.sizes.idle_drops)
    burst, idle = pool[:count], pool[count:]
    source = ctx.folder("burst-returns")
    for item in burst:
        (source / item.name).write_bytes(item.data)
    modes = Modes()
    for repeat in range(ctx.sizes.burst_repeats):
        total, accepted, stored = _ingest_call(ctx.folder(f"burst-ingest-{repeat}"), source, burst)
        modes.ingest.runs.append(total)
        _expect(modes, "pipeline ingest", accepted, stored, count)
        for mode in ("events", "polling"):
            run = _watch(ctx.folder(f"burst-watch-{mode}-{repeat}"), burst, idle if repeat == 0 else [],
                         polling=mode == "polling")
            modes.runs[mode].append(run)
            _expect(modes, f"pipeline watch ({mode})", run.accepted, run.stored,
                    count + (len(idle) if repeat == 0 else 0))
    return _results(modes, count)


def _expect(modes: Modes, what: str, accepted: int, stored: int, files: int) -> None:
    if accepted != files or stored != files:
        modes.problems.append(f"WRONG: {what} accepted {accepted} and stored {stored} of {files} files")


# --- the baseline: one `pipeline ingest` call -------------------------------------------------


def _ingest_call(home: Path, source: Path, burst: list[Return]) -> tuple[float, int, int]:
    record_issued(home)
    command = [*pipeline_command(), "ingest", "--home", str(home), "--json",
               *(str(source / item.name) for item in burst)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    total = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"pipeline ingest failed:\n{done.stderr[-3000:]}")
    accepted = sum(json.loads(line)["outcome"] == "accepted"
                   for line in done.stdout.splitlines() if line.startswith("{"))
    return total, accepted, _stored(home)


def _stored(home: Path) -> int:
    with sqlite3.connect(home / "pipeline.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM submissions").fetchone()[0])


# --- the watcher ------------------------------------------------------------------------------


class _Taken(threading.Thread):
    """Notes the moment each file name disappears from the inbox."""

    def __init__(self, inbox: Path) -> None:
        super().__init__(daemon=True)
        self.inbox, self.at, self.stop = inbox, {}, threading.Event()
        self._seen: set[str] = set()

    def when(self, name: str) -> float:
        """When `name` left the inbox, waiting for the next look if it has not been seen yet."""
        deadline = time.time() + READY_TIMEOUT_S
        while name not in self.at and time.time() < deadline:
            time.sleep(LOOK_EVERY / 2)
        return self.at[name]

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.time()
            names = {entry.name for entry in os.scandir(self.inbox)
                     if entry.is_file() and not entry.name.startswith(".")}
            for name in self._seen - names:
                self.at.setdefault(name, now)
            self._seen = names
            self.stop.wait(LOOK_EVERY)


class _Watcher:
    """`pipeline watch --json` in a process of its own; its results as they are printed."""

    def __init__(self, home: Path, polling: bool) -> None:
        command = [*pipeline_command(), "watch", "--home", str(home), "--json"]
        self.process = subprocess.Popen(command + (["--polling"] if polling else []),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.results: list[tuple[float, dict[str, Any]]] = []
        self.ready, self.changed = threading.Event(), threading.Condition()
        self.log: list[str] = []
        threading.Thread(target=self._read_results, daemon=True).start()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_results(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                with self.changed:
                    self.results.append((time.time(), json.loads(line)))
                    self.changed.notify_all()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if "for returned files" in line:
                self.ready.set()

    def wait_for(self, count: int) -> float:
        """The time the `count`-th result was printed."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.results) >= count or
                                         self.process.poll() is not None, RUN_TIMEOUT_S):
                raise RuntimeError(f"The watcher took over {RUN_TIMEOUT_S} s; it printed "
                                   f"{len(self.results)} results")
            if len(self.results) < count:
                raise RuntimeError("The watcher stopped:\n" + "".join(self.log[-30:]))
            return self.results[count - 1][0]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _watch(home: Path, burst: list[Return], idle: list[Return], *, polling: bool) -> WatchRun:
    home.joinpath("inbox").mkdir(parents=True, exist_ok=True)
    record_issued(home)
    watcher = _Watcher(home, polling)
    taken = _Taken(home / "inbox")
    try:
        if not watcher.ready.wait(READY_TIMEOUT_S):
            raise RuntimeError("The watcher did not start:\n" + "".join(watcher.log[-30:]))
        taken.start()
        start = time.time()
        landed = _drop(home / "inbox", burst)
        total = watcher.wait_for(len(burst)) - start
        for item in burst:  # the last files' results can be printed before the next look
            taken.when(item.name)
        idle_waits = []
        for number, item in enumerate(idle, start=len(burst) + 1):
            time.sleep(SETTLE_S)
            landed.update(_drop(home / "inbox", [item]))
            watcher.wait_for(number)
            idle_waits.append(taken.when(item.name) - landed[item.name])
    finally:
        taken.stop.set()
        watcher.stop()
    accepted = sum(result["outcome"] == "accepted" for _, result in watcher.results)
    waits = [taken.at[item.name] - landed[item.name] for item in burst if item.name in taken.at]
    return WatchRun(total, waits, idle_waits, accepted, _stored(home))


def _drop(inbox: Path, returns: list[Return]) -> dict[str, float]:
    """Write each file into the inbox as a copy does; when each one had landed."""
    landed = {}
    for item in returns:
        (inbox / item.name).write_bytes(item.data)
        landed[item.name] = time.time()
    return landed


# --- results --------------------------------------------------------------------------------------


def _results(modes: Modes, count: int) -> list[Result]:
    problems = "; ".join(modes.problems)
    baseline = modes.ingest
    results = []
    for mode, runs in modes.runs.items():
        timings = Timings([run.total_s for run in runs])
        got = ratio(timings.median, baseline.median)
        results.append(Result(
            name=f"watch-burst-{count}-{mode}", baseline=f"the same {count:,} files through one "
            "`pipeline ingest` call", median_s=timings.median, spread_s=timings.spread,
            baseline_median_s=baseline.median, ratio=got, target=f"<= {TARGET:g}x",
            met=got is not None and got <= TARGET, per_second=count / timings.median,
            correct=not modes.problems, repeats=len(runs),
            notes=problems or f"`pipeline watch{' --polling' if mode == 'polling' else ''}` as a "
            "process: from the first file written into inbox/ to the last one's result printed; "
            "the ingest call includes its start-up (about 1 s)",
        ))
    for mode, runs in modes.runs.items():
        results.append(_wait(f"inbox-wait-burst-{mode}", [w for run in runs for w in run.burst_waits],
                             f"in a burst of {count:,}: most of the wait is the queue of files ahead"))
        idle = [w for run in runs for w in run.idle_waits]
        if idle:
            results.append(_wait(f"inbox-wait-alone-{mode}", idle,
                                 "one file at a time into an idle watcher: the wait is the check "
                                 "that the file has stopped changing"))
    return results


def _wait(name: str, waits: list[float], what: str) -> Result:
    if not waits:
        return Result(name=name, baseline="-", median_s=None, spread_s=(None, None),
                      baseline_median_s=None, ratio=None, target="reported", met=None, per_second=None,
                      correct=False, notes="WRONG: no file was seen being taken")
    return Result(
        name=name, baseline="-", median_s=statistics.median(waits), spread_s=(min(waits), max(waits)),
        baseline_median_s=None, ratio=None, target="reported (worst = max)", met=None, per_second=None,
        correct=True, repeats=len(waits),
        notes=f"time from a file landing in inbox/ to the watcher moving it out, {len(waits)} files; "
        f"{what}; seen every {LOOK_EVERY * 1000:.0f} ms",
    )
