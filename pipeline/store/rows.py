"""The store's rows: what goes in and what comes out, as frozen dataclasses.

Timestamps are ISO 8601 UTC strings to the second, `YYYY-MM-DDTHH:MM:SSZ`; dates `YYYY-MM-DD`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

Cell: TypeAlias = str | int | float | None
JsonValue: TypeAlias = str | int | float | list[str] | list[dict[str, Cell]] | None
JsonValues: TypeAlias = dict[str, JsonValue]

SINGLE = -1  # row_index of a field that is not a table; item of a value that is not a list


class IntakeOutcome(StrEnum):
    """What became of a file taken from the inbox. PROCESSING until `finish_intake`."""

    PROCESSING = "processing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    CONTAINER = "container"  # an email whose attachments are intakes of their own


class AlreadyStored(Exception):  # noqa: N818 (a signal, not a failure)
    """These exact bytes are already a stored return (found inside the storing transaction)."""

    def __init__(self, submission_id: int) -> None:
        super().__init__(f"already stored as submission {submission_id}")
        self.submission_id = submission_id


@dataclass(frozen=True)
class IssuedToken:
    """A personal copy the pipeline made: who it was for, and (when emailed) where it went."""

    token: str
    form_id: str
    form_version: int | None
    partnership: str | None
    member: str | None
    meeting_date: str | None
    sent_to: str | None
    issued_by: str
    issued_at: str


@dataclass(frozen=True)
class HeldReturn:
    """A return held for the clerk (its typed identity contradicts its copy's), not yet decided."""

    intake_id: int
    original_name: str
    reason: str
    held_at: str
    sender: str | None
    received_at: str
    kept_at: str | None


@dataclass(frozen=True)
class FlaggedIntake:
    """A file taken in with something odd about it (an email dated in the future)."""

    intake_id: int
    original_name: str
    sender: str | None
    sent_at: str | None
    received_at: str
    outcome: str


@dataclass(frozen=True)
class QuarantinedFile:
    id: int
    original_name: str
    kept_at: str | None
    reason: str
    at: str


class SubmissionStatus(StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"


# --- inputs and outputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class UnmatchedReturn:
    """A current return whose partnership is not on the register (nor matched by the clerk)."""

    submission_id: int
    form_id: str
    partnership: str | None  # the name as the member typed it
    received_at: str


@dataclass(frozen=True)
class WrittenPaper:
    """A committee paper written for a meeting: its files and the manifest the agenda pack reads."""

    kind: str
    committee: str
    meeting_date: date
    paths: tuple[Path, ...]
    manifest: Path | None
    written_at: datetime


@dataclass(frozen=True)
class NewIntake:
    """A file the ingest has started on; `intake_name` is the unique name it gave the file."""

    intake_name: str
    original_name: str
    source_path: str | None
    sha256: str
    size: int | None
    sender: str | None
    sent_at: datetime | None
    received_at: datetime
    parent_intake_id: int | None = None
    flags: tuple[str, ...] = ()  # what was odd about it (see `set_flags`)


class Problem(NamedTuple):
    """One thing wrong with a rejected file, as the sender is told it."""

    field_id: str | None
    label: str | None
    message: str


@dataclass(frozen=True)
class IntakeRow:
    id: int
    intake_name: str
    original_name: str
    source_path: str | None
    sha256: str
    size: int | None
    sender: str | None
    sent_at: str | None
    received_at: str
    parent_intake_id: int | None
    outcome: IntakeOutcome
    reason: str | None
    archived_path: str | None
    report_path: str | None
    submission_id: int | None
    duplicate_of: int | None
    flags: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def finished(self) -> bool:
        """False while the ingest is still (or was, when it crashed) working on the file."""
        return self.outcome is not IntakeOutcome.PROCESSING


@dataclass(frozen=True)
class NewSubmission:
    """An accepted return; `record_key` says which return it is (same key = a resubmission)."""

    form_id: str
    form_version: int
    form_hash: str | None
    token: str | None
    partnership: str | None
    record_key: str
    sha256: str
    sender: str | None
    received_at: datetime
    late: bool
    due_date: date | None
    marking: str | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    intake_id: int | None
    form_id: str
    form_version: int
    form_hash: str | None
    token: str | None
    partnership: str | None
    record_key: str
    sha256: str
    sender: str | None
    received_at: str
    late: bool
    due_date: str | None
    status: SubmissionStatus
    superseded_by: int | None
    marking: str | None
    created_at: str
    partnership_id: int | None = None  # the clerk's match to the register (`pipeline match`)


@dataclass(frozen=True)
class Record:
    """One submission with its answers, for papers, exports and `pipeline records`."""

    submission_id: int
    form_id: str
    form_version: int
    received_at: str
    sender: str | None
    late: bool
    token: str | None
    partnership: str | None
    record_key: str
    due_date: str | None
    status: SubmissionStatus
    superseded_by: int | None
    marking: str | None
    values: JsonValues


@dataclass(frozen=True)
class EventRow:
    id: int
    at: str
    intake_id: int | None
    submission_id: int | None
    step: str
    outcome: str
    detail: str | None
    by_user: str | None = None  # who did it, for actions taken in the web console


@dataclass(frozen=True)
class User:
    """Someone who may sign in to the web console: a clerk acts, a viewer only looks."""

    id: int
    name: str
    role: str
    password_hash: str
    created_at: str
    password_changed_at: str


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: whose it is, its form token, and when it was last used."""

    user: User
    csrf: str
    created_at: str
    last_seen: str


@dataclass(frozen=True)
class NewMail:
    """A message fetched from the mailbox and saved whole, before it is read."""

    sha256: str
    message_id: str | None
    folder: str
    sender: str | None
    subject: str
    refs: str | None
    saved_path: str
    fetched_at: datetime


@dataclass(frozen=True)
class MailRow:
    id: int
    sha256: str
    message_id: str | None
    folder: str
    sender: str | None
    subject: str | None
    refs: str | None
    saved_path: str
    intake_name: str | None
    kind: str | None
    reason: str | None
    state: str
    fetched_at: str
    stored_at: str | None
    moved_at: str | None
    moved_to: str | None


@dataclass(frozen=True)
class MailPass:
    at: str
    ok: bool
    detail: str



# --- forms sent and what came back (the scheduler's "expected returns") ----------------------------


@dataclass(frozen=True)
class NewSentForm:
    """A personal form the scheduler emailed, keyed by the token inside the file."""

    token: str
    form_id: str
    form_version: int | None
    partnership_id: int | None
    recipient_name: str | None
    recipient_email: str
    meeting_date: date | None
    due_date: date | None
    purpose: str
    sent_at: datetime
    message_path: str | None


@dataclass(frozen=True)
class SentForm:
    id: int
    token: str
    form_id: str
    partnership_id: int | None
    partnership: str | None
    recipient_name: str | None
    recipient_email: str
    meeting_date: date | None
    due_date: date | None
    purpose: str
    sent_at: str
    chased_at: str | None
    chase_count: int
    returned_submission_id: int | None

    def overdue(self, today: date) -> bool:
        return self.returned_submission_id is None and self.due_date is not None and today > self.due_date


@dataclass(frozen=True)
class StatusRow:
    """One partnership and form: how many sent, returned, late, missing."""

    partnership: str
    form_id: str
    sent: int
    returned: int
    late: int
    missing: int
    chased: int

    def to_json(self) -> dict[str, object]:
        return {"partnership": self.partnership, "form": self.form_id, "sent": self.sent,
                "returned": self.returned, "late": self.late, "missing": self.missing,
                "chased": self.chased}


# --- replies the scheduler owes ------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyDue:
    """A finished file whose sender has not been answered yet (receipt or what-to-fix)."""

    intake: IntakeRow
    parent_flags: str | None  # the flags of the email it came in, for an attachment
    partnership: str | None  # the partnership its return names, when it was stored
    form_id: str | None
    late: bool


# --- the register and the committee calendar -------------------------------------------------------


@dataclass(frozen=True)
class PartnershipRow:
    """A partnership as the register stores it (`pipeline.schedule.register.Partnership` reads it)."""

    id: int
    name: str
    type: str
    area: str | None
    representative: str | None
    representative_email: str | None
    lead_officer: str | None
    lead_officer_email: str | None
    risk_money: bool
    risk_resources: bool
    risk_targets: bool
    risk_property_staff: bool
    risk_contracts: bool
    notes: str | None
    updated_at: str


@dataclass(frozen=True)
class PartnershipMeetingRow:
    partnership: str
    meeting_date: date
    title: str | None
    place: str | None
    partnership_id: int


@dataclass(frozen=True)
class CommitteeRow:
    name: str
    papers: tuple[str, ...]


@dataclass(frozen=True)
class CommitteeMeetingRow:
    committee: str
    papers: tuple[str, ...]
    meeting_date: date
    title: str | None


@dataclass(frozen=True)
class FoundMeeting:
    """A committee meeting read from a calendar or committees.yaml, to be stored."""

    date: date
    title: str | None
    uid: str | None


class PackWritten(NamedTuple):
    """An agenda pack built for a meeting (a tuple: `committee, day, paths = pack` works)."""

    committee: str
    meeting_date: date
    paths: tuple[Path, ...]
