"""The `pipeline` command: parse arguments, call one library function, report in plain words."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from pipeline.config import Settings, settings_for
from pipeline.definitions import FormLibrary
from pipeline.errors import ConfigError, PipelineError
from pipeline.generate import FORMATS, generate_form
from pipeline.identity import Personalisation

Command = Callable[[argparse.Namespace, Settings], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one clear line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"pipeline: {message} (see 'pipeline --help')\n")


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


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
            for f in definition.fields:
                needed = "required" if f.required else "optional"
                print(f"  {f.id:<28} {f.type.value:<13} {needed:<9} {f.label}")
        return 0
    for definition in library.latest():
        print(f"{definition.id:<22} v{definition.version}  {definition.title}")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    definition = library_for(settings).get(args.form)
    person = Personalisation(partnership=args.partnership, member=args.member,
                             meeting_title=args.meeting_title, meeting_date=args.meeting_date,
                             meeting_place=args.meeting_place)
    out_dir = args.out or settings.outbox
    path, _ = generate_form(definition, args.format, person, out_dir)
    print(path)
    return 0


def _print_result(result: object, as_json: bool) -> None:
    from pipeline.ingest import FileResult

    assert isinstance(result, FileResult)
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
        return
    print(f"{result.outcome.value.upper():<10} {result.path}: {result.message.splitlines()[0]}",
          flush=True)
    for problem in result.problems:
        print(f"           - {problem.label}: {problem.message}")
    if result.report:
        print(f"           The sender's report is at {result.report}")


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import ingest_files

    ingest_files(settings, library_for(settings), args.paths,
                 lambda result: _print_result(result, args.json))
    return 0


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import threading

    from pipeline.service import watch_inbox
    from pipeline.watcher import install_signal_handlers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    stop = threading.Event()
    install_signal_handlers(stop)
    if not args.oneshot:
        mode = "polling every second" if args.polling else "listening for new files"
        print(f"Watching {settings.inbox} ({mode}). Press Ctrl+C to stop.", flush=True)
    count = watch_inbox(settings, library_for(settings), stop=stop, polling=args.polling,
                        oneshot=args.oneshot, report=lambda r: _print_result(r, args.json))
    if not args.json:
        print(f"Done: {count} file(s) taken from the inbox.")
    return 0


def cmd_records(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.service import record_json, records

    definition = library_for(settings).get(args.form)
    found = records(settings, definition.id)
    if args.json:
        library = library_for(settings)
        shown = [record_json(r, library.get(r.form_id, r.form_version)) for r in found]
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(found)} current record(s) of the {definition.title}")
    for record in found:
        late = "  LATE" if record.late else ""
        print(f"  #{record.submission_id:<5} {record.received_at[:10]}  "
              f"{record.partnership or '-':<30} {record.sender or '-'}{late}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.demo import run_demo

    run_demo(settings, library_for(settings), say=print)
    return 0


# --- wiring ------------------------------------------------------------------------------------


def build_parser() -> Parser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS,
                        help="folder holding inbox/, outbox/, archive/ and the database "
                             "(default: $PIPELINE_HOME or the current folder)")
    parser = Parser(prog="pipeline", parents=[common],
                    description="Partnership forms: generate them, ingest the returns, "
                                "write the committee papers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    forms = commands.add_parser("forms", parents=[common], help="list the form definitions, or "
                                "show one ('pipeline forms show FORM --json')")
    forms.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    forms.add_argument("form", nargs="?", help="the form id, for 'show'")
    forms.add_argument("--json", action="store_true", help="print the definition as JSON")
    forms.set_defaults(run=cmd_forms)

    gen = commands.add_parser("generate", parents=[common],
                              help="write a fillable Word or Excel form, blank or personalised")
    gen.add_argument("form", help="the form id (see 'pipeline forms')")
    gen.add_argument("--format", choices=FORMATS, default="docx", help="docx (Word) or xlsx")
    gen.add_argument("--partnership", help="pre-fill the partnership's name")
    gen.add_argument("--member", help="pre-fill the member or officer attending")
    gen.add_argument("--meeting-date", type=iso_date, help="pre-fill the meeting date, YYYY-MM-DD")
    gen.add_argument("--meeting-title", help="pre-fill the title of the meeting")
    gen.add_argument("--meeting-place", help="pre-fill the place of the meeting")
    gen.add_argument("--out", type=_path, help="folder to write into (default: outbox/)")
    gen.set_defaults(run=cmd_generate)

    ing = commands.add_parser("ingest", parents=[common],
                              help="ingest returned forms or saved emails (as the watcher does)")
    ing.add_argument("paths", nargs="+", type=_path, metavar="PATH", help="files to ingest")
    ing.add_argument("--json", action="store_true", help="print one JSON object per form")
    ing.set_defaults(run=cmd_ingest)

    watch = commands.add_parser("watch", parents=[common],
                                help="process the inbox now, then every file that arrives")
    watch.add_argument("--polling", action="store_true",
                       help="check the folder every second (for network shares)")
    watch.add_argument("--oneshot", action="store_true",
                       help="process what is in the inbox now, then stop")
    watch.add_argument("--json", action="store_true", help="print one JSON object per form")
    watch.set_defaults(run=cmd_watch)

    rec = commands.add_parser("records", parents=[common],
                              help="show the stored current returns of a form")
    rec.add_argument("form", help="the form id (see 'pipeline forms')")
    rec.add_argument("--json", action="store_true", help="print the records as JSON")
    rec.set_defaults(run=cmd_records)

    demo = commands.add_parser("demo", parents=[common],
                               help="run the whole cycle on sample data into outbox/")
    demo.set_defaults(run=cmd_demo)
    return parser


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
