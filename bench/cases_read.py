"""Reading returns: parse one .docx against the zipfile+lxml floor; ingest one .docx or .xlsx end
to end against python-docx's or openpyxl's load of the same file alone.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import docx
import openpyxl
from lxml import etree

from bench.context import Context
from bench.measure import Result, Timings, per_item, ratio, timed
from bench.returns import Return, record_issued, same_answers, xlsx_return
from pipeline.core.config import Settings
from pipeline.ingest.readers import read_form
from pipeline.ingest.steps import Ingest, Outcome
from pipeline.store import Store

PARSE_TARGET = 4.0  # issue 11: at most 4x the zipfile + lxml floor


def floor_parse(data: bytes) -> tuple[etree._Element, etree._Element]:
    """The least any reader must do: unzip and parse the document and the custom properties."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return (etree.fromstring(archive.read("word/document.xml")),
                etree.fromstring(archive.read("docProps/custom.xml")))


def compare(repeats: int, items: Sequence[object], ours: Callable[[object], object],
            baseline: Callable[[object], object]) -> tuple[Timings, Timings]:
    """Seconds per item for each repeat, the two sides alternating which goes first."""
    mine, theirs = Timings(), Timings()
    for repeat in range(repeats):
        sides = [(mine, ours), (theirs, baseline)]
        for timings, action in sides if repeat % 2 == 0 else reversed(sides):
            total, _ = timed(lambda action=action: _each(action, items))
            timings.runs.append(per_item(total, len(items)))
    return mine, theirs


def _each(action: Callable[[object], object], items: Sequence[object]) -> None:
    """`action` on every item, each result dropped at once (inside the clock): `read_form`
    frees its parsed document before it returns, so the floor's trees are freed as they come
    too, not after the clock stops."""
    for item in items:
        action(item)


def parse_docx(ctx: Context) -> Result:
    returns = ctx.returns(ctx.sizes.parse_files)
    library = ctx.library
    for item in returns:  # warm both sides (imports, caches)
        floor_parse(item.data)
        read_form(item.data, item.name, library)
    ours, floor = compare(ctx.sizes.repeats, returns,
                          lambda r: read_form(r.data, r.name, library),  # type: ignore[attr-defined]
                          lambda r: floor_parse(r.data))  # type: ignore[attr-defined]
    wrong = [r.name for r in returns if not same_answers(r.answers, read_form(r.data, r.name, library).raw)]
    got = ratio(ours.median, floor.median)
    return Result(
        name="parse-docx", baseline="zipfile + lxml parse of document.xml and custom.xml",
        median_s=ours.median, spread_s=ours.spread, baseline_median_s=floor.median, ratio=got,
        target=f"<= {PARSE_TARGET:g}x floor", met=got is not None and got <= PARSE_TARGET,
        per_second=1 / ours.median, correct=not wrong, repeats=ctx.sizes.repeats,
        notes=_wrong_note(wrong) or f"read_form (identify + controls + values); per file, "
        f"{len(returns)} different filled returns per repeat",
    )


# --- ingest end to end ------------------------------------------------------------------------


def ingest_docx(ctx: Context) -> list[Result]:
    count, repeats = ctx.sizes.ingest_files, ctx.sizes.repeats
    pool = ctx.returns(3 + count * repeats)
    batches = [pool[3 + i * count: 3 + (i + 1) * count] for i in range(repeats)]
    load = lambda path: docx.Document(str(path))  # noqa: E731
    return [_ingest(ctx, "ingest-docx", pool[:3], batches,
                    "python-docx Document() load of the same file", load),
            _ingest_floor(ctx, batches, load)]


def ingest_xlsx(ctx: Context) -> Result:
    count, repeats = ctx.sizes.xlsx_files, ctx.sizes.repeats
    made = [xlsx_return(ctx.monitoring, index) for index in range(3 + count * repeats)]
    batches = [made[3 + i * count: 3 + (i + 1) * count] for i in range(repeats)]
    return _ingest(ctx, "ingest-xlsx", made[:3], batches,
                   "openpyxl.load_workbook of the same file",
                   lambda path: openpyxl.load_workbook(path))


def _ingest(ctx: Context, name: str, warm: list[Return], batches: list[list[Return]], baseline: str,
            load: Callable[[Path], object]) -> Result:
    home = ctx.folder(name)
    source = home / "returns"
    source.mkdir()
    for item in [*warm, *(r for batch in batches for r in batch)]:
        (source / item.name).write_bytes(item.data)
    settings = Settings(home)
    record_issued(home)
    with Store.for_home(settings) as store:
        ingest = Ingest(settings, ctx.library, store)
        _into_inbox(settings, source, warm)
        outcomes = _take_in(ingest, settings, warm)
        for path in source.iterdir():  # warm the loader and the page cache
            load(path)
        ours, theirs = Timings(), Timings()
        for number, batch in enumerate(batches):
            paths = [source / item.name for item in batch]
            first = number % 2
            if first:
                theirs.runs.append(_load_all(load, paths))
            _into_inbox(settings, source, batch)  # before the clock starts: only the ingest is timed
            total, found = timed(lambda batch=batch: _take_in(ingest, settings, batch))
            ours.runs.append(per_item(total, len(batch)))
            outcomes += found  # type: ignore[arg-type]
            if not first:
                theirs.runs.append(_load_all(load, paths))
        correct, note = _stored_correctly(store, [*warm, *(r for b in batches for r in b)], outcomes)
    got = ratio(ours.median, theirs.median)
    per_batch = len(batches[0])
    return Result(
        name=name, baseline=baseline, median_s=ours.median, spread_s=ours.spread,
        baseline_median_s=theirs.median, ratio=got, target="< 1.0x the load alone",
        met=got is not None and got < 1.0, per_second=1 / ours.median, correct=correct,
        repeats=len(batches),
        notes=note or f"claim, hash, identify, read, validate, store (SQLite on disk), archive; "
        f"per file, {per_batch} new files per repeat, one warm Ingest",
    )


def _ingest_floor(ctx: Context, batches: list[list[Return]], load: Callable[[Path], object]) -> Result:
    """The least any ingest that keeps its promises must do with a file, against the same load:
    read it, unzip and parse its document and properties (the parse floor), commit one row to
    SQLite on disk as durably as the pipeline does (WAL, synchronous FULL: one fsync), and rename
    the file into the archive (no copy, no fsync). No control is read, nothing is checked or
    logged. It shows how much of the load's time the "< 1.0x" target leaves for all of that."""
    home = ctx.folder("ingest-docx-floor")
    inbox, archive = home / "inbox", home / "archive"
    inbox.mkdir()
    archive.mkdir()
    db = sqlite3.connect(home / "floor.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE returns (id INTEGER PRIMARY KEY, sha256 TEXT UNIQUE, name TEXT)")

    def floor_ingest(item: Return) -> None:
        path = inbox / item.name
        data = path.read_bytes()
        floor_parse(data)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO returns (sha256, name) VALUES (?, ?)",
                   (hashlib.sha256(data).hexdigest(), item.name))
        db.execute("COMMIT")
        os.rename(path, archive / item.name)

    ours, theirs = Timings(), Timings()
    for number, batch in enumerate(batches):
        for item in batch:
            (inbox / item.name).write_bytes(item.data)
        paths = [archive / item.name for item in batch]
        first = number % 2
        if first:
            theirs.runs.append(_load_all(load, [inbox / item.name for item in batch]))
        total, _ = timed(lambda batch=batch: [floor_ingest(item) for item in batch])
        ours.runs.append(per_item(total, len(batch)))
        if not first:
            theirs.runs.append(_load_all(load, paths))
    stored = db.execute("SELECT count(*) FROM returns").fetchone()[0]
    db.close()
    files = sum(len(batch) for batch in batches)
    got = ratio(ours.median, theirs.median)
    return Result(
        name="ingest-docx-floor", baseline="python-docx Document() load of the same file",
        median_s=ours.median, spread_s=ours.spread, baseline_median_s=theirs.median, ratio=got,
        target="reported", met=None, per_second=1 / ours.median,
        correct=stored == files and len(list(archive.iterdir())) == files, repeats=len(batches),
        notes=f"read + parse floor + one durable SQLite commit + rename into the archive; per file, "
        f"{len(batches[0])} new files per repeat: what ingest-docx's target leaves "
        f"{(1 - got) * 100 if got else 0:.0f}% of the load's time for (reading every control, "
        "checking, the log, a durable archive copy)",
    )


def _load_all(load: Callable[[Path], object], paths: list[Path]) -> float:
    """Seconds per file for the baseline to load each of `paths` (each dropped as it comes)."""
    return per_item(timed(lambda: _each(load, paths))[0], len(paths))


def _into_inbox(settings: Settings, source: Path, batch: list[Return]) -> None:
    for item in batch:
        (settings.inbox / item.name).write_bytes((source / item.name).read_bytes())


def _take_in(ingest: Ingest, settings: Settings, batch: list[Return]) -> list[str]:
    """Ingest each return from the inbox, as the watcher hands them over; their outcomes."""
    outcomes = []
    for item in batch:
        outcomes += [result.outcome for result in ingest.ingest_path(settings.inbox / item.name)]
    return outcomes


def _stored_correctly(store: Store, returns: list[Return], outcomes: list[str]) -> tuple[bool, str]:
    records = store.records("monitoring")
    by_key = {(r.partnership, r.values.get("meeting_date")): r.values for r in records}
    wrong = [r.name for r in returns
             if not same_answers(r.answers, by_key.get((r.answers["partnership"],
                                                        r.answers["meeting_date"]), {}))]
    accepted = sum(outcome == Outcome.ACCEPTED for outcome in outcomes)
    if accepted != len(returns) or len(records) != len(returns):
        return False, f"WRONG: {accepted} accepted and {len(records)} stored of {len(returns)} files"
    return not wrong, _wrong_note(wrong)


def _wrong_note(wrong: list[str]) -> str:
    if not wrong:
        return ""
    return f"WRONG: {len(wrong)} file(s) did not read back as filled, e.g. {', '.join(wrong[:3])}"
