"""Pipeline commands as processes of their own (`pipeline watch`, `pipeline serve`), for the tests
that drop hundreds of files, kill a worker with `kill -9` and restart it; and waiting for an
outcome (never for a time) while watching that none of them stopped."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

PIPELINE = Path(sys.executable).with_name("pipeline")


class Worker:
    """`pipeline COMMAND --home HOME` as its own process, what it prints going to NAME.out/.err
    in the home; started once it says it is watching for returned files."""

    def __init__(self, home: Path, name: str, *command: str) -> None:
        self.home, self.name = home, name
        self.err_path = home / f"{name}.err"
        self._out: IO[bytes] = (home / f"{name}.out").open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.process = subprocess.Popen([str(PIPELINE), *command, "--home", str(home)],
                                        stdout=self._out, stderr=self._err)
        until(lambda: "for returned files" in self.log(), 60, f"{name} to start", [self])

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.err_path.read_text(errors="replace")

    def kill_hard(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)
        self._close()
        return self.process.returncode

    def _close(self) -> None:
        self._out.close()
        self._err.close()


def until(done: Callable[[], bool], seconds: float, what: str, workers: list[Worker]) -> None:
    """Wait until `done()`; fail saying so if a worker stopped by itself or time ran out."""
    deadline = time.monotonic() + seconds
    while not done():
        for worker in workers:
            if worker.process.poll() not in (None, -signal.SIGKILL):
                pytest.fail(f"{worker.name} stopped ({worker.process.returncode}):\n"
                            f"{worker.log()[-3000:]}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name}\n{w.log()[-1500:]}" for w in workers)
            pytest.fail(f"Timed out waiting for {what}:\n{logs}")
        time.sleep(0.05)


def drop_at_once(inbox: Path, forms: dict[str, bytes], staging: Path) -> None:
    """Write the files beside the inbox, then rename them all in: they arrive together, whole."""
    staging.mkdir(parents=True, exist_ok=True)
    for name, data in forms.items():
        (staging / name).write_bytes(data)
    for name in forms:
        os.rename(staging / name, inbox / name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def visible_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
