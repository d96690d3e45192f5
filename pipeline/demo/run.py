"""The main job on sample data, narrated: the register and calendar loaded, forms sent out (as
.eml files for sending by hand), a round of realistic returns ingested, members answered, and the
committee papers and agenda packs written to outbox/."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.core.config import Config, Settings, load_config
from pipeline.core.dates import long_date
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import ConfigError, PipelineError
from pipeline.core.files import write_new_file
from pipeline.core.identity import Personalisation
from pipeline.demo.samples import (
    PARTNERSHIPS,
    record_sample_tokens,
    sample_committees,
    sample_register,
    sample_returns,
)
from pipeline.generate.forms import FORMATS, generate_form
from pipeline.ingest.steps import FileResult
from pipeline.schedule import committees, register
from pipeline.schedule.contacts import as_sent
from pipeline.schedule.mailer import SendMode
from pipeline.service import run_tick, watch_inbox
from pipeline.store import Store

Say = Callable[[str], None]
DEMO_MARKER = ".pipeline-demo"
DEMO_FILES = ("pipeline.sqlite3", "pipeline.sqlite3-wal", "pipeline.sqlite3-shm", "committees.yaml",
              ".tick.lock", ".pipeline.lock", "pipeline-errors.log")
HISTORY = timedelta(days=90)


def run_demo(settings: Settings, library: FormLibrary, say: Say, *, today: date | None = None) -> None:
    today = today or date.today()
    _fresh_sample_home(settings, say)
    settings.ensure_folders()
    _forms(settings, library, say)
    _register_and_calendar(settings, today, say)
    say("3. The scheduler's first tick: personal forms go out before each meeting (sent by hand: "
        f"each email is written as an .eml file in {settings.outbox / 'mail'})")
    _tick(settings, library, say)
    _returns(settings, library, today, say)
    say("5. The next tick: a receipt or a what-to-fix reply to each member who emailed a form")
    _tick(settings, library, say)
    _papers(settings, library, today, say)
    say(f"Done. Everything is under {settings.home}. Try: pipeline status, pipeline records monitoring")
    say("The clerk's console: add yourself with 'pipeline users add YOUR-NAME --role clerk' (it asks for "
        "a password), run 'pipeline web', then open http://127.0.0.1:8000/ in a browser.")


def _fresh_sample_home(settings: Settings, say: Say) -> None:
    """The demo starts from nothing each time: its own earlier files go; a real home is refused."""
    marker = settings.home / DEMO_MARKER
    if not marker.exists():
        if settings.database.exists():
            raise ConfigError(
                f"{settings.home} already holds a pipeline database that the demo did not make, so the "
                "demo will not touch it. Run it in a folder of its own: pipeline demo --home DEMO_FOLDER")
        settings.home.mkdir(parents=True, exist_ok=True)
        marker.write_text("This folder holds the pipeline's demo; 'pipeline demo' starts it afresh.\n",
                          encoding="utf-8")
        return
    for name in DEMO_FILES:
        (settings.home / name).unlink(missing_ok=True)
    for folder in (settings.inbox, settings.outbox, settings.archive, settings.rejected):
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name == ".gitkeep":
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    say(f"Starting the sample home afresh: the previous demo's files in {settings.home} were removed.")


def _forms(settings: Settings, library: FormLibrary, say: Say) -> None:
    from pipeline.generate.pdf import write_blank_pdfs

    forms_dir = settings.outbox / "forms"
    config = load_config(settings)
    written = generate_all_forms(library, forms_dir, config)
    say(f"1. Generated {len(written)} forms (every form, blank and personalised, Word and Excel) "
        f"in {forms_dir}")
    try:
        pdfs = write_blank_pdfs([as_sent(d, config) for d in library.latest()], forms_dir / "blank")
        say(f"   and each blank form as an accessible PDF to read or print ({len(pdfs)}, in "
            f"{forms_dir / 'blank'})")
    except PipelineError as exc:
        say(f"   The blank forms' PDFs were skipped: {exc}")


def _register_and_calendar(settings: Settings, today: date, say: Say) -> None:
    workbook = write_new_file(settings.outbox, "partnership-register.xlsx", sample_register(today),
                              reuse_identical=True)
    calendar = settings.home / "committees.yaml"
    if not calendar.exists():
        calendar.write_text(sample_committees(today), encoding="utf-8")
    with Store.for_home(settings) as store:
        # The sample's history: meetings already held, as if the register had been kept for months.
        imported = register.import_register(store, workbook.read_bytes(), today=today - HISTORY)
        loaded = committees.load_yaml(store, calendar)
        meetings = committees.meetings(store, from_date=today)
    say(f"2. Imported the partnership register ({workbook.name}): "
        f"{imported.summary().splitlines()[0]} Loaded {calendar.name}: {loaded.summary()}")
    for meeting in meetings:
        say(f"   {meeting.committee} meets {long_date(meeting.date)}; papers must be published "
            f"by {long_date(meeting.publication_deadline)}")


def _tick(settings: Settings, library: FormLibrary, say: Say) -> None:
    report = run_tick(settings, library, now=datetime.now(UTC), mode=SendMode.BY_HAND)
    for line in report.done or ["nothing was due"]:
        say(f"   {line}")
    for line in report.problems:
        say(f"   PROBLEM: {line}")


def _returns(settings: Settings, library: FormLibrary, today: date, say: Say) -> None:
    say(f"4. A round of returns lands in {settings.inbox} and is ingested "
        "(as 'pipeline watch --oneshot' does)")
    samples = sample_returns(library, today)
    with Store.for_home(settings) as store:
        record_sample_tokens(store, datetime.now(UTC))
    for sample in samples:
        write_new_file(settings.inbox, sample.name, sample.data)
    tally: dict[str, int] = {}

    def report(result: FileResult) -> None:
        tally[result.outcome.value] = tally.get(result.outcome.value, 0) + 1
        first = result.message.splitlines()[0] if result.message else ""
        say(f"   {result.outcome.value.upper():<10} {Path(result.path).name}: {first}")

    watch_inbox(settings, library, stop=threading.Event(), report=report, oneshot=True,
                stable_seconds=0.2)
    say("   " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
        + f". Rejected files and their what-to-fix reports are in {settings.rejected}; "
        f"originals in {settings.archive}; the database is {settings.database.name}.")


def _papers(settings: Settings, library: FormLibrary, today: date, say: Say) -> None:
    from pipeline import papers
    from pipeline.papers import pack
    from pipeline.papers.convert import to_pdf
    from pipeline.papers.publish import publish_meeting

    say(f"6. Committee papers, agenda packs and publication folders for the next meetings, "
        f"in {settings.outbox}")
    config = load_config(settings)
    with Store.for_home(settings) as store:
        upcoming = committees.meetings(store, from_date=today)
    for meeting in upcoming:
        for kind in meeting.papers:
            request = papers.PaperRequest(kind=kind, meeting_date=meeting.date,
                                          committee=meeting.committee)
            files = papers.write_paper(settings, library, request, settings.outbox / "papers",
                                       to_pdf=to_pdf, today=today)
            say(f"   {files.docx.relative_to(settings.home)} (+ annex"
                + (", PDF)" if files.pdf else f"; {files.pdf_note})"))
        try:
            packs = pack.build_packs(meeting.date, settings.outbox / "papers", settings.outbox / "packs",
                                     committee=meeting.committee, authority=config.authority.name,
                                     standing_items=tuple(config.publish.standing_items))
            with Store.for_home(settings) as store:
                store.record_pack(meeting.committee, meeting.date, packs, datetime.now(UTC))
            for path in packs:
                say(f"   {path.relative_to(settings.home)}")
        except PipelineError as exc:
            say(f"   The agenda pack was skipped: {exc}")
        try:
            folder = publish_meeting(settings, meeting.date, meeting.committee, today=today)
            say(f"   {folder.relative_to(settings.home)}/ (the publication folder for the website)")
        except PipelineError as exc:
            say(f"   The publication folder was skipped: {exc}")


def generate_all_forms(library: FormLibrary, out_dir: Path, config: Config | None = None) -> list[Path]:
    """Every form blank in both formats, and a personalised copy for the first partnership,
    naming the contact the settings give."""
    partnership, member, _ = PARTNERSHIPS[0]
    person = Personalisation(partnership=partnership, member=member,
                             meeting_title=f"{partnership} board meeting")
    written = []
    for definition in (as_sent(d, config or Config()) for d in library.latest()):
        for fmt in FORMATS:
            written.append(generate_form(definition, fmt, Personalisation(), out_dir / "blank")[0])
            written.append(generate_form(definition, fmt, person, out_dir / "personalised")[0])
    return written
