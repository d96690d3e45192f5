"""What the commands do, as library calls: ingest files, watch the inbox, list records, status."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from pipeline.core.config import Settings
from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import PipelineError, RejectedFile
from pipeline.ingest.steps import Clock, FileResult, Ingest, Outcome, iter_inbox
from pipeline.ingest.watcher import InboxLock, InboxWatcher
from pipeline.schedule.cycle import TickReport
from pipeline.schedule.mailer import SendMode, mailer_for
from pipeline.store import Record, Store

log = logging.getLogger("pipeline.watch")
Report = Callable[[FileResult], None]


@contextmanager
def opened(settings: Settings, library: FormLibrary, *,
           clock: Clock | None = None) -> Iterator[Ingest]:
    """An `Ingest` on the home's database, closed afterwards. With PostgreSQL it claims each
    file in the database before it takes it (several workers may share one store and inbox)."""
    from pipeline.core.config import database_url, load_config
    from pipeline.ingest.claims import Claims

    settings.ensure_folders()
    timeout = load_config(settings).watch.claim_timeout_seconds
    with Store.for_home(settings) as store:
        if not database_url(settings):  # SQLite: one watcher per home, and file locks suffice
            yield Ingest(settings, library, store, clock=clock)
            return
        claims = Claims(lambda: Store.for_home(settings), timeout_seconds=timeout)
        try:
            yield Ingest(settings, library, store, clock=clock, claims=claims)
        finally:
            claims.close()


def ingest_files(settings: Settings, library: FormLibrary, paths: Iterable[Path],
                 report: Report, *, clock: Clock | None = None) -> list[FileResult]:
    """Ingest each path (the same steps as the watcher); every file gets a result."""
    results: list[FileResult] = []
    with opened(settings, library, clock=clock) as ingest:
        for path in paths:
            try:
                found = ingest.ingest_path(path)
            except RejectedFile as exc:  # could not even be taken (missing file, a link)
                found = [FileResult(str(path), Outcome.REFUSED, message=exc.reason)]
            except PipelineError as exc:  # the pipeline could not finish it: it is kept
                found = [FileResult(str(path), Outcome.NOT_DONE, message=str(exc))]
            for result in found:
                report(result)
            results += found
    return results


@cache  # once per process
def _set_aside_what_lasts() -> None:
    """Keep the collector off what lives as long as the watcher (the forms, the settings, the
    open store): otherwise every full collection walks all of it again while a file is read,
    about a millisecond of each Word return's ingest (bench/README.md). Once per process, when
    the watcher starts, after collecting the garbage, so only what is in use is set aside."""
    gc.collect()
    gc.freeze()


def watch_inbox(settings: Settings, library: FormLibrary, *, stop: threading.Event,
                report: Report, polling: bool = False, oneshot: bool = False,
                rescan_seconds: float = 30.0, stable_seconds: float | None = None,
                clock: Clock | None = None) -> WatchSummary:
    """Take every file in the inbox now, and (unless `oneshot`) every file that arrives.

    Files that met a busy database or a full disk wait in `.processing` and are tried again
    at every look through the inbox; with `oneshot`, what is still not done is counted.
    """
    from pipeline.core.config import load_config

    watch = load_config(settings).watch
    if stable_seconds is None:
        stable_seconds = watch.polling_quiet_seconds if polling else watch.quiet_seconds
    # A worker's files are taken over once its claims lapse: look again no later than that.
    rescan_seconds = min(rescan_seconds, max(watch.claim_timeout_seconds, 0.5))
    summary = WatchSummary()
    with _one_watcher_unless_shared(settings), opened(settings, library, clock=clock) as ingest:

        def retry() -> None:
            for result in ingest.recover():
                report(result)

        def handle(path: Path) -> bool:
            try:
                found = ingest.ingest_path(path)
            except PipelineError as exc:
                summary.failed.append(f"{path.name}: {exc}")
                if not path.exists():
                    raise  # it waits in .processing, tried again at every look
                log.error("Could not take %s yet (%s); it stays in the inbox and is tried again",
                          path.name, exc)
                summary.left_in_inbox.add(path)
                return False
            for result in found:
                report(result)
            # Another worker has it in hand: if it is still there later, look at it again.
            return not any(result.outcome is Outcome.ELSEWHERE for result in found)

        _set_aside_what_lasts()
        retry()
        # The watcher logs a handler's failure (with its traceback) and leaves the file in place.
        watcher = InboxWatcher(settings.inbox, handle, polling=polling, retry=retry,
                               rescan_seconds=rescan_seconds, stable_seconds=stable_seconds)
        summary.taken = watcher.run(stop, oneshot=oneshot)
        if oneshot:
            retry()
        summary.waiting = ingest.waiting() + sum(1 for p in summary.left_in_inbox if p.exists())
    return summary


def _one_watcher_unless_shared(settings: Settings) -> AbstractContextManager[object]:
    """With SQLite, one watcher per home (the lock file); with PostgreSQL, any number work
    together, each file claimed in the database (each holds the lock file shared, so the
    console still sees that a watcher runs)."""
    from pipeline.core.config import database_url

    return InboxLock(settings.home, shared=bool(database_url(settings)))


@dataclass
class WatchSummary:
    """What a watch did: files taken, failures met, and files still not done at the end."""

    taken: int = 0
    failed: list[str] = field(default_factory=list)
    waiting: int = 0
    left_in_inbox: set[Path] = field(default_factory=set)  # met a busy database before the claim

    @property
    def all_done(self) -> bool:
        return self.waiting == 0


def records(settings: Settings, form_id: str) -> list[Record]:
    with Store.for_home(settings) as store:
        return store.records(form_id)


def record_json(record: Record, definition: FormDefinition) -> dict[str, object]:
    """A stored return as JSON: every field of its definition, in form order (empty: null/[])."""
    empty = {f.id: [] if f.is_table or f.type.value == "multi_choice" else None
             for f in definition.fields}
    fields = {field_id: record.values.get(field_id, blank) for field_id, blank in empty.items()}
    return {
        "submission_id": record.submission_id,
        "form": record.form_id,
        "version": record.form_version,
        "received": record.received_at,
        "sender": record.sender,
        "late": record.late,
        "partnership": record.partnership,
        "fields": fields,
    }


# --- the scheduler ---------------------------------------------------------------------------


def run_tick(settings: Settings, library: FormLibrary, *, now: datetime,
             mode: SendMode = SendMode.SEND) -> TickReport:
    """Do whatever is due at `now` (safe to run as often as you like).

    `SendMode.PREVIEW` is a rehearsal: it runs on a copy of the database, writes the emails it
    would send under outbox/preview/ and no paper, and leaves the home's records as they were.
    """
    import tempfile

    from pipeline.core.config import load_config
    from pipeline.schedule.cycle import Cycle

    config = load_config(settings)
    if mode is SendMode.SEND:
        require_mail_settings(settings)
    settings.ensure_folders()
    mailer = mailer_for(config.smtp, mode=mode, outbox=settings.outbox)
    with _tick_lock(settings) as free, Store.for_home(settings) as store, \
            store.exclusive("tick") as mine:
        if not (free and mine):  # this computer's other tick, or another worker on the store
            report = TickReport()
            report.add("Another tick is still running for this folder; this one did nothing.")
            return report
        if mode is not SendMode.PREVIEW:
            return Cycle(settings, config, library, store, mailer, now, mode).tick()
        with tempfile.TemporaryDirectory(prefix="pipeline-preview-") as scratch:
            store.copy_to(Path(scratch) / "rehearsal.sqlite3")
            with Store.open(Path(scratch) / "rehearsal.sqlite3") as rehearsal:
                return Cycle(settings, config, library, rehearsal, mailer, now, mode).tick()


def require_mail_settings(settings: Settings) -> None:
    """Sending needs an [smtp] section: without one, say so in one line, before anything is done."""
    from pipeline.core.config import CONFIG_FILE, has_section
    from pipeline.core.errors import ConfigError

    if not has_section(settings, "smtp"):
        raise ConfigError(
            f"No mail settings: add an [smtp] section (host, port, security, sender) to "
            f"{settings.home / CONFIG_FILE} and test it with 'pipeline check', or use --send-by-hand "
            "to write the emails for you to send, or --dry-run to see what would be sent.")


def _tick_lock(settings: Settings) -> AbstractContextManager[bool]:
    """One tick at a time per home (cron and `serve` may overlap): yields False when busy.
    With PostgreSQL the store's own lock does this for every worker on every computer (a
    lock file on a shared folder may not be seen from another), so this one yields True."""
    from contextlib import nullcontext

    from pipeline.core.config import database_url
    from pipeline.core.locks import held_or_busy

    if database_url(settings):
        return nullcontext(True)
    return held_or_busy(settings.home / ".tick.lock")


def status(settings: Settings, *, today: date) -> dict[str, object]:
    """What the clerk asks: what is waiting, what came back, what is late or missing, what's next."""
    from pipeline.schedule import committees, register
    settings.ensure_folders()
    waiting = sum(1 for _ in iter_inbox(settings.inbox))
    processing = settings.inbox / ".processing"
    in_hand = sum(1 for p in processing.iterdir() if not p.name.startswith(".")) \
        if processing.is_dir() else 0
    with Store.for_home(settings) as store:
        counts = store.counts()
        rows = store.sent_status(today)
        upcoming = committees.meetings(store, from_date=today)[:5]
        trust = _trust_status(store)
        on_register = bool(register.partnerships(store))
        unmatched = store.unmatched() if on_register else []
        not_expected = store.returns_not_expected() if on_register else []
        mailbox = _mailbox_status(settings, store)
    return {
        "mailbox": mailbox,
        "links": _links_status(settings),
        "inbox": {"waiting": waiting + in_hand, "being_retried": in_hand,
                  **{k: counts.get(k, 0) for k in
                     ("accepted", "rejected", "held", "duplicate", "current", "superseded")}},
        **trust,
        "expected": [row.to_json() for row in rows],
        "meetings": [m.to_json() for m in upcoming],
        "not_matched": [{"submission_id": u.submission_id, "form": u.form_id, "partnership": u.partnership,
                         "received": u.received_at} for u in unmatched],
        "not_expected": [{"submission_id": u.submission_id, "form": u.form_id,
                          "partnership": u.partnership, "received": u.received_at} for u in not_expected],
    }


def _links_status(settings: Settings) -> list[dict[str, str]]:
    """Links left in the inbox: never followed nor taken, so the clerk must deal with them."""
    from pipeline.ingest.watcher import link_left, links_in, text_of

    return [{"file": text_of(link.name), "why": link_left(text_of(link.name))}
            for link in links_in(settings.inbox)]


def _mailbox_status(settings: Settings, store: Store) -> dict[str, object]:
    """The mailbox's last check (with its problem, if it failed) and the emails that were not returns."""
    from pipeline.core.config import load_config

    last = store.last_mail_pass()
    return {
        "configured": bool(load_config(settings).imap.host),
        "last_check": last.at if last else None,
        "ok": last.ok if last else None,
        "last_result": last.detail if last else None,
        "counts": store.mail_counts(),
        "not_forms": [{"from": m.sender, "subject": m.subject, "fetched": m.fetched_at,
                       "why": m.reason, "saved": m.saved_path, "moved_to": m.moved_to}
                      for m in store.mails_not_forms()],
    }


def _mailbox_loop(settings: Settings, library: FormLibrary, stop: threading.Event) -> None:
    """Check the mailbox every [imap] interval_minutes until stopped; a failure waits for the next."""
    from pipeline.core.config import load_config
    from pipeline.ingest.mailbox import fetch_mail as fetch

    interval = max(load_config(settings).imap.interval_minutes, 0.05) * 60
    while not stop.is_set():
        try:
            report = fetch(settings, library)
            (log.error if report.problem else log.info)("Mailbox: %s", report.summary())
        except PipelineError as exc:
            log.error("The mailbox could not be checked: %s", exc)
        except Exception:  # a bug must not stop the watcher or scheduler: log it, try again later
            log.exception("The mailbox check failed unexpectedly; it will try again")
        stop.wait(interval)


def _trust_status(store: Store) -> dict[str, object]:
    """What the clerk must look at by hand: returns held, emails dated in the future, files set
    aside, senders not answered, and tick actions given up after failing again and again."""
    return {
        "held": [{"intake": h.intake_id, "file": h.original_name, "why": h.reason,
                  "from": h.sender, "received": h.received_at, "kept_at": h.kept_at}
                 for h in store.held()],
        "future_dated": [{"intake": f.intake_id, "file": f.original_name, "from": f.sender,
                          "dated": f.sent_at, "arrived": f.received_at}
                         for f in store.flagged("future-date")],
        "quarantine": [{"file": q.original_name, "kept_at": q.kept_at, "why": q.reason}
                       for q in store.quarantined()],
        "not_answered": [{"sender": who, "file": name, "why": why}
                         for who, name, why in store.unanswered_senders()],
        "given_up": [{"action": a, "attempts": n, "error": e} for a, n, e in store.actions_given_up()],
    }


def _start_console(settings: Settings, library: FormLibrary):  # type: ignore[no-untyped-def]
    """The web console in a thread of its own when `[web] enabled = true`; returns its server."""
    from pipeline.core.config import load_config

    web = load_config(settings).web
    if not web.enabled:
        return None
    from waitress import create_server

    from pipeline.web import create_app

    server = create_server(create_app(settings, library, web), host=web.host, port=web.port, threads=4)
    threading.Thread(target=server.run, name="web-console", daemon=True).start()
    log.info("The clerk's console is at http://%s:%s/", web.host, web.port)
    return server


def serve(settings: Settings, library: FormLibrary, *, polling: bool = False,
          mode: SendMode = SendMode.SEND, tick_seconds: float = 60.0,
          stop: threading.Event | None = None) -> None:
    """The watcher and the scheduler in one process, until SIGTERM/SIGINT (or `stop`)."""
    from pipeline.ingest.watcher import install_signal_handlers

    if mode is SendMode.PREVIEW:
        from pipeline.core.errors import ConfigError

        raise ConfigError("serve cannot rehearse: use 'pipeline tick --dry-run' to see what is due, "
                          "or 'pipeline serve --send-by-hand'.")
    if mode is SendMode.SEND:
        require_mail_settings(settings)
    stop = stop or threading.Event()
    install_signal_handlers(stop)
    failure: list[BaseException] = []

    def watch() -> None:
        try:
            watch_inbox(settings, library, stop=stop, polling=polling,
                        report=lambda r: log.info("%s %s: %s", r.outcome.value, Path(r.path).name,
                                                  r.message.splitlines()[0] if r.message else ""))
        except BaseException as exc:  # the scheduler must stop too, and say why
            failure.append(exc)
            stop.set()

    watcher = threading.Thread(target=watch, name="inbox-watcher", daemon=True)
    watcher.start()
    console = _start_console(settings, library)
    from pipeline.core.config import load_config

    mailbox = None
    if load_config(settings).imap.host:
        mailbox = threading.Thread(target=_mailbox_loop, args=(settings, library, stop),
                                   name="mailbox", daemon=True)
        mailbox.start()
    log.info("Serving %s: watching the inbox, and looking for due work every %.0f s", settings.home,
             tick_seconds)
    while not stop.is_set():
        try:
            run_tick(settings, library, now=datetime.now(UTC), mode=mode)
        except PipelineError as exc:
            log.error("The scheduler could not finish: %s", exc)
        except Exception:  # a bug must not stop the watcher mid-file: log it, try again later
            log.exception("The scheduler failed unexpectedly; it will try again")
        stop.wait(tick_seconds)
    watcher.join()
    if console is not None:
        console.close()
    if mailbox is not None:
        mailbox.join()
    log.info("Stopped cleanly.")
    if failure:
        raise failure[0]
