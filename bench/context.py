"""What every benchmark shares: the sizes for this run, a work folder, the forms, the returns."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from bench.returns import Return, docx_return
from pipeline.core.definitions import FormDefinition, FormLibrary

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does; `QUICK` is for the smoke test."""

    repeats: int = 5
    parse_files: int = 50
    ingest_files: int = 100
    xlsx_files: int = 40
    forms: int = 1000
    docxtpl_repeats: int = 2
    papers: tuple[int, ...] = (1_000, 10_000, 100_000)
    paper_repeats: tuple[int, ...] = (5, 3, 3)
    burst: int = 2000
    burst_repeats: int = 2
    idle_drops: int = 10
    workers_files: int = 600
    workers_repeats: int = 2


FULL = Sizes()
QUICK = Sizes(repeats=1, parse_files=4, ingest_files=4, xlsx_files=3, forms=10, docxtpl_repeats=1,
              papers=(50, 200), paper_repeats=(1, 1), burst=6, burst_repeats=1, idle_drops=2,
              workers_files=6, workers_repeats=1)


@dataclass
class Context:
    sizes: Sizes
    work: Path  # emptied at the start of a run
    library: FormLibrary = field(default_factory=FormLibrary.load)
    _pool: list[Return] = field(default_factory=list, repr=False)

    @cached_property
    def monitoring(self) -> FormDefinition:
        return self.library.get("monitoring")

    def returns(self, count: int) -> list[Return]:
        """The first `count` of a pool of distinct Word returns, made as they are first asked for."""
        while len(self._pool) < count:
            self._pool.append(docx_return(self.monitoring, len(self._pool)))
        return self._pool[:count]

    def folder(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path
