"""What each console page shows, gathered from the store and the home's files (no Flask here)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import Forbidden, NotFound

from pipeline.core.config import Settings, load_config
from pipeline.core.dates import LONDON, day_month_year
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import ConfigError, PipelineError
from pipeline.ingest.steps import FileResult, Outcome
from pipeline.ingest.watcher import LOCK_NAME
from pipeline.schedule import committees, register
from pipeline.store import Record, Store


def inside_home(settings: Settings, path: Path) -> Path:
    """`path` resolved, refused (403) unless it is inside the home's outbox, archive or rejected."""
    resolved = Path(os.path.realpath(path))
    allowed = [Path(os.path.realpath(folder)) for folder in
               (settings.outbox, settings.archive, settings.rejected)]
    if not any(resolved.is_relative_to(folder) for folder in allowed):
        raise Forbidden("That file is not one the console can give out.")
    return resolved


# --- Today -------------------------------------------------------------------------------------


def today(settings: Settings, store: Store, day: date) -> dict[str, Any]:
    from pipeline.service import status

    summary = status(settings, today=day)
    expected = summary["expected"]
    overdue = [row for row in expected if row["missing"]]  # type: ignore[index]
    return {"summary": summary, "overdue": overdue,
            "health": health(settings, store, summary.get("mailbox")),
            "problems": check_problems(settings, store), "day": day}


def health(settings: Settings, store: Store, mail: Any = None) -> dict[str, str]:
    """Is the watcher running, when did it last take a file, how did the mailbox's last check go."""
    latest = store.events(limit=1)
    last = latest[0].at if latest else None
    watcher = ("running" if _watcher_running(settings) else
               "not running: start 'pipeline serve' (or 'pipeline watch') so new returns are taken in")
    imap = getattr(load_config(settings), "imap", None)
    mailbox = ("set up: " + str(getattr(imap, "host", ""))) if imap and getattr(imap, "host", "") else \
        "not set up: returns are taken from the inbox folder only"
    if mail and mail.get("configured") and mail.get("last_check"):
        when = str(mail["last_check"])[:16].replace("T", " ")
        mailbox = (f"last checked {when} (UTC): {mail.get('last_result') or 'fine'}" if mail.get("ok")
                   else f"PROBLEM at the last check ({when} UTC): {mail.get('last_result')}")
    return {"watcher": watcher, "last_activity": last or "nothing yet", "mailbox": mailbox}


def _watcher_running(settings: Settings) -> bool:
    lock = settings.home / LOCK_NAME
    if not lock.exists():
        return False
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def check_problems(settings: Settings, store: Store) -> list[str]:
    """Problems from `pipeline check` where it exists, else the console's own short list."""
    from pipeline.check import run_checks

    today = datetime.now(UTC).astimezone(LONDON).date()
    problems = [f"{c.item}: {c.detail}" + (f" {c.fix}" if c.fix else "")
                for c in run_checks(settings, today=today, office=False, mail=False) if not c.ok]
    waiting = len(store.rejections_open())
    if waiting:
        problems.append(f"{waiting} rejected file(s) need attention.")
    return problems


# --- Returns -----------------------------------------------------------------------------------


def _meeting_of(record: Record) -> str:
    value = record.values.get("meeting_date") or record.due_date or ""
    return str(value)[:10]


def returns(store: Store, library: FormLibrary, *, form: str, partnership: str,
            meeting: str) -> dict[str, Any]:
    rows = []
    titles = {d.id: d.title for d in library.latest()}
    for form_id in titles:
        for record in store.records(form_id):
            rows.append({"id": record.submission_id, "form": form_id, "title": titles[form_id],
                         "partnership": record.partnership or "", "meeting": _meeting_of(record),
                         "received": record.received_at[:10], "late": record.late})
    options = {"form": sorted(titles.items(), key=lambda item: item[1]),
               "partnership": sorted({r["partnership"] for r in rows if r["partnership"]}),
               "meeting": sorted({r["meeting"] for r in rows if r["meeting"]}, reverse=True)}
    shown = [r for r in rows if (not form or r["form"] == form)
             and (not partnership or r["partnership"] == partnership)
             and (not meeting or r["meeting"] == meeting)]
    shown.sort(key=lambda r: (r["received"], r["id"]), reverse=True)
    return {"rows": shown, "options": options, "total": len(rows)}


def one_return(store: Store, library: FormLibrary, submission_id: int) -> dict[str, Any] | None:
    submission = store.submission(submission_id)
    if submission is None:
        return None
    definition = library.get(submission.form_id, submission.form_version)
    history = store.history(submission.form_id, submission.record_key)
    record = next(r for r in history if r.submission_id == submission_id)
    answers = [{"label": f.label, "value": _shown(f, record.values.get(f.id)), "table": f.is_table,
                "columns": [c.label for c in getattr(f, "columns", ())],
                "column_ids": [c.id for c in getattr(f, "columns", ())]}
               for f in definition.fields]
    return {"submission": submission, "form_title": definition.title, "answers": answers,
            "history": history, "events": store.submission_events(submission_id),
            "has_original": submission.intake_id is not None}


def _shown(field: Any, value: object) -> object:
    """The answer as the member saw it: a choice's words, not its stored value."""
    if value is None or value == [] or value == "":
        return "(not answered)"
    if isinstance(value, list) and value and not isinstance(value[0], dict):
        return "; ".join(_choice(field, v) for v in value)
    return _choice(field, value) if isinstance(value, str) else value


def _choice(field: Any, value: object) -> str:
    return field.choice_label(str(value)) if field.choices else str(value)


# --- Needs attention ---------------------------------------------------------------------------


def attention(store: Store) -> dict[str, Any]:
    held = store.held()
    held_ids = {h.intake_id for h in held}
    rejected = []
    for intake in store.rejections_open():
        if intake.id in held_ids:
            continue  # held for the clerk to decide: listed on its own, not as rejected
        report = _read_text(intake.report_path)
        rejected.append({"intake": intake, "report": report})
    return {"held": held, "rejected": rejected, "unmatched": store.unmatched(),
            "partnerships": register.partnerships(store)}


def decide_held(settings: Settings, library: FormLibrary, intake_id: int, decision: str,
                reason: str, user: str) -> str:
    """Release a held return (counted as sent, or as typed) or reject it, as `pipeline held`
    does; logged with who decided. Returns what was done, in words."""
    from pipeline.ingest import held
    from pipeline.service import opened

    with opened(settings, library) as ingest:
        if intake_id not in {h.intake_id for h in ingest.store.held()}:
            raise NotFound("That return is not held any more.")
        if decision == "reject":
            held.reject(ingest, intake_id, reason, by=user)
            return f"Rejected held return {intake_id}: {reason}"
        result = held.release(ingest, intake_id, held.CountAs(decision), by=user)
    first = result.message.splitlines()[0] if result.message else result.outcome.value
    return f"Released held return {intake_id}: {first}"


def _read_text(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")[:20000]
    except OSError:
        return ""


def ingest_upload(settings: Settings, library: FormLibrary, filename: str, data: bytes) -> FileResult:
    """Ingest a corrected file the clerk uploaded, as the watcher would (the same steps)."""
    from pipeline.service import ingest_files

    safe_name = Path(filename).name.replace("\x00", "") or "upload"
    with tempfile.TemporaryDirectory(dir=settings.home) as folder:
        path = Path(folder) / safe_name
        path.write_bytes(data)
        results = ingest_files(settings, library, [path], lambda _result: None)
    if not results:
        return FileResult(safe_name, Outcome.REJECTED, message="Nothing could be read from the file.")
    return results[0]


def match(store: Store, submission_id: int, partnership_id: int, user: str) -> str:
    chosen = next((p for p in register.partnerships(store) if p.id == partnership_id), None)
    if chosen is None or store.submission(submission_id) is None:
        raise NotFound("That return or partnership is not there any more.")
    store.match(submission_id, partnership_id)
    store.log("console", "matched", f"return {submission_id} to {chosen.name}",
              submission_id=submission_id, by_user=user)
    return chosen.name


# --- Forms -------------------------------------------------------------------------------------


def forms(store: Store, library: FormLibrary) -> dict[str, Any]:
    return {"definitions": library.latest(), "partnerships": register.partnerships(store)}


def form_file(library: FormLibrary, form_id: str, fmt: str, partnership: str, member: str,
              meeting_date: str) -> tuple[str, bytes]:
    from pipeline.core.identity import Personalisation
    from pipeline.generate.forms import form_bytes, form_file_name

    definition = library.get(form_id)
    try:
        day = date.fromisoformat(meeting_date) if meeting_date else None
    except ValueError:
        raise ConfigError(f"{meeting_date!r} is not a date (YYYY-MM-DD).") from None
    person = Personalisation(partnership=partnership or None, member=member or None, meeting_date=day)
    data, _identity = form_bytes(definition, fmt, person)
    return form_file_name(definition, person, fmt), data


# --- Meetings and papers -----------------------------------------------------------------------


def _paper_files(settings: Settings, store: Store) -> dict[Path, bool]:
    """Every paper and pack file recorded, and whether it is Part 2 (exempt: clerks only)."""
    from pipeline.papers.pack import _read_manifest

    files: dict[Path, bool] = {}
    for paper in store.papers_written():
        exempt = False
        if paper.manifest:
            try:
                exempt = _read_manifest(paper.manifest).exempt
            except (PipelineError, OSError, ValueError):
                exempt = True  # unknown: treat as Part 2 rather than show it to a viewer
        for path in paper.paths:
            files[Path(os.path.realpath(path))] = exempt
    for _committee, _day, paths in store.packs_written():
        for path in paths:
            files[Path(os.path.realpath(path))] = "part2" in Path(path).name
    return files


def meetings(settings: Settings, store: Store, *, clerk: bool, today: date) -> dict[str, Any]:
    """Per meeting its papers (by title) and packs; a viewer sees no Part 2 file, nor a paper
    whose every file is Part 2."""
    from pipeline.papers import PAPER_TITLES
    from pipeline.papers.pack import committee_slug

    files = _paper_files(settings, store)
    papers = store.papers_written()
    packs = store.packs_written()
    shown = []
    for meeting in committees.meetings(store):
        same = [p for p in papers if p.meeting_date == meeting.date and p.committee == meeting.committee]
        paper_rows = [{"title": PAPER_TITLES.get(p.kind, p.kind), "written": p.written_at,
                       "files": _visible([_file_row(settings, path, files) for path in p.paths], clerk)}
                      for p in same]
        pack_paths = [path for committee, day, paths in packs
                      if day == meeting.date and committee == meeting.committee for path in paths]
        publish = settings.outbox / "publish" / committee_slug(meeting.committee) / meeting.date.isoformat()
        shown.append({"meeting": meeting, "past": meeting.date < today,
                      "taken": [PAPER_TITLES.get(kind, kind) for kind in meeting.papers],
                      "papers": [row for row in paper_rows if row["files"]],
                      "packs": _visible([_file_row(settings, path, files) for path in pack_paths], clerk),
                      "publish": str(publish) if publish.is_dir() else None})
    return {"meetings": shown}


def _visible(rows: list[dict[str, Any]], clerk: bool) -> list[dict[str, Any]]:
    return [row for row in rows if clerk or not row["part2"]]


def _file_row(settings: Settings, path: Path, files: dict[Path, bool]) -> dict[str, Any]:
    resolved = Path(os.path.realpath(path))
    try:
        relative = resolved.relative_to(Path(os.path.realpath(settings.home))).as_posix()
    except ValueError:
        relative = ""
    return {"name": resolved.name, "relative": relative, "part2": files.get(resolved, False),
            "exists": resolved.is_file()}


def paper_file(settings: Settings, store: Store, relative: str, *, clerk: bool) -> Path:
    """A recorded paper or pack by its path under the home: refused if it climbs out, or is
    Part 2 and the user is not a clerk."""
    path = inside_home(settings, settings.home / relative)
    files = _paper_files(settings, store)
    if path not in files:
        raise NotFound("That is not a paper or pack the pipeline wrote.")
    if files[path] and not clerk:
        raise Forbidden("That is a Part 2 (exempt) paper: only a clerk can open it.")
    return path


def write_again(settings: Settings, library: FormLibrary, store: Store, committee: str, day: date,
                user: str) -> str:
    """Write a meeting's papers again, then its agenda packs; logged with who asked."""
    from pipeline import papers
    from pipeline.papers.convert import to_pdf
    from pipeline.papers.pack import build_packs

    found = [m for m in committees.meetings(store, committee=committee) if m.date == day]
    if not found:
        raise NotFound("That meeting is not in the calendar.")
    meeting = found[0]
    out_dir = settings.outbox / "papers"
    now = datetime.now(UTC)
    for kind in meeting.papers:
        papers.write_paper(settings, library, papers.PaperRequest(  # records the paper in the store
            kind=kind, meeting_date=meeting.date, committee=meeting.committee), out_dir, to_pdf=to_pdf)
    try:
        packs = build_packs(meeting.date, out_dir, settings.outbox / "packs", committee=meeting.committee,
                            authority=load_config(settings).authority.name)
        store.record_pack(meeting.committee, meeting.date, packs, now)
        note = f" and {len(packs)} agenda pack(s)"
    except PipelineError as exc:
        note = f"; the agenda pack could not be built: {exc}"
    store.log("console", "papers written", f"{meeting.committee} {day.isoformat()}", by_user=user)
    return f"Wrote {len(meeting.papers)} paper(s) for {meeting.committee} on {day_month_year(day)}{note}."


# --- Register and calendar ---------------------------------------------------------------------


def register_and_calendar(store: Store, day: date) -> dict[str, Any]:
    from datetime import timedelta

    return {"partnerships": register.partnerships(store),
            "partnership_meetings": register.meetings_between(store, day, day + timedelta(days=366)),
            "committee_meetings": committees.meetings(store, from_date=day)}
