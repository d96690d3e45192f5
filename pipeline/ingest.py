"""Ingesting returned files: one unit of work per file, as a list of named steps.

    claim -> preflight (hash, duplicate) -> identify + extract -> validate -> store -> archive

A file is first moved from `inbox/` into `inbox/.processing/` under a unique name (the claim),
so a crash at any moment leaves it where a restart finds it. The database commit is the point
of no return: a processing file whose intake is already finished is simply tidied away, so a
killed and restarted watcher stores every file exactly once. No file is deleted before a copy
is safely in `archive/` or `rejected/`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.config import Settings
from pipeline.definitions import FormDefinition, FormLibrary
from pipeline.errors import PipelineError, RejectedFile, UnreadableFile, UnsafeFile
from pipeline.generate import slug, write_new_file
from pipeline.mail import Envelope, is_email, read_email
from pipeline.messages import long_date
from pipeline.recognise import ACCEPTED_KINDS, ReadForm, looks_like_form, read_form
from pipeline.store import IntakeOutcome, IntakeRow, NewIntake, NewSubmission, Problem, Store
from pipeline.validation import Checked, check, describe
from pipeline.values import to_json_value

log = logging.getLogger("pipeline.ingest")
MAX_FILE_BYTES = 50 * 1024 * 1024
LONDON = ZoneInfo("Europe/London")
UNREADABLE = ("The file could not be read: it may be damaged, or made by a program that changed "
              "the form. Please fill in the form again in Word, LibreOffice or Excel and send it.")
PROCESSING = ".processing"
Clock = Callable[[], datetime]


class Outcome(StrEnum):
    """What happened to one returned form (one per attachment for an email)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"  # accepted, and it replaced an earlier return of the same thing


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
    received_at: datetime  # when the member sent it (the email's date) or it arrived
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())


class Ingest:
    """Runs the ingest steps for files against one home, one database and one form library."""

    def __init__(self, settings: Settings, library: FormLibrary, store: Store, *,
                 clock: Clock | None = None) -> None:
        self.settings, self.library, self.store = settings, library, store
        self.clock = clock or (lambda: datetime.now(UTC))
        self._notes: list[tuple[str, str, str]] = []
        settings.ensure_folders()
        self.processing.mkdir(parents=True, exist_ok=True)

    @property
    def processing(self) -> Path:
        return self.settings.inbox / PROCESSING

    # --- entry points ------------------------------------------------------------------------

    def ingest_path(self, path: Path, *, sender: str | None = None) -> list[FileResult]:
        """Ingest one file: from the inbox it is moved, from elsewhere it is copied."""
        claimed = self._claim(path)
        return self._process_claimed(claimed, original=path.name, source=str(path), sender=sender)

    def recover(self) -> list[FileResult]:
        """Finish files a stopped or killed run left half-done in `inbox/.processing/`."""
        results: list[FileResult] = []
        for claimed in sorted(self.processing.iterdir()):
            if claimed.is_file() and not claimed.name.startswith("."):
                original = claimed.name.split("--", 1)[-1]
                log.info("Finishing %s, left over from an interrupted run", original)
                try:
                    results += self._process_claimed(claimed, original=original,
                                                     source=str(claimed), sender=None)
                except PipelineError as exc:  # leave it for the next run; carry on with the rest
                    log.error("Could not finish %s yet: %s", original, exc)
        return results

    # --- claim ---------------------------------------------------------------------------------

    def _claim(self, path: Path) -> Path:
        if not path.is_file():
            raise UnreadableFile(f"There is no file at {path}.")
        stamp = self.clock().strftime("%Y%m%dT%H%M%S")
        target = self.processing / f"{stamp}-{uuid.uuid4().hex[:16]}--{path.name}"
        inside_inbox = path.resolve().parent == self.settings.inbox.resolve()
        try:
            if inside_inbox:
                os.replace(path, target)
            else:  # copied under a hidden name first: a copy cut short is never taken as a file
                partial = self.processing / f".copying-{target.name}"
                shutil.copy2(path, partial)
                os.replace(partial, target)
        except OSError as exc:
            raise PipelineError(f"Could not take {path.name} from {path.parent}: {exc.strerror}.") from exc
        return target

    def _process_claimed(self, claimed: Path, *, original: str, source: str,
                         sender: str | None) -> list[FileResult]:
        data = claimed.read_bytes()
        done = self.store.intake_by_name(claimed.name)
        if done is not None and done.finished and done.sha256 == hashlib.sha256(data).hexdigest():
            claimed.unlink(missing_ok=True)  # stored before a crash: only the tidy-up was left
            return self._result_of(done)
        arrived = datetime.fromtimestamp(claimed.stat().st_mtime, UTC)
        job = Job(original, data, claimed.name, source, sender, min(arrived, self.clock()))
        results = self._run(job, parent=None)
        claimed.unlink(missing_ok=True)
        return results

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
            return [self._store_and_archive(job, intake_id, read, checked)]
        except _Invalid as invalid:
            return [self._reject(job, intake_id, invalid.reason, invalid.problems, read)]
        except _EmailWithoutForm as empty:
            return [self._reject(replace(job, sender=empty.sender), intake_id, empty.reason, ())]
        except RejectedFile as rejection:
            return [self._reject(job, intake_id, rejection.reason, (), read)]
        except PipelineError:
            raise  # the pipeline itself failed (database, disk): the file stays to be retried
        except Exception:  # an odd file met a reader's blind spot: never leave it stuck
            log.exception("Unexpected error reading %s; rejecting it, file kept", job.name)
            return [self._reject(job, intake_id, UNREADABLE, (), read)]

    def _start_intake(self, job: Job, parent: int | None) -> int:
        existing = self.store.intake_by_name(job.intake_name)
        if existing is not None:
            return existing.id
        return self.store.add_intake(NewIntake(
            intake_name=job.intake_name, original_name=job.name, source_path=job.source_path,
            sha256=job.sha256, size=len(job.data), sender=job.sender, sent_at=None,
            received_at=job.received_at, parent_intake_id=parent))

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

    def _store_and_archive(self, job: Job, intake_id: int, read: ReadForm,
                           checked: Checked) -> FileResult:
        definition = read.definition
        values = {k: to_json_value(v) for k, v in checked.values.items()}
        partnership = _partnership(definition, values) or (read.identity and read.identity.partnership)
        archived = self._archive(job, definition, partnership)
        new = NewSubmission(
            form_id=definition.id, form_version=definition.version, form_hash=definition.hash,
            token=read.identity.token if read.identity else None, partnership=partnership,
            record_key=record_key(definition, values), sha256=job.sha256, sender=job.sender,
            received_at=job.received_at, late=checked.late, due_date=checked.due_date,
            marking=definition.marking, values=values)
        with self.store.transaction():
            submission_id, superseded = self.store.add_submission(new, intake_id)
            self.store.finish_intake(intake_id, outcome=IntakeOutcome.ACCEPTED,
                                     archived_path=str(archived), submission_id=submission_id)
            self._flush_notes(intake_id)
            self.store.log("store", "accepted", f"submission {submission_id}"
                           + (f", supersedes {superseded}" if superseded else ""),
                           intake_id=intake_id, submission_id=submission_id)
        outcome = Outcome.SUPERSEDED if superseded else Outcome.ACCEPTED
        message = f"Accepted {definition.title}" + (" (late)" if checked.late else "")
        if read.stray:  # never dropped silently: the clerk sees what could not be placed
            quoted = "; ".join(f"\u201c{text}\u201d" for text in read.stray)
            message += f"; please look at text typed outside the answer boxes: {quoted}"
        stored = self.store.submission_by_sha256(job.sha256)
        if stored is not None and stored.status == "superseded":
            message += ("; a later return for the same meeting was already held, so this one is "
                        "kept in the history")
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
        copy = write_new_file(self.settings.archive / "duplicates", f"{day}-{job.name}", job.data,
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
        kept = write_new_file(self.settings.rejected, f"{day}-{job.name}", job.data,
                              reuse_identical=True)
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
        sent = envelope.sent_at or job.received_at
        self.store.set_sender(intake_id, sender, envelope.sent_at)
        self._flush_notes(intake_id)  # the email's own notes, before its attachments'
        forms = [a for a in envelope.attachments if looks_like_form(a.name) or a.data[:5] == b"%PDF-"]
        if not forms:
            raise _EmailWithoutForm(_no_form_reason(envelope), sender)
        results: list[FileResult] = []
        for index, attachment in enumerate(forms, 1):
            child = Job(attachment.name, attachment.data, f"{job.intake_name}#{index}",
                        f"{job.source_path}#{attachment.name}", sender, sent)
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
        copy = write_new_file(self.settings.archive / "emails", f"{day}-{job.name}", job.data,
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


class _Invalid(RejectedFile):
    """Validation found problems: the reason is the full report, with the problems kept."""

    def __init__(self, reason: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(reason)
        self.problems = problems


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
    for f in definition.fields:
        if f.prefill == "partnership" and isinstance(values.get(f.id), str):
            return str(values[f.id])
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
    from pipeline.watcher import ignored

    files = [p for p in inbox.iterdir() if p.is_file() and not ignored(p, inbox)]
    yield from sorted(files, key=lambda p: p.stat().st_mtime)


def today(clock: Clock) -> date:
    return clock().date()
