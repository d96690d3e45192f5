"""The `pipeline` command: parse arguments, call one library function, report in plain words."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

from pipeline.core.config import Settings, settings_for
from pipeline.core.dates import LONDON
from pipeline.core.definitions import Field, FormDefinition, FormLibrary
from pipeline.core.errors import ConfigError, PipelineError
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import FORMATS, generate_form
from pipeline.schedule.mailer import SendMode

Command = Callable[[argparse.Namespace, Settings], int]
Commands = argparse._SubParsersAction  # what add_subparsers() returns: add_parser() on it


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one clear line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        import re

        from pipeline.core.definitions import did_you_mean

        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:
            choices = [c.strip(" '") for c in wrong.group(2).split(",")]
            message += did_you_mean(wrong.group(1), choices)
        self.exit(2, f"pipeline: {message} (see 'pipeline --help')\n")


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def iso_minute(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time in the form YYYY-MM-DDTHH:MM") from None


def library_for(settings: Settings) -> FormLibrary:
    extra = [settings.forms_dir] if settings.forms_dir.is_dir() else []
    return FormLibrary.load(*extra)


# --- commands ----------------------------------------------------------------------------------


def cmd_forms(args: argparse.Namespace, settings: Settings) -> int:
    library = library_for(settings)
    if args.action == "show":
        if not args.form:
            raise ConfigError("Say which form to show, for example: pipeline forms show monitoring")
        definition = library.get(args.form)
        if args.json:
            print(json.dumps(definition.to_json(), indent=2, ensure_ascii=False))
        else:
            print(f"{definition.title} ({definition.id}, version {definition.version})")
            section = None
            for f in definition.fields:
                if f.section != section:
                    section = f.section
                    print(f"\n {section}")
                needed = "required" if f.required else "optional"
                print(f"  {f.id:<28} {f.type.value:<13} {needed:<9} {_asked(f)}")
        return 0
    for definition in library.latest():
        print(f"{definition.id:<22} v{definition.version}  {definition.title}")
    return 0


def _asked(f: Field) -> str:
    """A field as the form asks it: "5. Which agency ...? (Answer)", or just its label."""
    from pipeline.ingest.validation import field_label

    label = field_label(f)
    return label.removeprefix("Question ").replace(": ", ". ", 1) if f.number else label


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.core.config import load_config
    from pipeline.schedule.contacts import as_sent

    definition = as_sent(library_for(settings).get(args.form), load_config(settings))
    person = Personalisation(partnership=args.partnership, member=args.member,
                             meeting_title=args.meeting_title, meeting_date=args.meeting_date,
                             meeting_place=args.meeting_place)
    out_dir = args.out or settings.outbox
    if args.format == "pdf":
        return _generate_blank_pdf(definition, person, out_dir)
    path, identity = generate_form(definition, args.format, person, out_dir)
    if identity.token:  # recorded at issue: the return is trusted as one the scheduler sent
        from pipeline.store import Store

        with Store.for_home(settings) as store:
            store.record_token(identity.token, form_id=definition.id,
                               form_version=definition.version, partnership=person.partnership,
                               member=person.member, meeting_date=person.meeting_date,
                               sent_to=None, issued_by="pipeline generate", at=datetime.now(UTC))
    print(path)
    return 0


def _generate_blank_pdf(definition: FormDefinition, person: Personalisation, out_dir: Path) -> int:
    from pipeline.generate.pdf import write_blank_pdfs

    if person != Personalisation():
        raise ConfigError(
            "A PDF is made of the blank form only (to read on screen or print): leave out "
            "--partnership, --member and the meeting, or choose --format docx or xlsx for a "
            "personalised form that can be filled in and returned.")
    (path,) = write_blank_pdfs([definition], out_dir)
    print(path)
    return 0


def _print_result(result: object, as_json: bool) -> None:
    from pipeline.ingest.steps import FileResult

    assert isinstance(result, FileResult)
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
        return
    first = result.message.splitlines()[0] if result.message else ""
    label = "ACCEPTED" if result.outcome.value == "superseded" else result.outcome.value.upper()
    if result.outcome.value == "superseded":
        first += " (it replaces the earlier return for the same meeting, which is kept in the history)"
    print(f"{label:<10} {result.path}: {first}", flush=True)
    for problem in result.problems:
        print(f"           - {problem.label}: {problem.message}")
    if result.report:
        print(f"           The sender's report is at {result.report}")


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import ingest_files

    # A file of the inbox may go while this starts: the watcher took it (reported per file).
    missing = [str(p) for p in args.paths if not p.is_file() and not _inbox_file(settings, p)]
    if missing:
        raise ConfigError(f"No such file: {', '.join(missing)}. Nothing was ingested.")
    results = ingest_files(settings, library_for(settings), args.paths,
                           lambda result: _print_result(result, args.json), clock=_clock(args))
    return _not_done([f"{r.path}: {r.message}" for r in results
                      if r.outcome.value in ("refused", "not done")])


def _inbox_file(settings: Settings, path: Path) -> bool:
    return path.absolute().parent.resolve() == settings.inbox.resolve()


def _clock(args: argparse.Namespace) -> Callable[[], datetime] | None:
    """The clock to stamp arrivals with: the real one, or (tests, replays) a fixed --now."""
    if getattr(args, "now", None) is None:
        return None
    moment = _now(args)
    return lambda: moment


def _not_done(lines: list[str]) -> int:
    """Exit 1 (for cron and scripts) saying which files were not done, or 0."""
    if not lines:
        return 0
    print(f"NOT DONE: {len(lines)} file(s) were not taken in:", file=sys.stderr)
    for line in lines:
        print(f"  - {line.splitlines()[0] if line else line}", file=sys.stderr)
    return 1


def cmd_mail(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ingest.mailbox import fetch_mail

    report = fetch_mail(settings, library_for(settings))
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return 1 if report.problem else 0
    for result in report.results:
        _print_result(result, as_json=False)
    for line in report.not_forms:
        print(f"NOT A FORM {line}: moved to the not-forms folder, not answered")
    if report.problem:
        print(f"PROBLEM: {report.problem}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import threading

    from pipeline.ingest.watcher import install_signal_handlers
    from pipeline.service import watch_inbox

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    stop = threading.Event()
    install_signal_handlers(stop)
    if not args.oneshot:
        mode = "polling every second" if args.polling else "listening for new files"
        print(f"Watching {settings.inbox} ({mode}). Press Ctrl+C to stop.", flush=True)
    summary = watch_inbox(settings, library_for(settings), stop=stop, polling=args.polling,
                          oneshot=args.oneshot, report=lambda r: _print_result(r, args.json),
                          stable_seconds=args.quiet, clock=_clock(args))
    if not args.json:
        print(f"Done: {summary.taken} file(s) taken from the inbox.")
    if summary.all_done:
        return 0
    return _not_done([*summary.failed, f"{summary.waiting} file(s) are waiting in "
                      f"{settings.inbox / '.processing'} to be tried again"])


def _home_has_store(settings: Settings) -> bool:
    from pipeline.store import has_store

    return has_store(settings)


def existing_home(settings: Settings) -> Settings:
    """For commands that only read: a home that is not there is a typing mistake, not a new one."""
    if not _home_has_store(settings):
        raise ConfigError(f"There is no pipeline database in {settings.home}. Check --home (or "
                          "PIPELINE_HOME); in a new home, start with 'pipeline register import "
                          "REGISTER.xlsx' ('pipeline register template' writes a blank register).")
    return settings


def cmd_records(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import record_json, records

    existing_home(settings)
    definition = library_for(settings).get(args.form)
    found = records(settings, definition.id)
    if args.json:
        library = library_for(settings)
        shown = [record_json(r, library.get(r.form_id, r.form_version)) for r in found]
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(found)} current record(s) of the {definition.title}")
    if found:
        _print_table(["#", "Meeting", "Received", "Partnership", "From", "Late"],
                     [[str(r.submission_id), _meeting_of(definition, r), r.received_at[:10],
                       r.partnership or "-", r.sender or "-", "late" if r.late else ""] for r in found])
    return 0


def _meeting_of(definition: object, record: object) -> str:
    """The meeting (or other) date the return is about: the form's first date key, else '-'."""
    for key in definition.keys:  # type: ignore[attr-defined]
        if definition.field(key).type.value == "date":  # type: ignore[attr-defined]
            value = record.values.get(key)  # type: ignore[attr-defined]
            return str(value)[:10] if value else "-"
    return "-"


def _print_table(headings: list[str], rows: list[list[str]]) -> None:
    """Columns aligned to their widest cell, headings above, for reading in a terminal."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headings)]
    for row in [headings, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _calendar_meeting(settings: Settings, day: date, committee: str | None) -> object:
    """The calendar's meeting on `day` (exit status 2, naming the nearest meetings, if none)."""
    from pipeline.schedule import committees
    from pipeline.store import Store

    existing_home(settings)
    with Store.for_home(settings) as store:
        return committees.meeting_for(store, day, committee)


def _known_committee(settings: Settings, name: str) -> str:
    """The calendar's spelling of committee `name` (any capitals); an unknown one is refused."""
    from pipeline.schedule import committees
    from pipeline.store import Store

    with Store.for_home(settings) as store:
        return committees.committee_named(store, name)


def cmd_paper(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import papers
    from pipeline.papers.convert import to_pdf

    committee = args.committee
    if args.meeting_date is not None:
        committee = _calendar_meeting(settings, args.meeting_date, args.committee).committee  # type: ignore[attr-defined]
    elif committee and _home_has_store(settings):
        committee = _known_committee(settings, committee)
    request = papers.PaperRequest(kind=args.kind, period_from=args.from_date, period_to=args.to_date,
                                  meeting_date=args.meeting_date, committee=committee,
                                  exempt_paragraph=args.exempt)
    out_dir = args.out or settings.outbox / "papers"
    files = papers.write_paper(settings, library_for(settings), request, out_dir, to_pdf=to_pdf)
    for path in (files.docx, files.pdf, files.annex):
        if path:
            print(path)
    if files.pdf_note:
        print(f"pipeline: {files.pdf_note}", file=sys.stderr)
    return 0


def cmd_pack(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.core.config import load_config
    from pipeline.papers.pack import build_packs
    from pipeline.store import Store

    meeting = _calendar_meeting(settings, args.meeting_date, args.committee)
    committee = meeting.committee  # type: ignore[attr-defined]
    with Store.for_home(settings) as store:
        recorded = [paper.manifest for paper in store.papers_written(args.meeting_date)
                    if paper.manifest and paper.committee.casefold() == committee.casefold()]
    config = load_config(settings)
    packs = build_packs(args.meeting_date, args.papers or settings.outbox / "papers",
                        args.out or settings.outbox / "packs", committee=committee,
                        authority=config.authority.name, manifests=recorded,
                        standing_items=tuple(config.publish.standing_items))
    for path in packs:
        print(path)
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.papers.publish import publish_meeting

    _calendar_meeting(settings, args.meeting_date, args.committee)  # a clear error for a day with no meeting
    print(publish_meeting(settings, args.meeting_date, args.committee))
    return 0


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ingest.matching import match_return
    from pipeline.store import Store

    existing_home(settings)
    with Store.for_home(settings) as store:
        print(match_return(store, args.submission_id, args.partnership))
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.store import admin

    if args.action == "copy":
        if not args.to:
            raise ConfigError("Say where to copy the database:"
                              " pipeline db copy --to postgresql://USER@HOST/NAME")
        print("\n".join(admin.copy_summary(admin.copy_home(settings, args.to), args.to)))
        return 0
    existing_home(settings)
    if args.action == "upgrade":
        after, ran = admin.upgrade(settings)
        if ran:
            print(f"Brought {after.where} up to date: ran migration(s) {', '.join(map(str, ran))};"
                  f" schema {after.done} of {after.known}.")
        else:
            print(f"{after.where[0].upper()}{after.where[1:]} is already up to date"
                  f" (schema {after.done} of {after.known}).")
        return 0
    now = admin.state(settings)
    print(f"This home's database is {now.where}: schema {now.done} of {now.known}"
          + (" (current)." if now.current else "; run 'pipeline db upgrade' to bring it up to date."))
    return 0


def cmd_held(args: argparse.Namespace, settings: Settings) -> int:
    """Returns held for the clerk: list them, release one (counted as sent or as typed), or reject."""
    from pipeline.ingest import held
    from pipeline.service import opened

    existing_home(settings)
    if args.action != "list" and args.intake is None:
        raise ConfigError(f"Say which held return: pipeline held {args.action} NUMBER "
                          "(the numbers are in 'pipeline held').")
    if args.action == "release" and args.count_as is None:
        raise ConfigError("Say whose return it is: --as sent (the partnership and meeting the form "
                          "was sent for) or --as typed (what the member typed in it).")
    with opened(settings, library_for(settings)) as ingest:
        if args.action == "release":
            result = held.release(ingest, args.intake, held.CountAs(args.count_as), by=held.clerk())
            _print_result(result, args.json)
        elif args.action == "reject":
            kept = held.reject(ingest, args.intake, args.reason or "", by=held.clerk())
            print(f"Rejected held return {args.intake}: moved to {kept}, with your reason beside it.")
        else:
            _print_held(held.held_returns(ingest), args.json)
    return 0


def _print_held(found: list, as_json: bool) -> None:
    from pipeline.core.dates import long_date

    if as_json:
        print(json.dumps([{"number": h.intake_id, "file": h.original_name, "why": h.reason,
                           "from": h.sender, "received": h.received_at, "kept_at": h.kept_at}
                          for h in found], indent=2, ensure_ascii=False))
        return
    if not found:
        print("No returns are held for you to check.")
        return
    print(f"Returns held for you to check ({len(found)}): not counted for any partnership until you "
          "decide. 'pipeline held release NUMBER --as sent' counts one for the partnership and "
          "meeting its form was sent for; '--as typed' counts it as typed; 'pipeline held reject "
          "NUMBER --reason \"...\"' refuses it.")
    for item in found:
        who = f" from {item.sender}" if item.sender else ""
        when = long_date(date.fromisoformat(item.received_at[:10]))
        print(f"  #{item.intake_id:<5} {item.original_name}{who}, received {when}: {item.reason}")


def cmd_register(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.core.files import write_new_file
    from pipeline.schedule import register
    from pipeline.store import Store

    if args.action == "template":
        target = args.file or settings.outbox / "partnership-register.xlsx"
        path = write_new_file(target.parent, target.name, register.write_register_template())
        print(path)
        return 0
    if args.file is None:
        raise ConfigError("Say which workbook to import: pipeline register import FILE.xlsx")
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {args.file}: {exc.strerror}.") from exc
    with Store.for_home(settings) as store:
        result = register.import_register(store, data, today=date.today(), source_name=args.file.name)
    print(result.summary())
    if result.problems:
        print("The other rows were imported. Correct the rows listed above in the workbook and import "
              "it again (rows already imported are left as they are).", file=sys.stderr)
        return 1
    return 0


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.core.dates import day_month_year, short_date
    from pipeline.schedule import committees
    from pipeline.store import Store

    if args.action == "import" and (args.file is None or not args.file.is_file()):
        raise ConfigError("Say which file to import: pipeline calendar import FILE.ics "
                          "--committee NAME (or a committees.yaml)"
                          + (f"; there is no file {args.file}" if args.file else ""))
    if args.action == "list":
        existing_home(settings)
    with Store.for_home(settings) as store:
        if args.action == "import":
            if args.file.suffix.lower() in (".yaml", ".yml"):
                result = committees.load_yaml(store, args.file)
            else:
                if not args.committee:
                    raise ConfigError("Say which committee these meetings are for: --committee NAME")
                result = committees.import_ics(store, args.file, args.committee, args.papers or None)
            print(result.summary())
            return 0
        found = committees.meetings(store, committee=args.committee, from_date=args.since)
        written = store.papers_written()
    if args.json:
        print(json.dumps([{**m.to_json(), "written": [_written_json(p) for p in _written_for(m, written)]}
                          for m in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("No committee meetings are on the calendar" + (f" from {args.since}" if args.since else "")
              + ". Add them with 'pipeline calendar import committees.yaml', or an .ics file with "
              "--committee NAME (see the README's 'The committee calendar').")
    for meeting in found:
        print(f"{short_date(meeting.date)}  {meeting.committee:<40} papers by "
              f"{short_date(meeting.publication_deadline)}  {', '.join(meeting.papers) or '-'}")
        for paper in _written_for(meeting, written):
            shown = paper.paths[0] if paper.paths else paper.manifest
            print(f"{'':17}written: {paper.kind} ({day_month_year(paper.written_at.date())}) {shown}")
    return 0


def _written_for(meeting: object, written: list) -> list:
    """The papers recorded for `meeting` (same date, same committee ignoring capitals)."""
    return [p for p in written if p.meeting_date == meeting.date  # type: ignore[attr-defined]
            and p.committee.casefold() == meeting.committee.casefold()]  # type: ignore[attr-defined]


def _written_json(paper: object) -> dict[str, object]:
    return {"kind": paper.kind, "written_at": paper.written_at.isoformat(),  # type: ignore[attr-defined]
            "files": [str(p) for p in paper.paths]}  # type: ignore[attr-defined]


def _now(args: argparse.Namespace) -> datetime:
    if getattr(args, "now", None) is None:
        return datetime.now(UTC)
    return args.now.replace(tzinfo=LONDON).astimezone(UTC)


def cmd_tick(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import run_tick

    mode = _send_mode(args)
    report = run_tick(settings, library_for(settings), now=_now(args), mode=mode)
    if args.json:
        print(json.dumps({"mode": mode.value, **report.to_json()}, indent=2, ensure_ascii=False))
    else:
        if mode is SendMode.PREVIEW:
            print("A rehearsal: nothing is sent or recorded, and a real 'pipeline tick' will still do "
                  f"all of this. The emails it would send are in {settings.outbox / 'preview'}.")
        for line in report.done or (["Nothing was due."] if not report.problems else []):
            print(line)
        for line in report.problems:
            print(f"PROBLEM: {line}", file=sys.stderr)
    return 1 if report.problems else 0


def _send_mode(args: argparse.Namespace) -> SendMode:
    if getattr(args, "dry_run", False) and getattr(args, "send_by_hand", False):
        raise ConfigError("Choose one of --dry-run (see what would be done) and --send-by-hand "
                          "(write the emails for you to send).")
    if getattr(args, "dry_run", False):
        return SendMode.PREVIEW
    return SendMode.BY_HAND if getattr(args, "send_by_hand", False) else SendMode.SEND


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.check import run_checks

    checks = run_checks(settings, today=_now(args).astimezone(LONDON).date(),
                        office=not args.skip_office)
    if args.json:
        print(json.dumps([c.to_json() for c in checks], indent=2, ensure_ascii=False))
    else:
        for check in checks:
            print(check.line())
        problems = sum(not c.ok for c in checks)
        print("All is well." if not problems else
              f"{problems} problem{'s' if problems != 1 else ''} to put right (see above).")
    return 0 if all(c.ok for c in checks) else 1


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import status

    existing_home(settings)
    summary = status(settings, today=_now(args).date())
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    _print_mailbox(summary["mailbox"])
    counts = summary["inbox"]
    print(f"Files in inbox waiting: {counts['waiting']}.  Taken so far: {counts['accepted']} accepted, "
          f"{counts['rejected']} rejected, {counts['held']} held for you to check, "
          f"{counts['duplicate']} duplicates.")
    print(f"Stored returns: {counts['current']} current ({counts['superseded']} superseded kept).")
    _print_for_the_clerk(summary)
    rows = summary["expected"]
    if not rows:
        print("No forms have been sent out yet (see 'pipeline tick').")
    else:
        print("Forms the pipeline sent, and what came back ('missing' means past its due date):")
        _print_table(["Partnership", "Form", "sent", "back", "late", "missing"],
                     [[row["partnership"], row["form"], str(row["sent"]), str(row["returned"]),
                       str(row["late"]), str(row["missing"])] for row in rows])
    from pipeline.core.dates import long_date

    other = summary.get("not_expected", [])
    if other:
        print(f"Returns that answer no form the pipeline sent ({len(other)}): stored and counted in the "
              "papers for their own meeting or year, but not in the 'back' column above:")
        for item in other:
            print(f"  #{item['submission_id']:<5} {item['form']:<20} {item['partnership']} "
                  f"received {long_date(date.fromisoformat(item['received'][:10]))}")

    unmatched = summary["not_matched"]
    if unmatched:
        print(f"Returns from partnerships not on the register ({len(unmatched)}): not counted under any "
              "partnership until matched with 'pipeline match SUBMISSION_ID \"PARTNERSHIP NAME\"'.")
        for item in unmatched:
            print(f"  #{item['submission_id']:<5} {item['form']:<20} \"{item['partnership'] or '-'}\" "
                  f"received {long_date(date.fromisoformat(item['received'][:10]))}")
    for meeting in summary["meetings"]:
        when, by = (long_date(date.fromisoformat(meeting[k])) for k in ("date", "publication_deadline"))
        print(f"Next: {meeting['committee']} meets on {when}; its papers must be published by {by}.")
    return 0


def _print_mailbox(mailbox: dict) -> None:
    if not mailbox["configured"] and not mailbox["last_check"]:
        return
    if mailbox["last_check"] is None:
        print("Mailbox: not checked yet (see 'pipeline mail fetch').")
    elif mailbox["ok"]:
        print(f"Mailbox: last checked {mailbox['last_check']}. {mailbox['last_result']}")
    else:
        print(f"Mailbox: PROBLEM at the last check ({mailbox['last_check']}): {mailbox['last_result']}")
    if mailbox["not_forms"]:
        print(f"Emails that were not returns, not answered ({len(mailbox['not_forms'])} latest; "
              "in the not-forms folder, and saved in the mailbox/ folder):")
        for mail in mailbox["not_forms"]:
            print(f"  {mail['fetched'][:10]} {mail['from'] or 'unknown sender'}: "
                  f"\u201c{mail['subject'] or 'no subject'}\u201d ({mail['why']})")


def _print_for_the_clerk(summary: dict) -> None:
    """What needs a person: returns held, files set aside, senders not answered, given up."""
    from pipeline.core.dates import long_date

    if summary.get("inbox", {}).get("being_retried"):
        print(f"{summary['inbox']['being_retried']} file(s) met a busy database or a full disk "
              "and are tried again by the watcher.")
    for item in summary.get("links", []):
        print(f"LINK LEFT IN THE INBOX: {item['why']}")
    for item in summary.get("held", []):
        print(f"HELD for you to check (#{item['intake']}, see 'pipeline held'): {item['file']}: "
              f"{item['why']}")
    for item in summary.get("future_dated", []):
        sender = f" from {item['from']}" if item["from"] else ""
        dated, arrived = (long_date(date.fromisoformat(item[k][:10])) if item[k] else "an unknown day"
                          for k in ("dated", "arrived"))
        print(f"DATED IN THE FUTURE: the email {item['file']}{sender} says it was sent on {dated}; "
              f"it was taken as arriving on {arrived}, when it reached us (a sender's date is kept "
              "for information only, so a later correction still replaces it).")
    for item in summary.get("quarantine", []):
        print(f"SET ASIDE: {item['file']} (kept at {item['kept_at']}): {item['why']}")
    for item in summary.get("not_answered", []):
        print(f"NOT ANSWERED: {item['sender']} sent {item['file']}: {item['why']}")
    for item in summary.get("given_up", []):
        print(f"GIVEN UP after {item['attempts']} tries: {item['action']}: {item['error']}")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from pipeline.service import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    mode = SendMode.BY_HAND if args.send_by_hand else SendMode.SEND
    serve(settings, library_for(settings), polling=args.polling, mode=mode,
          tick_seconds=args.tick_seconds)
    return 0


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.core.config import load_config
    from pipeline.web import run_console

    existing_home(settings)
    web = load_config(settings).web
    host, port = args.host or web.host, args.port or web.port
    print(f"The clerk's console is at http://{host}:{port}/ (press Ctrl+C to stop).", flush=True)
    if not _has_users(settings):
        print("No one can sign in yet: add a user with 'pipeline users add NAME --role clerk'.", flush=True)
    run_console(settings, library_for(settings), host, port, web)
    return 0


def _has_users(settings: Settings) -> bool:
    from pipeline.store import Store

    with Store.for_home(settings) as store:
        return bool(store.users())


def _read_password(args: argparse.Namespace, name: str) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Type it again: ") != first:
        raise ConfigError("The two passwords were not the same. Nothing was changed.")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.store import Store
    from pipeline.web import users

    if args.action != "list" and not args.name:
        raise ConfigError(f"Say whose account: pipeline users {args.action} NAME")
    if args.action == "add" and not args.role:
        raise ConfigError("Say what the user may do: --role clerk (sees and does everything) or "
                          "--role viewer (sees Part 1 and the status only).")
    password = _read_password(args, args.name) if args.action in ("add", "password") else ""
    settings.ensure_folders()
    with Store.for_home(settings) as store:
        if args.action == "list":
            found = store.users()
            for user in found:
                print(f"{user.name:<30} {user.role:<7} added {user.created_at[:10]}")
            if not found:
                print("No users yet: add one with 'pipeline users add NAME --role clerk'.")
        elif args.action == "add":
            users.add_user(store, args.name, args.role, password)
            print(f"Added {args.name} as a {args.role}. They can sign in to the console now.")
        elif args.action == "password":
            users.change_password(store, args.name, password)
            print(f"Changed the password of {args.name}; they are signed out everywhere.")
        else:
            users.remove_user(store, args.name)
            print(f"Removed {args.name}; they can no longer sign in.")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.demo.run import run_demo

    run_demo(settings, library_for(settings), say=print)
    return 0


def cmd_templates(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.papers.template_files import copy_defaults, home_templates, templates_in_use

    folder = home_templates(settings)
    if args.action == "copy":
        copied, kept = copy_defaults(settings)
        if copied:
            print(f"Copied {len(copied)} default template(s) into {folder}: edit the Word ones (docx/) "
                  "in Word and the web pages (html/) in a text editor; papers use them from now on.")
        if not copied:
            print(f"Every default template already has your own copy in {folder}: nothing was replaced.")
            return 0
        for path in kept:
            print(f"Kept your own {path} (not replaced).")
        return 0
    print(f"The paper templates in use (your own copy in {folder} overrides the default; "
          "'pipeline templates copy' gives you copies to edit):")
    rows = [[t.name, "your own" if t.own else "default", str(t.path)] for t in templates_in_use(settings)]
    _print_table(["Template", "From", "File"], rows)
    return 0


# --- wiring ------------------------------------------------------------------------------------


def build_parser() -> Parser:
    """The whole command line: the options every command takes, then each command's own."""
    common = _common_options()
    parser = Parser(prog="pipeline", parents=[common],
                    description="Partnership forms: generate them, ingest the returns, "
                                "write the committee papers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add_command in COMMANDS:
        add_command(commands, common)
    describe_commands(parser)
    return parser


def describe_commands(parser: argparse.ArgumentParser) -> None:
    """Give each command's own `--help` the line `pipeline --help` lists it with, as a sentence,
    so `pipeline tick --help` says what tick does (at every level: `pipeline mail fetch --help`)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        summaries = {choice.dest: choice.help for choice in action._choices_actions}
        for name, command in action.choices.items():
            summary = summaries.get(name) or ""
            if summary and not command.description:
                sentence = summary[0].upper() + summary[1:]
                command.description = sentence if sentence.endswith((".", "?", "!")) else sentence + "."
            describe_commands(command)


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS,
                        help="folder holding inbox/, outbox/, archive/ and the database "
                             "(default: $PIPELINE_HOME or the current folder)")
    return common


def _forms_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    forms = commands.add_parser("forms", parents=[common], help="list the form definitions, or "
                                "show one ('pipeline forms show FORM --json')")
    forms.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    forms.add_argument("form", nargs="?", help="the form id, for 'show'")
    forms.add_argument("--json", action="store_true", help="print the definition as JSON")
    forms.set_defaults(run=cmd_forms)


def _generate_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    gen = commands.add_parser("generate", parents=[common],
                              help="write a fillable Word or Excel form, blank or personalised, "
                                   "or the blank form as an accessible PDF")
    gen.add_argument("form", help="the form id (see 'pipeline forms')")
    gen.add_argument("--format", choices=(*FORMATS, "pdf"), default="docx",
                     help="docx (Word), xlsx (Excel), or pdf: the blank form as a tagged, accessible "
                          "PDF to read or print (needs LibreOffice)")
    gen.add_argument("--partnership", help="pre-fill the partnership's name")
    gen.add_argument("--member", help="pre-fill the member or officer attending")
    gen.add_argument("--meeting-date", type=iso_date, help="pre-fill the meeting date, YYYY-MM-DD")
    gen.add_argument("--meeting-title", help="pre-fill the title of the meeting")
    gen.add_argument("--meeting-place", help="pre-fill the place of the meeting")
    gen.add_argument("--out", type=_path, help="folder to write into (default: outbox/)")
    gen.set_defaults(run=cmd_generate)


def _ingest_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    ing = commands.add_parser("ingest", parents=[common],
                              help="ingest returned forms or saved emails (as the watcher does)")
    ing.add_argument("paths", nargs="+", type=_path, metavar="PATH", help="files to ingest")
    ing.add_argument("--json", action="store_true", help="print one JSON object per form")
    ing.add_argument("--now", type=iso_minute, help=argparse.SUPPRESS)
    ing.set_defaults(run=cmd_ingest)


def _watch_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    watch = commands.add_parser("watch", parents=[common],
                                help="process the inbox now, then every file that arrives")
    watch.add_argument("--polling", action="store_true",
                       help="check the folder every second (for network shares)")
    watch.add_argument("--oneshot", action="store_true",
                       help="process what is in the inbox now, then stop")
    watch.add_argument("--json", action="store_true", help="print one JSON object per form")
    watch.add_argument("--quiet", type=float, metavar="SECONDS",
                       help="how long a file must stay unchanged before it is taken "
                       "(default: [watch] in pipeline.toml, 3 s; 10 s with --polling)")
    watch.add_argument("--now", type=iso_minute, help=argparse.SUPPRESS)
    watch.set_defaults(run=cmd_watch)


def _records_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    rec = commands.add_parser("records", parents=[common],
                              help="show the stored current returns of a form")
    rec.add_argument("form", help="the form id (see 'pipeline forms')")
    rec.add_argument("--json", action="store_true", help="print the records as JSON")
    rec.set_defaults(run=cmd_records)


def _paper_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    paper = commands.add_parser("paper", parents=[common],
                                help="write a committee paper (.docx, .pdf, .xlsx annex)")
    paper.add_argument("kind", choices=["monitoring-summary", "risk-register", "survey-results"])
    paper.add_argument("--from", dest="from_date", type=iso_date, help="period start, YYYY-MM-DD")
    paper.add_argument("--to", dest="to_date", type=iso_date, help="period end, YYYY-MM-DD")
    paper.add_argument("--meeting-date", type=iso_date, help="the committee meeting, YYYY-MM-DD")
    paper.add_argument("--committee", help="the committee meeting that day, when two meet on "
                       "--meeting-date (taken from the calendar otherwise)")
    paper.add_argument("--exempt", type=int, choices=range(1, 8), metavar="PARAGRAPH",
                       help="exempt information: the paragraph (1-7) of Schedule 12A")
    paper.add_argument("--out", type=_path, help="folder to write into (default: outbox/papers)")
    paper.set_defaults(run=cmd_paper)


def _pack_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    pack = commands.add_parser("pack", parents=[common],
                               help="merge a meeting's papers into the agenda pack(s)")
    pack.add_argument("--meeting-date", type=iso_date, required=True, help="YYYY-MM-DD")
    pack.add_argument("--committee", help="the committee meeting that day, when two meet that day")
    pack.add_argument("--papers", type=_path, help="where the papers are (default: outbox/papers)")
    pack.add_argument("--out", type=_path, help="folder to write into (default: outbox/packs)")
    pack.set_defaults(run=cmd_pack)


def _publish_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    publish = commands.add_parser(
        "publish", parents=[common],
        help="write a meeting's publication folder (public agenda, HTML and PDF papers, Part 1 pack, "
             ".ics) for the website: nothing of Part 2")
    publish.add_argument("--meeting-date", type=iso_date, required=True, help="YYYY-MM-DD")
    publish.add_argument("--committee", help="the committee meeting that day, when two meet that day")
    publish.set_defaults(run=cmd_publish)


def _match_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    match = commands.add_parser("match", parents=[common],
                                help="count a return from a name not on the register under a "
                                     "partnership on it: 'match SUBMISSION_ID \"PARTNERSHIP NAME\"'")
    match.add_argument("submission_id", type=int, metavar="SUBMISSION_ID",
                       help="the return's number (see 'pipeline status')")
    match.add_argument("partnership", metavar="PARTNERSHIP", help="the partnership's name on the register")
    match.set_defaults(run=cmd_match)



def _held_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    held = commands.add_parser(
        "held", parents=[common],
        help="returns held because what was typed contradicts the copy they were sent on: list them, "
             "'release NUMBER --as sent|typed' or 'reject NUMBER --reason TEXT'")
    held.add_argument("action", nargs="?", choices=["list", "release", "reject"], default="list")
    held.add_argument("intake", nargs="?", type=int, metavar="NUMBER",
                      help="the held return's number (see 'pipeline held')")
    held.add_argument("--as", dest="count_as", choices=["sent", "typed"],
                      help="release: count it for the partnership and meeting the form was sent for "
                           "(sent), or as the member typed it (typed)")
    held.add_argument("--reason", help="reject: why, for the record")
    held.add_argument("--json", action="store_true", help="print as JSON")
    held.set_defaults(run=cmd_held)


def _register_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    reg = commands.add_parser("register", parents=[common],
                              help="the partnership register: 'template' or 'import FILE.xlsx'")
    reg.add_argument("action", choices=["template", "import"])
    reg.add_argument("file", nargs="?", type=_path, help="the workbook to import or write")
    reg.set_defaults(run=cmd_register)


def _db_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser("db", parents=[common],
                             help="the database: 'status', 'upgrade', or 'copy --to postgresql://...'")
    db.add_argument("action", nargs="?", choices=["status", "upgrade", "copy"], default="status")
    db.add_argument("--to", metavar="URL",
                    help="copy: the empty PostgreSQL database to copy this home's SQLite store into")
    db.set_defaults(run=cmd_db)


def _calendar_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    cal = commands.add_parser("calendar", parents=[common],
                              help="committee meetings: list them, or 'import FILE.ics --committee NAME'")
    cal.add_argument("action", nargs="?", choices=["list", "import"], default="list")
    cal.add_argument("file", nargs="?", type=_path, help="an .ics file, or committees.yaml")
    cal.add_argument("--committee", help="the committee the meetings belong to")
    cal.add_argument("--papers", nargs="*", help="the papers the committee takes (import)")
    cal.add_argument("--since", type=iso_date, help="list meetings from this date")
    cal.add_argument("--json", action="store_true", help="list meetings as JSON")
    cal.set_defaults(run=cmd_calendar)


def _tick_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    tick = commands.add_parser("tick", parents=[common],
                               help="do whatever is due now (send, chase, reply, write papers)")
    tick.add_argument("--now", type=iso_minute, help="act as if it were this time, YYYY-MM-DDTHH:MM")
    tick.add_argument("--dry-run", action="store_true",
                      help="a rehearsal: show what is due and what would be sent, chased or written, "
                           "with the would-be emails in outbox/preview; nothing is sent or recorded")
    tick.add_argument("--send-by-hand", action="store_true",
                      help="write each email to outbox/mail as an .eml file for you to send yourself; "
                           "they count as sent")
    tick.add_argument("--json", action="store_true", help="print what was done as JSON")
    tick.set_defaults(run=cmd_tick)


def _check_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    check = commands.add_parser("check", parents=[common],
                                help="a pre-flight of this home: settings, mail server, LibreOffice, "
                                     "folders, database, register and calendar")
    check.add_argument("--now", type=iso_minute, help=argparse.SUPPRESS)
    check.add_argument("--skip-office", action="store_true",
                       help="do not test LibreOffice (it takes a few seconds)")
    check.add_argument("--json", action="store_true", help="print the checks as JSON")
    check.set_defaults(run=cmd_check)


def _mail_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    mail = commands.add_parser("mail", parents=[common], help="returns straight from the mailbox")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True, metavar="fetch")
    fetch = mail_commands.add_parser("fetch", parents=[common],
                                     help="one pass over the [imap] mailbox: take in every return")
    fetch.add_argument("--json", action="store_true", help="print what was fetched as JSON")
    fetch.set_defaults(run=cmd_mail)


def _status_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    stat = commands.add_parser("status", parents=[common],
                               help="forms sent, returned, late and missing; the next meetings")
    stat.add_argument("--now", type=iso_minute, help=argparse.SUPPRESS)
    stat.add_argument("--json", action="store_true", help="print the status as JSON")
    stat.set_defaults(run=cmd_status)


def _serve_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common],
                                help="run the watcher and the scheduler together until stopped")
    serve.add_argument("--polling", action="store_true", help="poll the inbox (network shares)")
    serve.add_argument("--send-by-hand", "--dry-run", dest="send_by_hand", action="store_true",
                       help="write emails to outbox/mail as .eml files for you to send, instead of "
                            "sending them (they count as sent)")
    serve.add_argument("--tick-seconds", type=float, default=60.0,
                       help="how often the scheduler looks for work (default 60)")
    serve.set_defaults(run=cmd_serve)


def _web_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    web = commands.add_parser("web", parents=[common],
                              help="serve the clerk's console in the browser (sign in first)")
    web.add_argument("--host", help="the address to listen on (default: [web] host, 127.0.0.1)")
    web.add_argument("--port", type=int, help="the port (default: [web] port, 8000)")
    web.set_defaults(run=cmd_web)


def _users_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    usr = commands.add_parser("users", parents=[common],
                              help="who may sign in to the console: list, add, password, remove")
    usr.add_argument("action", nargs="?", choices=["list", "add", "password", "remove"], default="list")
    usr.add_argument("name", nargs="?", help="the user's name, as they type it to sign in")
    usr.add_argument("--role", choices=["clerk", "viewer"],
                     help="clerk: sees everything and acts; viewer: sees Part 1 and the status")
    usr.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input, not a prompt")
    usr.set_defaults(run=cmd_users)


def _demo_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser("demo", parents=[common],
                               help="run the whole cycle on sample data into outbox/")
    demo.set_defaults(run=cmd_demo)


def _templates_command(commands: Commands, common: argparse.ArgumentParser) -> None:
    templates = commands.add_parser("templates", parents=[common],
                                    help="the paper templates in use, or 'copy' the defaults into "
                                         "templates/ to edit them in Word")
    templates.add_argument("action", nargs="?", choices=["list", "copy"], default="list",
                           help="list (the default): which are in use; copy: the defaults into templates/")
    templates.set_defaults(run=cmd_templates)


COMMANDS: tuple[Callable[[Commands, argparse.ArgumentParser], None], ...] = (
    _forms_command,
    _generate_command,
    _ingest_command,
    _watch_command,
    _records_command,
    _paper_command,
    _pack_command,
    _publish_command,
    _match_command,
    _held_command,
    _register_command,
    _db_command,
    _calendar_command,
    _tick_command,
    _check_command,
    _mail_command,
    _status_command,
    _serve_command,
    _web_command,
    _users_command,
    _demo_command,
    _templates_command,
)


def _path(text: str) -> Path:
    return Path(text).expanduser()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stopped:  # --help, or a bad argument already reported on stderr
        return int(stopped.code or 0)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        settings = settings_for(getattr(args, "home", None))
        return args.run(args, settings)
    except PipelineError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("pipeline: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `pipeline records --json | head`
        return 0
    except Exception as exc:  # a bug: the clerk gets one line, the details go to a log file
        return _unexpected(exc, getattr(args, "home", None))


def _unexpected(exc: Exception, home: str | None) -> int:
    import traceback

    try:
        log_file = settings_for(home).home / "pipeline-errors.log"
        with open(log_file, "a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now(UTC).isoformat()}\n{traceback.format_exc()}\n")
        where = f"the details are in {log_file}"
    except (OSError, PipelineError):
        where = "the details could not be saved"
    print(f"pipeline: something went wrong inside the pipeline ({type(exc).__name__}); {where}. "
          "Nothing was lost: files stay where they were.", file=sys.stderr)
    return 1
