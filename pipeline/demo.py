"""The main job on sample data: forms out, realistic returns in, stored, and (when available)
the committee papers and pack written, narrated for the person running it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipeline.config import Settings
from pipeline.definitions import FormLibrary
from pipeline.generate import FORMATS, generate_form, write_new_file
from pipeline.identity import Personalisation
from pipeline.ingest import FileResult
from pipeline.samples import PARTNERSHIPS, sample_returns
from pipeline.service import watch_inbox

Say = Callable[[str], None]


def run_demo(settings: Settings, library: FormLibrary, say: Say, *, today: date | None = None) -> None:
    today = today or date.today()
    settings.ensure_folders()
    forms_dir = settings.outbox / "forms"
    say(f"1. Generating every form, blank and personalised, into {forms_dir}")
    for path in generate_all_forms(library, forms_dir):
        say(f"   {path.relative_to(settings.home) if path.is_relative_to(settings.home) else path}")
    say(f"2. Dropping a round of sample returns into {settings.inbox}")
    for sample in sample_returns(library, today):
        write_new_file(settings.inbox, sample.name, sample.data)
        say(f"   {sample.name}: {sample.what}")
    say("3. Ingesting the inbox (as 'pipeline watch --oneshot' does)")
    tally: dict[str, int] = {}

    def report(result: FileResult) -> None:
        tally[result.outcome.value] = tally.get(result.outcome.value, 0) + 1
        say(f"   {result.outcome.value.upper():<10} {Path(result.path).name}: "
            f"{result.message.splitlines()[0] if result.message else ''}")

    watch_inbox(settings, library, stop=threading.Event(), report=report, oneshot=True,
                stable_seconds=0.2)
    say("   " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items())))
    say(f"   Rejected files and what-to-fix reports: {settings.rejected}")
    say(f"   Archived originals: {settings.archive}")
    say(f"   Database: {settings.database}")
    say("Done. Try: pipeline records monitoring")


def generate_all_forms(library: FormLibrary, out_dir: Path) -> list[Path]:
    """Every form blank in both formats, and a personalised copy for the first partnership."""
    partnership, member, _ = PARTNERSHIPS[0]
    person = Personalisation(partnership=partnership, member=member,
                             meeting_title=f"{partnership} board meeting")
    written = []
    for definition in library.latest():
        for fmt in FORMATS:
            written.append(generate_form(definition, fmt, Personalisation(), out_dir / "blank")[0])
            written.append(generate_form(definition, fmt, person, out_dir / "personalised")[0])
    return written
