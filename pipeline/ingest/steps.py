"""Ingesting returned files: one unit of work per file, as a list of named steps.

    claim -> preflight (hash, duplicate) -> identify + extract -> validate -> store -> archive

A file is first moved from `inbox/` into `inbox/.processing/` under a unique name (the claim),
so a crash at any moment leaves it where a restart finds it. The database commit is the point
of no return: a processing file whose intake is already finished is simply tidied away, so a
killed and restarted watcher stores every file exactly once. No file is deleted before a copy
is safely in `archive/` or `rejected/`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pipeline.core.config import Settings
from pipeline.core.dates import LONDON, long_date
from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import PipelineError, RejectedFile, UnreadableFile, UnsafeFile
from pipeline.core.files import slug, write_new_file
from pipeline.core.values import to_json_value
from pipeline.ingest.claims import Claims, inbox_key, processing_key
from pipeline.ingest.emails import Envelope, is_email, peek_sender, read_email, safe_name
from pipeline.ingest.readers import ACCEPTED_KINDS, ReadForm, looks_like_form, read_form
from pipeline.ingest.validation import Checked, check, describe
from pipeline.store import (
    AlreadyStored,
    IntakeOutcome,
    IntakeRow,
    IssuedToken,
    NewIntake,
    NewSubmission,
    Problem,
    Store,
    utc_text,
)

log = logging.getLogger("pipeline.ingest")
MAX_FILE_BYTES = 50 * 1024 * 1024
UNREADABLE = ("The file could not be read: it may be damaged, or made by a program that changed "
              "the form. Please fill in the form again in Word, LibreOffice or Excel and send it.")
PROCESSING = ".processing"
FUTURE_SLACK = timedelta(minutes=10)  # clocks differ a little; more than this is a future date
UNKNOWN_TOKEN = ("This copy of the form carries a reference the pipeline never issued, so it "
                 "cannot be matched to a partnership. Please use the form you were sent by email "
                 "(or ask us for a new one) and send that back.")
OTHER_FORM_TOKEN = ("This copy carries the reference of a different form, so its answers cannot "
                    "be trusted to belong to this one. Please use the form you were sent for "
                    "this and send that back.")
Clock = Callable[[], datetime]


class Outcome(StrEnum):
    """What happened to one returned form (one per attachment for an email)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"  # accepted, and it replaced an earlier return of the same thing
    HELD = "held"  # its typed identity contradicts its copy's: kept for the clerk to decide
    REFUSED = "refused"  # not taken at all (a link, not a file, too large); nothing was read
    NOT_DONE = "not done"  # the pipeline could not finish it (disk full, database busy): kept
    ELSEWHERE = "taken elsewhere"  # another pipeline process (a watcher) took it from the inbox


@dataclass(frozen=True)
class FileResult:
    path: str
    outcome: Outcome
    form: str | None = None
    submission_id: int | None = None
    problems: tuple[Problem, ...] = ()
    message: str = ""
    stored_at: str | None = None  # the archived or rejected copy
    report: str | None = None
    sender: str | None = None
    late: bool = False
    intake_id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path, "outcome": str(self.outcome), "form": self.form,
            "submission_id": self.submission_id, "late": self.late,
            "problems": [{"field": p.field_id, "label": p.label, "message": p.message}
                         for p in self.problems],
            "message": self.message, "stored_at": self.stored_at, "report": self.report,
            "sender": self.sender,
        }


@dataclass(frozen=True)
class Job:
    """One file being ingested (a dropped file, or one attachment of an email)."""

    name: str  # as the sender named it
    data: bytes
    intake_name: str
    source_path: str
    sender: str | None
    received_at: datetime  # when it arrived: first seen by us, or our mail server's Received
    flags: tuple[str, ...] = ()  # what was odd about it (a future date, failed SPF/DKIM/DMARC)
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())


class Ingest:
    """Runs the ingest steps for files against one home, one database and one form library."""

    def __init__(self, settings: Settings, library: FormLibrary, store: Store, *,
                 clock: Clock | None = None, claims: Claims | None = None) -> None:
        self.settings, self.library, self.store = settings, library, store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.claims = claims  # with several workers: each file is ours in the database first
        self._notes: list[tuple[str, str, str]] = []
        settings.ensure_folders()
        self.processing.mkdir(parents=True, exist_ok=True)

    @property
    def processing(self) -> Path:
        return self.settings.inbox / PROCESSING

    # --- entry points ------------------------------------------------------------------------

    def ingest_path(self, path: Path, *, sender: str | None = None) -> list[FileResult]:
        """Ingest one file: from the inbox it is moved, from elsewhere it is copied.

        Only a regular file is taken, opened without following links; a file larger than the
        limit is refused before it is read. Raises PipelineError when the pipeline itself could
        not finish (a busy database, a full disk): the file is then kept to be tried again.
        """
        if self._in_inbox(path) and not os.path.lexists(path):
            return [self._elsewhere(path)]
        refused = self._refusal(path)
        if refused is not None:
            return [refused]
        try:
            claim = self._claim(path)
        except _TakenElsewhere:
            return [self._elsewhere(path)]
        except RejectedFile as exc:  # cannot be opened (no permission): never a poison pill
            if self._in_inbox(path) and os.path.lexists(path):
                self._set_aside(path, text_name(path.name), exc.reason)
            return [FileResult(str(path), Outcome.REFUSED, message=exc.reason)]
        try:
            return self._process_claimed(claim, source=str(path), sender=sender)
        finally:
            self._let_go(claim)

    def ingest_named(self, path: Path, intake_name: str) -> list[FileResult]:
        """Ingest a copy of `path` under a name the caller chose and kept (a fetched email's).

        Calling it again with the same name after a crash finishes the same intake, or, if it
        had finished, just gives its results: the file is never stored twice.
        """
        # Claimed in mailbox/.taking, not inbox/.processing: the watcher's recovery never takes it.
        claimed = self.settings.mailbox / ".taking" / intake_name
        done = self.store.intake_by_name(intake_name)
        if done is not None and done.finished:
            claimed.unlink(missing_ok=True)
            return self._result_of(done)
        if not claimed.exists():
            claimed.parent.mkdir(parents=True, exist_ok=True)
            partial = claimed.parent / f".copying-{intake_name}"
            partial.write_bytes(path.read_bytes())
            os.replace(partial, claimed)
        handle = _open_regular(claimed, intake_name)
        try:
            claim = _Claim(claimed, handle, intake_name.split("--", 1)[-1], self.clock())
            return self._process_claimed(claim, source=str(path), sender=None)
        finally:
            os.close(handle)

    def recover(self) -> list[FileResult]:
        """Finish files a stopped run left in `inbox/.processing/` (never another process's
        file in hand: each claimed file is locked while it is worked on). A file that cannot be
        opened or that fails in an unexpected way is set aside in `quarantine/` with a report, so
        it never stops the rest."""
        results: list[FileResult] = []
        self._tidy_claims()
        self._tidy_notes()
        for path in sorted(self._claimed_files()):
            claim = self._reclaim(path)
            if claim is None:
                continue
            log.info("Finishing %s, left over from an interrupted run", claim.original)
            try:
                results += self._process_claimed(claim, source=str(path), sender=None)
            except PipelineError as exc:  # busy database, full disk: it waits for the next try
                log.error("Could not finish %s yet: %s", claim.original, exc)
            except Exception as exc:  # noqa: BLE001 - one odd file must never stop the others
                log.exception("Setting %s aside: it failed in recovery", claim.original)
                self._set_aside(path, claim.original, f"It could not be finished ({exc}).")
            finally:
                self._let_go(claim)
        return results

    def waiting(self) -> int:
        """Files taken from the inbox but not yet finished (each is tried again); not those
        another worker has in hand and is still at work on."""
        files = self._claimed_files()
        if self.claims is None or not files:
            return len(files)
        busy = self.claims.held_by_others(self.store)
        return sum(1 for path in files if processing_key(path.name) not in busy)

    def _claimed_files(self) -> list[Path]:
        try:
            return [Path(e.path) for e in os.scandir(self.processing) if not e.name.startswith(".")]
        except OSError:
            return []

    # --- claim ---------------------------------------------------------------------------------

    def _refusal(self, path: Path) -> FileResult | None:
        """Why `path` is not taken at all (a link, not a regular file, too large), or None."""
        try:
            info = path.lstat()
        except OSError:
            raise UnreadableFile(f"There is no file at {path}.") from None
        original = text_name(path.name)
        if stat.S_ISLNK(info.st_mode):
            reason = (f"{original} is a link to another file, not a file itself; links are never "
                      "followed. Save the form itself in the inbox.")
        elif not stat.S_ISREG(info.st_mode):
            reason = f"{original} is not an ordinary file, so it was not taken."
        elif info.st_size > MAX_FILE_BYTES:
            reason = (f"{original} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, far larger "
                      "than any of our forms, so it was not read.")
            if self._in_inbox(path):  # out of the inbox, never copied: disk use does not grow
                self._set_aside(path, original, reason)
        else:
            return None
        log.warning("%s", reason)
        return FileResult(str(path), Outcome.REFUSED, message=reason)

    def _elsewhere(self, path: Path) -> FileResult:
        """An inbox file another pipeline process (the watcher, another ingest) has in hand or
        has already taken in: it is done there, and counted there, not here."""
        message = (f"There is no file {text_name(path.name)} in the inbox now: if it was there, "
                   "another pipeline process (the watcher, or another ingest) has taken it in "
                   "('pipeline status' counts it there).")
        log.info("%s", message)
        return FileResult(str(path), Outcome.ELSEWHERE, message=message)

    def _in_inbox(self, path: Path) -> bool:
        return path.absolute().parent.resolve() == self.settings.inbox.resolve()

    def _claim(self, path: Path) -> _Claim:
        original = text_name(path.name)
        in_inbox = self._in_inbox(path)
        try:
            source = _open_regular(path, original)
        except FileNotFoundError:
            if in_inbox:
                raise _TakenElsewhere(original) from None
            raise UnreadableFile(f"{original} is no longer there.") from None
        seen = self.clock()
        name = claim_name(path.name, seen)
        target = self.processing / name
        if in_inbox:  # ours in the database, then locked before it is moved: nobody else takes it
            self._claim_in_inbox(source, path, original)
        try:
            self._hold_claim(processing_key(name))  # before it is in .processing at all
            _write_note(self.processing, name, original, seen)
            if in_inbox:
                _move_in(path, target, original)  # the same file, still locked by us
                return _Claim(target, source, original, seen)
            return _Claim(target, self._copy_in(source, target, original), original, seen)
        except OSError as exc:
            self._undo_claim(name, source)
            raise PipelineError(f"Could not take {original} from {path.parent}: {exc.strerror}. "
                                "It was left where it was; nothing was taken.") from exc
        except BaseException:
            self._undo_claim(name, source)
            raise
        finally:
            if in_inbox:
                self._drop_claim(inbox_key(path.name))

    # --- claims in the database (several workers on one store) ----------------------------------

    def _claim_in_inbox(self, source: int, path: Path, original: str) -> None:
        """The inbox file is ours in the database and locked, or _TakenElsewhere (closed)."""
        try:
            taken = self.claims is None or self.claims.take(self.store, inbox_key(path.name))
        except BaseException:
            os.close(source)
            raise
        if not taken:
            os.close(source)
            raise _TakenElsewhere(original)
        try:
            _lock_inbox_file(source, path, original)
        except BaseException:
            self._drop_claim(inbox_key(path.name))
            raise

    def _hold_claim(self, key: str) -> None:
        if self.claims is not None and not self.claims.take(self.store, key):
            raise PipelineError(f"Another worker already claims {key}.")

    def _undo_claim(self, name: str, source: int) -> None:
        _remove_note(self.processing, name)
        os.close(source)
        self._drop_claim(processing_key(name))

    def _drop_claim(self, key: str) -> None:
        if self.claims is None:
            return
        try:
            self.claims.drop(self.store, key)
        except PipelineError as exc:  # it lapses by itself after the timeout
            log.error("Could not release the claim on %s: %s", key, exc)

    def _let_go(self, claim: _Claim) -> None:
        """Done with a claimed file for now (finished, or left to be tried again)."""
        claim.close()
        self._drop_claim(processing_key(claim.path.name))

    def _tidy_claims(self) -> None:
        """Claims that workers killed on the spot left on files now gone."""
        if self.claims is None:
            return
        try:
            in_inbox = {inbox_key(name) for name in os.listdir(self.settings.inbox)}
        except OSError:
            return

        def exists(key: str) -> bool:
            kind, _, name = key.partition("/")
            return os.path.lexists(self.processing / name) if kind == "processing" \
                else key in in_inbox

        try:
            self.claims.tidy(self.store, exists)
        except PipelineError as exc:
            log.error("Could not tidy the claims of stopped workers: %s", exc)

    def _tidy_notes(self) -> None:
        """Name notes left by a run killed between writing the note and moving its file in: the
        file stayed in the inbox (it is taken again, with a note of its own), so the note names
        nothing. A note whose file, or its copy in progress, is there is kept."""
        try:
            names = set(os.listdir(self.processing))
        except OSError:
            return
        for name in names:
            claimed = name.removeprefix(".name-").removesuffix(".json")
            if name.startswith(".name-") and claimed not in names and f".copying-{claimed}" not in names:
                with contextlib.suppress(OSError):
                    (self.processing / name).unlink()

    def _copy_in(self, source: int, target: Path, original: str) -> int:
        """Copy under a hidden name first (never taken as a file), locked, then rename."""
        partial = target.with_name(f".copying-{target.name}")
        out = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o600)
        try:
            fcntl.flock(out, fcntl.LOCK_EX)
            offset = 0
            while chunk := os.pread(source, 1 << 20, offset):
                os.write(out, chunk)
                offset += len(chunk)
            os.fsync(out)
            os.replace(partial, target)
        except BaseException:
            os.close(out)
            partial.unlink(missing_ok=True)  # a copy cut short (disk full) is never left behind
            raise
        os.close(source)
        return out

    def _reclaim(self, path: Path) -> _Claim | None:
        """A claimed file from an interrupted run, locked; None when another process has it."""
        if self.claims is not None and not self.claims.take(self.store, processing_key(path.name)):
            return None  # another worker has it in hand, and is still at work
        claim = self._reclaim_locked(path)
        if claim is None:
            self._drop_claim(processing_key(path.name))
        return claim

    def _reclaim_locked(self, path: Path) -> _Claim | None:
        original = read_note(self.processing, path.name) or (text_name(path.name), None)
        try:
            handle = _open_regular(path, original[0])
        except FileNotFoundError:
            return None  # finished by its owner just now
        except (RejectedFile, OSError) as exc:
            reason = exc.reason if isinstance(exc, RejectedFile) else (exc.strerror or str(exc))
            self._set_aside(path, original[0], reason)
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return None  # in the hands of another pipeline process (ingest or a watcher)
        if os.fstat(handle).st_nlink == 0:
            os.close(handle)
            return None  # finished and removed while we waited for it
        return _Claim(path, handle, original[0], original[1] or self.clock())

    def _set_aside(self, path: Path, original: str, reason: str) -> None:
        """Move a file that cannot be taken into `quarantine/`, with a report, and note it."""
        folder = self.settings.home / "quarantine"
        try:
            folder.mkdir(exist_ok=True)
            kept = folder / f"{self.clock().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
            os.rename(path, kept)
            write_new_file(folder, f"{kept.name}.why.txt",
                           f"File: {original}\n\n{reason}\n".encode())
            _remove_note(self.processing, path.name)
        except (OSError, PipelineError) as exc:
            log.error("Could not set %s aside: %s", original, exc)
            return
        log.warning("Set %s aside in %s: %s", original, kept, reason)
        self.store.quarantine(original, str(kept), reason, self.clock())

    def _process_claimed(self, claim: _Claim, *, source: str, sender: str | None) -> list[FileResult]:
        data = _read_all(claim.handle)
        before = _signature(claim.handle)
        done = self.store.intake_by_name(claim.path.name)
        if done is not None and done.finished and done.sha256 == hashlib.sha256(data).hexdigest():
            self._tidy(claim)  # stored before a crash: only the tidy-up was left
            return self._result_of(done)
        job = Job(claim.original, data, claim.path.name, source, sender, claim.seen)
        results = self._run(job, parent=None)
        if _signature(claim.handle) != before:
            self._give_back(claim, results)
        else:
            self._tidy(claim)
        return results

    def _tidy(self, claim: _Claim) -> None:
        claim.path.unlink(missing_ok=True)
        _remove_note(self.processing, claim.path.name)

    def _give_back(self, claim: _Claim, results: list[FileResult]) -> None:
        """The file changed while it was read (still being copied in): nobody is answered about
        the part read, and the whole file goes back into the inbox to be taken again."""
        for result in results:
            if result.intake_id:
                self.store.record_reply(result.intake_id, "none",
                                        "still being written when read; taken again whole",
                                        self.clock())
        back = self.settings.inbox / safe_file_name(claim.original)
        try:
            os.link(claim.path, back)  # never over a file of the same name dropped since
        except FileExistsError:
            back = back.with_name(claim.path.name)
            os.link(claim.path, back)
        self._tidy(claim)
        log.warning("%s changed while it was read; it will be taken again whole", claim.original)

    # --- one file --------------------------------------------------------------------------------

    def _run(self, job: Job, parent: int | None) -> list[FileResult]:
        intake_id = self._start_intake(job, parent)
        self._notes.clear()
        read: ReadForm | None = None
        try:
            self._preflight(job)
            if is_email(job.name):
                return self._run_email(job, intake_id)
            duplicate = self.store.submission_by_sha256(job.sha256)
            if duplicate is not None:
                return [self._duplicate(job, intake_id, duplicate.id, duplicate.form_id)]
            read = self._identify(job, intake_id)
            checked = self._validate(job, intake_id, read)
            issued = self._check_identity(read, checked)
            return [self._store_and_archive(job, intake_id, read, checked, issued)]
        except _Held as held:
            return [self._hold(job, intake_id, held.reason, read)]
        except _Invalid as invalid:
            return [self._reject(job, intake_id, invalid.reason, invalid.problems, read)]
        except _EmailWithoutForm as empty:
            return [self._reject(replace(job, sender=empty.sender), intake_id, empty.reason, ())]
        except RejectedFile as rejection:
            if is_email(job.name) and job.sender is None:  # rejected whole: still say who sent it
                sender = peek_sender(job.data)
                self.store.set_sender(intake_id, sender, None)
                job = replace(job, sender=sender)
            return [self._reject(job, intake_id, rejection.reason, (), read)]
        except PipelineError:
            raise  # the pipeline itself failed (database, disk): the file stays to be retried
        except Exception:  # an odd file met a reader's blind spot: never leave it stuck
            log.exception("Unexpected error reading %s; rejecting it, file kept", job.name)
            return [self._reject(job, intake_id, UNREADABLE, (), read)]

    def _start_intake(self, job: Job, parent: int | None) -> int:
        """The intake's row, 'processing'. Not durable on its own: until the outcome's durable
        commit the file is in `.processing` (or `mailbox/.taking`, or an email there), so after
        a power cut that loses the row the file is simply taken again."""
        existing = self.store.intake_by_name(job.intake_name)
        if existing is not None:
            return existing.id
        return self.store.add_intake(NewIntake(
            intake_name=job.intake_name, original_name=job.name, source_path=job.source_path,
            sha256=job.sha256, size=len(job.data), sender=job.sender, sent_at=None,
            received_at=job.received_at, parent_intake_id=parent, flags=job.flags),
            durable=False)

    def _preflight(self, job: Job) -> None:
        if not job.data:
            raise UnreadableFile("The file is empty: it may not have been saved properly. "
                                 "Please save the form again and send it.")
        if len(job.data) > MAX_FILE_BYTES:
            raise UnsafeFile("The file is larger than 50 MB, far larger than any of our forms.")
        if not (is_email(job.name) or looks_like_form(job.name) or job.data[:5] == b"%PDF-"):
            raise UnreadableFile(f"This is not a form we can read. Please send {ACCEPTED_KINDS}.")
        self._note("preflight", "ok", f"{job.name}, {len(job.data)} bytes, sha256 {job.sha256}")

    def _identify(self, job: Job, intake_id: int) -> ReadForm:
        read = read_form(job.data, job.name, self.library)
        detail = f"{read.definition.id} v{read.definition.version} from {read.kind}"
        self._note("identify", "ok", "; ".join((detail, *read.notes)))
        return read

    def _validate(self, job: Job, intake_id: int, read: ReadForm) -> Checked:
        checked = check(read.definition, read.raw, received=local_day(job.received_at),
                        excel=read.kind == "xlsx")
        if not checked.ok:
            problems = tuple(Problem(p.field_id, p.label, p.message) for p in checked.problems)
            raise _Invalid(describe(read.definition.title, checked.problems), problems)
        self._note("validate", "ok", "late" if checked.late else "on time")
        return checked

    def _check_identity(self, read: ReadForm, checked: Checked) -> IssuedToken | None:
        """A personal copy's token decides whose return it is: never issued, or issued for
        another form, is refused; typed answers that contradict it hold the return."""
        token = read.identity.token if read.identity else None
        if not token:
            return None
        issued = self.store.issued_token(token)
        if issued is None:
            raise RejectedFile(UNKNOWN_TOKEN)
        if issued.form_id != read.definition.id:
            raise RejectedFile(OTHER_FORM_TOKEN)
        values = {k: to_json_value(v) for k, v in checked.values.items()}
        clashes = []
        typed = _prefilled(read.definition, values, "partnership")
        if typed and issued.partnership and _normal_key(typed) != _normal_key(issued.partnership):
            clashes.append(f"the form was sent for {issued.partnership}, but the Partnership "
                           f"box says {typed}")
        meeting = _prefilled(read.definition, values, "meeting_date")
        if meeting and issued.meeting_date and str(meeting)[:10] != issued.meeting_date:
            clashes.append(f"the form was sent for the meeting on {issued.meeting_date}, but the "
                           f"meeting date given is {meeting}")
        if clashes:
            raise _Held("Held for the clerk to check: " + "; and ".join(clashes) + ". It has not "
                        "been counted as any partnership's return until the clerk decides.")
        self._note("identity", "ok", f"token {token}: {issued.partnership or 'no partnership'}")
        return issued

    def _hold(self, job: Job, intake_id: int, reason: str, read: ReadForm | None) -> FileResult:
        day = local_day(job.received_at).isoformat()
        kept = write_new_file(self.settings.archive / "held", f"{day}-{safe_file_name(job.name)}",
                              job.data, reuse_identical=True)
        with self.store.transaction():
            self.store.finish_intake(intake_id, outcome=IntakeOutcome.REJECTED, reason=reason,
                                     archived_path=str(kept))
            self.store.hold(intake_id, reason, self.clock())
            self.store.record_reply(intake_id, "held", "held for the clerk; not answered",
                                    self.clock())
            self._flush_notes(intake_id)
            self.store.log("identity", "held", reason, intake_id=intake_id)
        form = read.definition.id if read else None
        return FileResult(job.source_path, Outcome.HELD, form, None, (), reason, str(kept),
                          sender=job.sender, intake_id=intake_id)

    def _store_and_archive(self, job: Job, intake_id: int, read: ReadForm,
                           checked: Checked, issued: IssuedToken | None = None) -> FileResult:
        definition = read.definition
        values = {k: to_json_value(v) for k, v in checked.values.items()}
        partnership = (issued.partnership if issued else None) or _partnership(definition, values) \
            or (read.identity and read.identity.partnership)
        archived = self._archive(job, definition, partnership)
        new = NewSubmission(
            form_id=definition.id, form_version=definition.version, form_hash=definition.hash,
            token=read.identity.token if read.identity else None, partnership=partnership,
            record_key=record_key(definition, values), sha256=job.sha256, sender=job.sender,
            received_at=job.received_at, late=checked.late, due_date=checked.due_date,
            marking=definition.marking, values=values)
        try:
            with self.store.transaction():
                submission_id, superseded = self.store.add_submission(new, intake_id)
                self.store.finish_intake(intake_id, outcome=IntakeOutcome.ACCEPTED,
                                         archived_path=str(archived), submission_id=submission_id)
                self._flush_notes(intake_id)
                self.store.log("store", "accepted", f"submission {submission_id}"
                               + (f", supersedes {superseded}" if superseded else ""),
                               intake_id=intake_id, submission_id=submission_id)
        except AlreadyStored as stored:  # another process stored these bytes a moment ago
            mine = self.store.submission_by_sha256(job.sha256)
            done = self.store.intake(intake_id)
            if mine is not None and mine.intake_id == intake_id and done is not None:
                return self._result_of(done)[0]  # this very file, finished by a worker that took over
            return self._duplicate(job, intake_id, stored.submission_id, definition.id)
        outcome = Outcome.SUPERSEDED if superseded else Outcome.ACCEPTED
        message = f"Accepted {definition.title}" + (" (late)" if checked.late else "")
        if read.stray:  # never dropped silently: the clerk sees what could not be placed
            quoted = "; ".join(f"\u201c{text}\u201d" for text in read.stray)
            message += f"; please look at text typed outside the answer boxes: {quoted}"
        stored = self.store.submission_by_sha256(job.sha256)
        if stored is not None and stored.status == "superseded":
            message += ("; a later return for the same meeting was already stored, so this one is "
                        "kept in the history")
        if self.store.not_matched(submission_id):  # issue 10: held, never counted under a guess
            given = partnership or "no partnership given"
            message += (f"; not matched: \"{given}\" is not on the partnership register, so it is"
                        f" held until matched (pipeline match {submission_id} \"NAME\")")
        return FileResult(job.source_path, outcome, definition.id, submission_id, (), message,
                          str(archived), sender=job.sender, late=checked.late, intake_id=intake_id)

    def _archive(self, job: Job, definition: FormDefinition, partnership: str | None) -> Path:
        day = local_day(job.received_at).isoformat()
        parts = [day, definition.id, slug(partnership) if partnership else "no-partnership",
                 job.sha256[:8]]
        name = "-".join(parts) + Path(job.name).suffix.lower()
        path = write_new_file(self.settings.archive / day[:7], name, job.data, reuse_identical=True)
        self._note("archive", "ok", str(path))
        return path

    def _duplicate(self, job: Job, intake_id: int, of: int, form_id: str) -> FileResult:
        day = local_day(job.received_at).isoformat()
        copy = write_new_file(self.settings.archive / "duplicates",
                              f"{day}-{safe_file_name(job.name)}", job.data,
                              reuse_identical=True)
        with self.store.transaction():
            self.store.finish_intake(intake_id, outcome=IntakeOutcome.DUPLICATE,
                                     archived_path=str(copy), duplicate_of=of,
                                     reason=f"The same file was received before (submission {of}).")
            self._flush_notes(intake_id)
            self.store.log("preflight", "duplicate", f"same bytes as submission {of}",
                           intake_id=intake_id, submission_id=of)
        message = f"Already received: this exact file was stored before as submission {of}."
        return FileResult(job.source_path, Outcome.DUPLICATE, form_id, of, (), message, str(copy),
                          sender=job.sender)

    def _reject(self, job: Job, intake_id: int, reason: str, problems: tuple[Problem, ...],
                read: ReadForm | None = None) -> FileResult:
        day = local_day(job.received_at).isoformat()
        kept = write_new_file(self.settings.rejected, f"{day}-{safe_file_name(job.name)}",
                              job.data, reuse_identical=True)
        report = write_new_file(self.settings.rejected, f"{kept.name}.what-to-fix.txt",
                                rejection_report(job, reason).encode("utf-8"))
        with self.store.transaction():
            self.store.finish_intake(intake_id, outcome=IntakeOutcome.REJECTED, reason=reason,
                                     archived_path=str(kept), report_path=str(report),
                                     problems=list(problems))
            self._flush_notes(intake_id)
            self.store.log("reject", "rejected", reason.splitlines()[0], intake_id=intake_id)
        form = read.definition.id if read else None
        return FileResult(job.source_path, Outcome.REJECTED, form, None, problems, reason,
                          str(kept), str(report), sender=job.sender, intake_id=intake_id)

    def _note(self, step: str, outcome: str, detail: str) -> None:
        """An event for the log, written with the file's outcome (one commit, not one each)."""
        self._notes.append((step, outcome, detail))

    def _flush_notes(self, intake_id: int) -> None:
        for step, outcome, detail in self._notes:
            self.store.log(step, outcome, detail, intake_id=intake_id)
        self._notes.clear()

    # --- emails ----------------------------------------------------------------------------------

    def _run_email(self, job: Job, intake_id: int) -> list[FileResult]:
        envelope = read_email(job.data, job.name)
        sender = job.sender or envelope.sender
        arrived = envelope.received_at if envelope.received_at and \
            envelope.received_at <= self.clock() else job.received_at
        flags = [f"auth-failed:{check}" for check in envelope.failed_checks]
        if envelope.sent_at and envelope.sent_at > self.clock() + FUTURE_SLACK:
            flags.append("future-date")
            self._note("preflight", "flagged", f"the email is dated in the future "
                       f"({utc_text(envelope.sent_at)}); arrival taken as {utc_text(arrived)}")
        self.store.set_sender(intake_id, sender, envelope.sent_at)
        if flags:
            self.store.set_flags(intake_id, flags)
        self._flush_notes(intake_id)  # the email's own notes, before its attachments'
        forms = [a for a in envelope.attachments if looks_like_form(a.name) or a.data[:5] == b"%PDF-"]
        if not forms:
            raise _EmailWithoutForm(_no_form_reason(envelope), sender)
        results: list[FileResult] = []
        for index, attachment in enumerate(forms, 1):
            child = Job(attachment.name, attachment.data, f"{job.intake_name}#{index}",
                        f"{job.source_path}#{attachment.name}", sender, arrived, tuple(flags))
            done = self.store.intake_by_name(child.intake_name)
            results += self._result_of(done) if done and done.finished else self._run(child, intake_id)
        self._quiet_non_forms(results)
        self._finish_container(job, intake_id, envelope)
        return results

    def _quiet_non_forms(self, results: list[FileResult]) -> None:
        """An email with a form and a covering letter: the letter is kept, but nobody is told off."""
        if not any(r.form for r in results):
            return
        for result in results:
            if result.outcome is Outcome.REJECTED and not result.form and result.intake_id:
                self.store.record_reply(result.intake_id, "none",
                                        "not a form, sent alongside one", self.clock())

    def _finish_container(self, job: Job, intake_id: int, envelope: Envelope) -> None:
        day = local_day(job.received_at).isoformat()
        copy = write_new_file(self.settings.archive / "emails",
                              f"{day}-{safe_file_name(job.name)}", job.data,
                              reuse_identical=True)
        with self.store.transaction():
            self.store.finish_intake(intake_id, outcome=IntakeOutcome.CONTAINER,
                                     archived_path=str(copy))
            self._flush_notes(intake_id)
            self.store.log("archive", "ok", f"email from {envelope.sender}: {copy}",
                           intake_id=intake_id)

    def _result_of(self, row: IntakeRow) -> list[FileResult]:
        """What a finished intake came to (an email: what each of its attachments came to)."""
        if row.outcome is IntakeOutcome.CONTAINER:
            return [r for child in self.store.children(row.id) for r in self._result_of(child)]
        outcome = {IntakeOutcome.ACCEPTED: Outcome.ACCEPTED, IntakeOutcome.DUPLICATE: Outcome.DUPLICATE,
                   }.get(row.outcome, Outcome.REJECTED)
        message = row.reason or ("Accepted" if outcome is Outcome.ACCEPTED else "")
        return [FileResult(row.source_path or row.original_name, outcome, None,
                           row.submission_id or row.duplicate_of, row.problems, message,
                           row.archived_path, row.report_path, sender=row.sender,
                           intake_id=row.id)]


@dataclass
class _Claim:
    """A file taken in hand: its short name in `.processing`, an open locked handle (other
    pipeline processes leave a locked file alone), its original name as text, first seen when."""

    path: Path
    handle: int
    original: str
    seen: datetime

    def close(self) -> None:
        if self.handle >= 0:
            os.close(self.handle)  # closing releases the lock
            self.handle = -1


def _open_regular(path: Path, shown: str) -> int:
    """Open `path` for reading without following a link; only a regular file. Raises
    UnsafeFile/UnreadableFile saying why, FileNotFoundError when it has gone."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(f"{shown} is a link to another file; links are never followed.") from None
        raise UnreadableFile(f"{shown} could not be opened by the pipeline's account "
                             f"({exc.strerror}).") from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise UnsafeFile(f"{shown} is not an ordinary file, so it was not taken.")
    return handle


def _lock_inbox_file(handle: int, path: Path, original: str) -> None:
    """Lock an inbox file opened at `path`, or raise _TakenElsewhere (handle closed) when
    another pipeline process has it, or took it (and perhaps a new file now has its name)
    between our opening and our lock."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        ours = os.fstat(handle)
        now = os.lstat(path)
        if ours.st_nlink and (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino):
            return
    except (BlockingIOError, FileNotFoundError):
        pass
    os.close(handle)
    raise _TakenElsewhere(original)


def _move_in(path: Path, target: Path, original: str) -> None:
    """Rename the inbox file into `.processing`; gone meanwhile (a worker on another computer
    sharing the inbox renamed it first): _TakenElsewhere."""
    try:
        os.replace(path, target)
    except FileNotFoundError:
        raise _TakenElsewhere(original) from None


def _read_all(handle: int) -> bytes:
    """The whole file, read from its handle (at most the size limit and a little more)."""
    chunks, offset = [], 0
    while offset <= MAX_FILE_BYTES and (chunk := os.pread(handle, 1 << 20, offset)):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _signature(handle: int) -> tuple[int, int]:
    info = os.fstat(handle)
    return info.st_size, info.st_mtime_ns


def text_name(name: str) -> str:
    """A file name of any bytes as text a person can read (bytes that are not UTF-8 shown as
    the replacement character)."""
    return os.fsencode(name).decode("utf-8", "replace")


def safe_file_name(name: str) -> str:
    """A short name to write a copy under, whatever the original was (any bytes, any length)."""
    return safe_name(text_name(name), "application/octet-stream")[:100]


def claim_name(name: str, seen: datetime) -> str:
    """The claimed copy's own short name: time, a random part, and the original's suffix."""
    suffix = "".join(ch for ch in Path(text_name(name)).suffix.lower() if ch.isalnum())[:8]
    stem = f"{seen.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:16]}"
    return f"{stem}.{suffix}" if suffix else stem


def _note_path(folder: Path, claimed: str) -> Path:
    return folder / f".name-{claimed}.json"


def _write_note(folder: Path, claimed: str, original: str, seen: datetime) -> None:
    """Beside each claimed file, its original name and when it was first seen (a crash keeps
    both for the restart)."""
    note = json.dumps({"name": original, "seen": utc_text(seen)}, ensure_ascii=False)
    _note_path(folder, claimed).write_text(note, encoding="utf-8")


def read_note(folder: Path, claimed: str) -> tuple[str, datetime | None] | None:
    try:
        note = json.loads(_note_path(folder, claimed).read_text(encoding="utf-8"))
        seen = datetime.fromisoformat(note["seen"].replace("Z", "+00:00"))
        return str(note["name"]), seen
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_note(folder: Path, claimed: str) -> None:
    _note_path(folder, claimed).unlink(missing_ok=True)


class _Invalid(RejectedFile):
    """Validation found problems: the reason is the full report, with the problems kept."""

    def __init__(self, reason: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(reason)
        self.problems = problems


class _TakenElsewhere(Exception):  # noqa: N818 (a signal, not a failure)
    """Another pipeline process has this inbox file in hand, or has taken it in already."""


class _Held(RejectedFile):
    """What was typed contradicts the copy's token: held for the clerk, both shown."""


class _EmailWithoutForm(UnreadableFile):
    """An email with nothing we can read attached: rejected, and the sender told."""

    def __init__(self, reason: str, sender: str | None) -> None:
        super().__init__(reason)
        self.sender = sender


def _no_form_reason(envelope: Envelope) -> str:
    names = ", ".join(a.name for a in envelope.attachments)
    found = f" (it had: {names})" if names else ""
    return (f"The email \u201c{envelope.subject or 'with no subject'}\u201d has no form attached"
            f"{found}. Please reply with the completed form attached ({ACCEPTED_KINDS}).")


def _partnership(definition: FormDefinition, values: dict[str, object]) -> str | None:
    found = _prefilled(definition, values, "partnership")
    return str(found) if isinstance(found, str) else None


def _prefilled(definition: FormDefinition, values: dict[str, object], key: str) -> object:
    """The answer in the field the pipeline pre-fills with `key`, as the member left it."""
    for f in definition.fields:
        if f.prefill == key and values.get(f.id) not in (None, ""):
            return values[f.id]
    return None


def record_key(definition: FormDefinition, values: dict[str, object]) -> str:
    """What makes two returns "the same return" (a later one supersedes): the definition's keys."""
    keys = definition.keys or tuple(f.id for f in definition.fields if f.prefill)
    parts = [_normal_key(values.get(k)) for k in keys]
    return json.dumps([definition.id, *parts], ensure_ascii=False)


def _normal_key(value: object) -> object:
    return " ".join(value.lower().split()) if isinstance(value, str) else value


def local_day(moment: datetime) -> date:
    """The day it was in England and Wales at `moment` (due dates are counted in local days)."""
    return moment.astimezone(LONDON).date()


def rejection_report(job: Job, reason: str) -> str:
    when = long_date(local_day(job.received_at))
    return (f"File: {job.name}\nReceived: {when}\n"
            + (f"From: {job.sender}\n" if job.sender else "")
            + f"\n{reason}\n\nThe file you sent has been kept; nothing has been lost.\n")


def iter_inbox(inbox: Path) -> Iterator[Path]:
    """Files waiting in the inbox (not hidden, not in progress), oldest first."""
    from pipeline.ingest.watcher import ignored

    files = [p for p in inbox.iterdir() if p.is_file() and not ignored(p, inbox)]
    yield from sorted(files, key=lambda p: p.stat().st_mtime)


def today(clock: Clock) -> date:
    return clock().date()
