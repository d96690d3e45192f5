"""The pipeline's SQLite database: intakes (files taken in), submissions, answers and events.

One `Store` holds one connection and belongs to one thread (sqlite3's own rule); each process
(the watcher, a `pipeline records` run) opens its own. WAL journalling lets readers and one
writer work side by side; `busy_timeout` makes a second writer wait instead of failing.

Values go in and come out in the JSON-friendly shape (`pipeline.core.values.to_json_value`; a `date`
is accepted and kept as its `YYYY-MM-DD` text). Each answer is one row of `answers`, its value
kept with SQLite's own type (text, integer, real), so `3`, `3.0` and `"3"` come back exactly as
they went in and `SELECT ... WHERE field_id = ? AND value = ?` works for counting answers.
What is not kept, and so comes back absent from a record's values:
- a value that is None, "" or [];
- a table's blank rows (every cell None or blank): the rows kept are renumbered 0, 1, 2...;
- a None cell in a row that is kept: it comes back None for every column the table has in some
  stored row, and is absent only when the column is empty in every row.
Timestamps are ISO 8601 UTC strings to the second, `YYYY-MM-DDTHH:MM:SSZ` (naive = UTC).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Self, TypeAlias

from pipeline.core.errors import StoreError
from pipeline.core.values import is_empty

Cell: TypeAlias = str | int | float | None
JsonValue: TypeAlias = str | int | float | list[str] | list[dict[str, Cell]] | None
JsonValues: TypeAlias = dict[str, JsonValue]

SINGLE = -1  # row_index of a field that is not a table; item of a value that is not a list

MIGRATIONS: list[str] = [
    """
    CREATE TABLE intakes (
        id               INTEGER PRIMARY KEY,
        intake_name      TEXT NOT NULL UNIQUE,
        original_name    TEXT NOT NULL,
        source_path      TEXT,
        sha256           TEXT NOT NULL,
        size             INTEGER,
        sender           TEXT,
        sent_at          TEXT,
        received_at      TEXT NOT NULL,
        parent_intake_id INTEGER REFERENCES intakes (id),
        outcome          TEXT NOT NULL DEFAULT 'processing' CHECK (outcome IN
                         ('processing', 'accepted', 'rejected', 'duplicate', 'container')),
        reason           TEXT,
        archived_path    TEXT,
        report_path      TEXT,
        submission_id    INTEGER REFERENCES submissions (id),
        duplicate_of     INTEGER REFERENCES submissions (id)
    );
    CREATE INDEX intakes_outcome ON intakes (outcome);
    CREATE INDEX intakes_parent ON intakes (parent_intake_id);
    CREATE INDEX intakes_sha256 ON intakes (sha256);

    CREATE TABLE submissions (
        id            INTEGER PRIMARY KEY,
        intake_id     INTEGER REFERENCES intakes (id),
        form_id       TEXT NOT NULL,
        form_version  INTEGER NOT NULL,
        form_hash     TEXT,
        token         TEXT,
        partnership   TEXT,
        record_key    TEXT NOT NULL,
        sha256        TEXT NOT NULL,
        sender        TEXT,
        received_at   TEXT NOT NULL,
        late          INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
        due_date      TEXT,
        status        TEXT NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'superseded')),
        superseded_by INTEGER REFERENCES submissions (id),
        marking       TEXT,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX submissions_form_status ON submissions (form_id, status);
    CREATE INDEX submissions_form_key ON submissions (form_id, record_key);
    CREATE UNIQUE INDEX submissions_one_current ON submissions (form_id, record_key)
        WHERE status = 'current';
    CREATE INDEX submissions_sha256 ON submissions (sha256);
    CREATE INDEX submissions_token ON submissions (token);
    CREATE INDEX submissions_intake ON submissions (intake_id);

    CREATE TABLE answers (
        submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
        field_id      TEXT NOT NULL,
        row_index     INTEGER NOT NULL DEFAULT -1,
        column_id     TEXT NOT NULL DEFAULT '',
        item          INTEGER NOT NULL DEFAULT -1,
        value         NOT NULL,  -- no type: text, integer and real each kept as given
        PRIMARY KEY (submission_id, field_id, row_index, column_id, item)
    ) WITHOUT ROWID;
    CREATE INDEX answers_field_value ON answers (field_id, value);

    CREATE TABLE problems (
        id        INTEGER PRIMARY KEY,
        intake_id INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
        field_id  TEXT,
        label     TEXT,
        message   TEXT NOT NULL
    );
    CREATE INDEX problems_intake ON problems (intake_id);

    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        at            TEXT NOT NULL,
        intake_id     INTEGER REFERENCES intakes (id),
        submission_id INTEGER REFERENCES submissions (id),
        step          TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        detail        TEXT
    );
    CREATE INDEX events_intake ON events (intake_id);
    """,
    """
    -- 2: the partnership register, the committee calendar, and what the scheduler sent and wrote
    CREATE TABLE partnerships (
        id                   INTEGER PRIMARY KEY,
        name                 TEXT NOT NULL UNIQUE COLLATE NOCASE,
        type                 TEXT NOT NULL,
        area                 TEXT,
        representative       TEXT,
        representative_email TEXT,
        lead_officer         TEXT,
        lead_officer_email   TEXT,
        risk_money           INTEGER NOT NULL DEFAULT 0 CHECK (risk_money IN (0, 1)),
        risk_resources       INTEGER NOT NULL DEFAULT 0 CHECK (risk_resources IN (0, 1)),
        risk_targets         INTEGER NOT NULL DEFAULT 0 CHECK (risk_targets IN (0, 1)),
        risk_property_staff  INTEGER NOT NULL DEFAULT 0 CHECK (risk_property_staff IN (0, 1)),
        risk_contracts       INTEGER NOT NULL DEFAULT 0 CHECK (risk_contracts IN (0, 1)),
        notes                TEXT,
        updated_at           TEXT NOT NULL
    );

    CREATE TABLE partnership_meetings (
        id             INTEGER PRIMARY KEY,
        partnership_id INTEGER NOT NULL REFERENCES partnerships (id),
        meeting_date   TEXT NOT NULL,
        title          TEXT,
        place          TEXT,
        UNIQUE (partnership_id, meeting_date)
    );
    CREATE INDEX partnership_meetings_date ON partnership_meetings (meeting_date);

    CREATE TABLE committees (
        id     INTEGER PRIMARY KEY,
        name   TEXT NOT NULL UNIQUE COLLATE NOCASE,
        papers TEXT NOT NULL DEFAULT '[]'  -- JSON list of paper kinds
    );

    CREATE TABLE committee_meetings (
        id           INTEGER PRIMARY KEY,
        committee_id INTEGER NOT NULL REFERENCES committees (id),
        meeting_date TEXT NOT NULL,
        title        TEXT,
        uid          TEXT,  -- the calendar event's UID (#date for one of a repeating series)
        source       TEXT,  -- 'yaml' or 'ics'
        UNIQUE (committee_id, meeting_date)
    );
    CREATE INDEX committee_meetings_date ON committee_meetings (meeting_date);
    CREATE INDEX committee_meetings_uid ON committee_meetings (committee_id, uid);

    CREATE TABLE sent_forms (
        id                     INTEGER PRIMARY KEY,
        token                  TEXT NOT NULL UNIQUE,
        form_id                TEXT NOT NULL,
        form_version           INTEGER,
        partnership_id         INTEGER REFERENCES partnerships (id),
        recipient_name         TEXT,
        recipient_email        TEXT NOT NULL,
        meeting_date           TEXT,
        due_date               TEXT,
        purpose                TEXT NOT NULL CHECK (purpose IN ('monitoring', 'checklist', 'survey')),
        sent_at                TEXT NOT NULL,
        message_path           TEXT,
        chased_at              TEXT,
        chase_count            INTEGER NOT NULL DEFAULT 0,
        returned_submission_id INTEGER REFERENCES submissions (id)
    );
    CREATE INDEX sent_forms_partnership ON sent_forms (partnership_id, purpose);

    CREATE TABLE papers_written (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,
        committee    TEXT NOT NULL,
        meeting_date TEXT NOT NULL,
        written_at   TEXT NOT NULL,
        paths        TEXT NOT NULL DEFAULT '[]',  -- JSON list of the files written
        UNIQUE (kind, committee, meeting_date)
    );

    CREATE TABLE packs_written (
        id           INTEGER PRIMARY KEY,
        committee    TEXT NOT NULL,
        meeting_date TEXT NOT NULL,
        written_at   TEXT NOT NULL,
        paths        TEXT NOT NULL DEFAULT '[]',  -- JSON list of the files written
        UNIQUE (committee, meeting_date)
    );
    """,
    """
    -- 3: replies sent to members about their returns (receipts and what-to-fix), once each
    CREATE TABLE replies (
        intake_id INTEGER PRIMARY KEY REFERENCES intakes (id),
        kind      TEXT NOT NULL,
        sent_at   TEXT NOT NULL,
        detail    TEXT
    );
    """,
    """
    -- 4: which register partnership each return is from; papers recorded with their manifest
    ALTER TABLE submissions ADD COLUMN partnership_id INTEGER REFERENCES partnerships (id);
    ALTER TABLE papers_written ADD COLUMN manifest TEXT;
    -- A return's partnership: the clerk's match, else the form sent (its token), else the
    -- register entry of the name the member typed; NULL when none: "not matched".
    CREATE VIEW submission_partnerships AS
    SELECT s.id AS submission_id,
           COALESCE(s.partnership_id,
                    (SELECT f.partnership_id FROM sent_forms f
                      WHERE s.token IS NOT NULL AND f.token = s.token),
                    (SELECT p.id FROM partnerships p WHERE p.name = TRIM(s.partnership)))
             AS partnership_id
      FROM submissions s;
    """,
    """
    -- 5: the trust boundary: every token issued, each stored file's bytes once, returns held
    -- for the clerk, files set aside, tick actions that keep failing, and per-file flags
    CREATE TABLE issued_tokens (
        token        TEXT PRIMARY KEY,
        form_id      TEXT NOT NULL,
        form_version INTEGER,
        partnership  TEXT,
        member       TEXT,
        meeting_date TEXT,
        sent_to      TEXT,
        issued_by    TEXT NOT NULL,
        issued_at    TEXT NOT NULL
    );
    INSERT OR IGNORE INTO issued_tokens (token, form_id, form_version, partnership, member,
        meeting_date, sent_to, issued_by, issued_at)
        SELECT s.token, s.form_id, s.form_version, p.name, s.recipient_name, s.meeting_date,
               s.recipient_email, 'scheduler', s.sent_at
        FROM sent_forms s LEFT JOIN partnerships p ON p.id = s.partnership_id;
    CREATE TABLE stored_files (
        sha256        TEXT PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions (id)
    );
    INSERT OR IGNORE INTO stored_files (sha256, submission_id)
        SELECT sha256, MIN(id) FROM submissions GROUP BY sha256;
    CREATE TABLE holds (
        intake_id INTEGER PRIMARY KEY REFERENCES intakes (id),
        reason    TEXT NOT NULL,
        at        TEXT NOT NULL
    );
    CREATE TABLE quarantine (
        id            INTEGER PRIMARY KEY,
        original_name TEXT NOT NULL,
        kept_at       TEXT,
        reason        TEXT NOT NULL,
        at            TEXT NOT NULL
    );
    CREATE TABLE action_failures (
        action     TEXT PRIMARY KEY,
        attempts   INTEGER NOT NULL,
        last_error TEXT,
        given_up   INTEGER NOT NULL DEFAULT 0,
        at         TEXT NOT NULL
    );
    ALTER TABLE intakes ADD COLUMN flags TEXT;
    """,
    """
    -- 6: the web console: its users, their sessions, failed sign-ins, rejections dealt with;
    -- and who did what, for the event log
    CREATE TABLE users (
        id                  INTEGER PRIMARY KEY,
        name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role                TEXT NOT NULL CHECK (role IN ('clerk', 'viewer')),
        password_hash       TEXT NOT NULL,  -- argon2id, never the password itself
        created_at          TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    );
    CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,  -- sha256 of the cookie's value: a stolen database signs no one in
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    );
    CREATE TABLE sign_in_failures (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL COLLATE NOCASE,
        address TEXT,
        at      TEXT NOT NULL
    );
    CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
    CREATE TABLE intakes_dealt_with (
        intake_id INTEGER PRIMARY KEY REFERENCES intakes (id),
        how       TEXT NOT NULL CHECK (how IN ('dismissed', 're-ingested')),
        reason    TEXT,
        by_user   TEXT NOT NULL,
        at        TEXT NOT NULL
    );
    ALTER TABLE events ADD COLUMN by_user TEXT;
    """,
    """
    -- 7: the mailbox ledger (issue 16). One row per distinct message fetched (by the hash of its
    -- raw bytes); the Message-ID finds the same message delivered again with other headers.
    CREATE TABLE mail_messages (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL UNIQUE,
        message_id  TEXT,
        folder      TEXT NOT NULL,
        sender      TEXT,
        subject     TEXT,
        refs        TEXT,            -- its References header, for threading replies
        saved_path  TEXT NOT NULL,   -- the whole message as fetched, in mailbox/
        intake_name TEXT,            -- the ingest's name for it, when it is a return
        kind        TEXT CHECK (kind IN ('return', 'not_form', 'auto_reply', 'same_again')),
        reason      TEXT,
        state       TEXT NOT NULL DEFAULT 'saved' CHECK (state IN ('saved', 'stored', 'moved')),
        fetched_at  TEXT NOT NULL,
        stored_at   TEXT,
        moved_at    TEXT,
        moved_to    TEXT
    );
    CREATE INDEX mail_messages_message_id ON mail_messages (message_id);
    CREATE INDEX mail_messages_intake ON mail_messages (intake_name);
    CREATE TABLE mail_passes (
        id     INTEGER PRIMARY KEY,
        at     TEXT NOT NULL,
        ok     INTEGER NOT NULL CHECK (ok IN (0, 1)),
        detail TEXT NOT NULL
    );
    """,
]


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


# begin, commit, then the statements that undo: a transaction, and one inside another
_OUTER = ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
_NESTED = ("SAVEPOINT nested", "RELEASE nested", "ROLLBACK TO nested", "RELEASE nested")


# --- the store ---------------------------------------------------------------------------------


class Store:
    """The pipeline database. Open with `Store.open(path)`; use from one thread only."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Self:
        """Open (creating if need be) the database at `path` and bring its tables up to date."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"The database at {path} could not be opened: {_plain(exc)}") from exc
        store = cls(connection, path)
        try:
            with store._guard("be opened"):
                _configure(connection)
                _migrate(store)
        except StoreError:
            connection.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def copy_to(self, path: Path) -> None:
        """A consistent copy of the whole database at `path` (SQLite's online backup)."""
        try:
            with sqlite3.connect(path) as target:
                self._db.backup(target)
            target.close()
        except sqlite3.Error as exc:
            raise StoreError(f"The database could not be copied to {path}: {_plain(exc)}") from exc

    def schema(self) -> tuple[int, int]:
        """(migrations run on this database, migrations this version of the pipeline knows)."""
        return _user_version(self), len(MIGRATIONS)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception.

        Inside another transaction it is a savepoint: an exception undoes only its own part,
        and nothing is saved until the outermost transaction commits.
        """
        begin, commit, *undo = _OUTER if not self._db.in_transaction else _NESTED
        with self._guard("start a change"):
            self._db.execute(begin)
        try:
            yield
            with self._guard("save a change"):
                self._db.execute(commit)
        except BaseException:
            if self._db.in_transaction:
                for statement in undo:
                    self._db.execute(statement)
            raise

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn sqlite3's errors into a StoreError the clerk can read."""
        try:
            yield
        except sqlite3.Error as exc:
            message = f"The database at {self.path} could not {doing}: {_plain(exc)}"
            raise StoreError(message) from exc

    @contextmanager
    def _writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._guard(doing), self.transaction():
            yield self._db

    @contextmanager
    def _reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        """Several SELECTs that see one snapshot, though another process writes in between."""
        with self._guard(doing):
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN DEFERRED")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    # --- intakes -------------------------------------------------------------------------------

    def add_intake(self, intake: NewIntake) -> int:
        """Record that the ingest has started on a file; returns the intake id."""
        with self._writing(f"record the file {intake.original_name}") as db:
            cursor = db.execute(
                "INSERT INTO intakes (intake_name, original_name, source_path, sha256, size,"
                " sender, sent_at, received_at, parent_intake_id) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    intake.intake_name,
                    intake.original_name,
                    intake.source_path,
                    intake.sha256,
                    intake.size,
                    intake.sender,
                    _utc_or_none(intake.sent_at),
                    utc_text(intake.received_at),
                    intake.parent_intake_id,
                ),
            )
        return _row_id(cursor)

    def record_reply(self, intake_id: int, kind: str, detail: str, at: datetime) -> None:
        """Note that the sender of this intake was answered (or needs no answer): once each."""
        with self._writing("record a reply"):
            self._db.execute("INSERT OR IGNORE INTO replies (intake_id, kind, sent_at, detail)"
                             " VALUES (?, ?, ?, ?)", (intake_id, kind, utc_text(at), detail))

    def children(self, intake_id: int) -> list[IntakeRow]:
        """The attachments taken from an email's intake, in order."""
        return self._intakes("WHERE parent_intake_id = ? ORDER BY id", (intake_id,))

    def set_sender(self, intake_id: int, sender: str | None, sent_at: datetime | None) -> None:
        """Record who sent a file once it is known (an email's From, read after it was taken)."""
        with self._writing("record the sender"):
            self._db.execute("UPDATE intakes SET sender = ?, sent_at = ? WHERE id = ?",
                             (sender, _utc_or_none(sent_at), intake_id))

    def finish_intake(
        self,
        intake_id: int,
        *,
        outcome: IntakeOutcome | str,
        reason: str | None = None,
        archived_path: str | None = None,
        report_path: str | None = None,
        submission_id: int | None = None,
        duplicate_of: int | None = None,
        problems: Iterable[tuple[str | None, str | None, str]] = (),
    ) -> None:
        """Record what became of an intake, replacing any problems recorded before."""
        outcome = IntakeOutcome(outcome)
        with self._writing("record what became of a file") as db:
            cursor = db.execute(
                "UPDATE intakes SET outcome=?, reason=?, archived_path=?, report_path=?,"
                " submission_id=?, duplicate_of=? WHERE id=?",
                (outcome.value, reason, archived_path, report_path, submission_id, duplicate_of, intake_id),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"The database has no file taken in with number {intake_id}.")
            db.execute("DELETE FROM problems WHERE intake_id=?", (intake_id,))
            db.executemany(
                "INSERT INTO problems (intake_id, field_id, label, message) VALUES (?,?,?,?)",
                [(intake_id, *Problem(*problem)) for problem in problems],
            )

    def intake_by_name(self, intake_name: str) -> IntakeRow | None:
        """The intake the ingest named `intake_name` (finished or not), or None."""
        found = self._intakes("WHERE intake_name = ?", (intake_name,))
        return found[0] if found else None

    def intakes(self, limit: int = 50, outcome: IntakeOutcome | str | None = None) -> list[IntakeRow]:
        """The latest intakes, newest first, each with its problems."""
        if outcome is None:
            return self._intakes("ORDER BY id DESC LIMIT ?", (limit,))
        return self._intakes(
            "WHERE outcome = ? ORDER BY id DESC LIMIT ?", (IntakeOutcome(outcome).value, limit)
        )

    def _intakes(self, where: str, params: tuple[object, ...]) -> list[IntakeRow]:
        with self._reading("read the files taken in") as db:
            rows = db.execute(f"SELECT * FROM intakes {where}", params).fetchall()
            problems = db.execute(
                "SELECT intake_id, field_id, label, message FROM problems WHERE intake_id IN"
                f" (SELECT id FROM intakes {where}) ORDER BY id",
                params,
            ).fetchall()
        by_intake: dict[int, list[Problem]] = {}
        for intake_id, *problem in problems:
            by_intake.setdefault(intake_id, []).append(Problem(*problem))
        return [_intake_row(row, by_intake.get(row["id"], ())) for row in rows]

    # --- submissions ---------------------------------------------------------------------------

    def submission_by_sha256(self, sha256: str) -> SubmissionRow | None:
        """The first submission stored with exactly these bytes (any status), or None."""
        with self._guard("look for an earlier copy"):
            row = self._db.execute(
                "SELECT * FROM submissions WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,)
            ).fetchone()
        return None if row is None else _submission_row(row)

    def add_submission(self, new: NewSubmission, intake_id: int) -> tuple[int, list[int]]:
        """Store `new` as the current return for its key; returns (its id, ids it superseded).

        The later return (by `received_at`) is the current one: a return older than the current one
        (emails saved into the inbox out of order) goes straight into the history, superseded.
        """
        answers = _encode_values(new.values)
        with self._writing(f"store a return of form {new.form_id}") as db:
            # The duplicate check is inside the write lock, backed by stored_files' key: any
            # number of simultaneous ingests of one file store it once.
            earlier = db.execute("SELECT submission_id FROM stored_files WHERE sha256 = ?",
                                 (new.sha256,)).fetchone()
            if earlier is not None:
                raise AlreadyStored(int(earlier[0]))
            current = db.execute(
                "SELECT id, received_at FROM submissions"
                " WHERE form_id=? AND record_key=? AND status='current'",
                (new.form_id, new.record_key),
            ).fetchall()
            newer = [row[0] for row in current if row[1] > utc_text(new.received_at)]
            superseded = [] if newer else [row[0] for row in current]
            _set_status(db, superseded, SubmissionStatus.SUPERSEDED)
            status = SubmissionStatus.SUPERSEDED if newer else SubmissionStatus.CURRENT
            submission_id = _insert_submission(db, new, intake_id, status)
            if newer:
                db.execute("UPDATE submissions SET superseded_by=? WHERE id=?", (newer[0], submission_id))
            db.execute("INSERT INTO stored_files (sha256, submission_id) VALUES (?, ?)",
                       (new.sha256, submission_id))
            db.executemany(
                "INSERT INTO answers (submission_id, field_id, row_index, column_id, item, value)"
                " VALUES (?,?,?,?,?,?)",
                [(submission_id, *answer) for answer in answers],
            )
            db.executemany(
                "UPDATE submissions SET superseded_by=? WHERE id=?",
                [(submission_id, old) for old in superseded],
            )
        return submission_id, superseded

    # --- the trust boundary: tokens, holds, quarantine, failing actions --------------------------

    def record_token(self, token: str, *, form_id: str, form_version: int | None,
                     partnership: str | None, member: str | None, meeting_date: date | None,
                     sent_to: str | None, issued_by: str, at: datetime) -> None:
        """Remember a personal copy's token when it is made (kept if it was recorded before)."""
        with self._writing("record a personal copy of a form") as db:
            db.execute(
                "INSERT INTO issued_tokens (token, form_id, form_version, partnership, member,"
                " meeting_date, sent_to, issued_by, issued_at) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (token) DO UPDATE SET sent_to = COALESCE(excluded.sent_to, sent_to)",
                (token, form_id, form_version, partnership, member,
                 meeting_date.isoformat() if meeting_date else None, sent_to, issued_by,
                 utc_text(at)))

    def issued_token(self, token: str) -> IssuedToken | None:
        with self._guard("look up a form's reference"):
            row = self._db.execute("SELECT * FROM issued_tokens WHERE token = ?", (token,)).fetchone()
        return None if row is None else IssuedToken(**dict(row))

    def known_addresses(self, partnership: str | None = None) -> set[str]:
        """Addresses the pipeline has reason to write to: the register's representatives and
        leads, and wherever it sent a personal copy (for one partnership, or for any)."""
        where, args = ("WHERE name = ? COLLATE NOCASE", (partnership,)) if partnership else ("", ())
        with self._reading("read the register's addresses") as db:
            rows = db.execute("SELECT representative_email, lead_officer_email FROM partnerships "
                              + where, args).fetchall()
            where = "WHERE partnership = ? COLLATE NOCASE" if partnership else ""
            sent = db.execute(f"SELECT sent_to FROM issued_tokens {where}", args).fetchall()
        found = {value for row in rows for value in row} | {row[0] for row in sent}
        return {value.strip().lower() for value in found if value and "@" in value}

    def hold(self, intake_id: int, reason: str, at: datetime) -> None:
        with self._writing("hold a return for the clerk") as db:
            db.execute("INSERT OR REPLACE INTO holds (intake_id, reason, at) VALUES (?, ?, ?)",
                       (intake_id, reason, utc_text(at)))

    def held(self) -> list[HeldReturn]:
        """Returns held for the clerk and not yet released or rejected, oldest first."""
        with self._guard("read the returns held for the clerk"):
            rows = self._db.execute(
                "SELECT h.intake_id, i.original_name, h.reason, h.at AS held_at, i.sender,"
                " i.received_at, i.archived_path AS kept_at FROM holds h"
                " JOIN intakes i ON i.id = h.intake_id WHERE i.outcome = 'rejected' AND h.intake_id"
                " NOT IN (SELECT intake_id FROM intakes_dealt_with) ORDER BY h.at, h.intake_id"
            ).fetchall()
        return [HeldReturn(**dict(row)) for row in rows]

    def flagged(self, flag: str) -> list[FlaggedIntake]:
        """Files taken in carrying `flag` (such as "future-date"), newest first: the emails
        themselves, not each attachment that inherited the flag."""
        with self._guard("read the files flagged"):
            rows = self._db.execute(
                "SELECT id AS intake_id, original_name, sender, sent_at, received_at, outcome"
                " FROM intakes WHERE ',' || flags || ',' LIKE ? AND parent_intake_id IS NULL"
                " ORDER BY id DESC",
                (f"%,{flag},%",)).fetchall()
        return [FlaggedIntake(**dict(row)) for row in rows]

    def quarantine(self, original_name: str, kept_at: str | None, reason: str, at: datetime) -> None:
        with self._writing("note a file set aside") as db:
            db.execute("INSERT INTO quarantine (original_name, kept_at, reason, at) VALUES (?,?,?,?)",
                       (original_name, kept_at, reason, utc_text(at)))

    def quarantined(self) -> list[QuarantinedFile]:
        with self._guard("read the files set aside"):
            rows = self._db.execute("SELECT * FROM quarantine ORDER BY id").fetchall()
        return [QuarantinedFile(**dict(row)) for row in rows]

    def set_flags(self, intake_id: int, flags: Iterable[str]) -> None:
        text = ",".join(sorted(set(flags))) or None
        with self._writing("note what was odd about a file") as db:
            db.execute("UPDATE intakes SET flags = ? WHERE id = ?", (text, intake_id))

    def action_failed(self, action: str, error: str, at: datetime, *, limit: int) -> int:
        """Count one more failure of a tick action; at `limit`, it is given up. Returns the count."""
        with self._writing("note an action that failed") as db:
            db.execute(
                "INSERT INTO action_failures (action, attempts, last_error, at) VALUES (?, 1, ?, ?)"
                " ON CONFLICT (action) DO UPDATE SET attempts = attempts + 1,"
                " last_error = excluded.last_error, at = excluded.at", (action, error, utc_text(at)))
            attempts = int(db.execute("SELECT attempts FROM action_failures WHERE action = ?",
                                      (action,)).fetchone()[0])
            if attempts >= limit:
                db.execute("UPDATE action_failures SET given_up = 1 WHERE action = ?", (action,))
        return attempts

    def given_up(self, action: str) -> bool:
        with self._guard("read the actions given up"):
            row = self._db.execute("SELECT given_up FROM action_failures WHERE action = ?",
                                   (action,)).fetchone()
        return bool(row and row[0])

    def actions_given_up(self) -> list[tuple[str, int, str]]:
        with self._guard("read the actions given up"):
            rows = self._db.execute("SELECT action, attempts, last_error FROM action_failures"
                                    " WHERE given_up = 1 ORDER BY at").fetchall()
        return [(r[0], int(r[1]), r[2] or "") for r in rows]

    def unanswered_senders(self) -> list[tuple[str, str, str]]:
        """Files whose sender the pipeline did not answer: (sender, file name, why)."""
        with self._guard("read the senders not answered"):
            rows = self._db.execute(
                "SELECT i.sender, i.original_name, r.detail FROM replies r JOIN intakes i"
                " ON i.id = r.intake_id WHERE r.kind = 'not-answered' ORDER BY i.id").fetchall()
        return [(r[0] or "", r[1], r[2] or "") for r in rows]

    def records(self, form_id: str, *, status: SubmissionStatus | str = "current") -> list[Record]:
        """Every submission of `form_id` with `status`, oldest received first, with values."""
        status = SubmissionStatus(status).value
        return self._records("WHERE form_id = ? AND status = ?", (form_id, status), "received_at, id")

    def history(self, form_id: str, record_key: str) -> list[Record]:
        """Every submission of one return, in the order stored (each superseded the one before)."""
        return self._records("WHERE form_id = ? AND record_key = ?", (form_id, record_key), "id")

    def _records(self, where: str, params: tuple[object, ...], order: str) -> list[Record]:
        with self._reading("read the returns") as db:
            rows = db.execute(f"SELECT * FROM submissions {where} ORDER BY {order}", params).fetchall()
            answers = db.cursor()
            answers.row_factory = None  # plain tuples: this can be millions of rows
            values = _values_by_submission(
                answers.execute(
                    "SELECT submission_id, field_id, row_index, column_id, item, value FROM answers"
                    f" WHERE submission_id IN (SELECT id FROM submissions {where})"
                    " ORDER BY submission_id, field_id, row_index, column_id, item",
                    params,
                )
            )
        return [_record(row, values.get(row["id"], {})) for row in rows]

    # --- the mailbox ledger ----------------------------------------------------------------------

    def add_mail(self, mail: NewMail) -> MailRow:
        """Record a fetched message (saved, not yet read); the row already there if one is."""
        with self._writing("record a fetched email") as db:
            db.execute(
                "INSERT OR IGNORE INTO mail_messages (sha256, message_id, folder, sender, subject,"
                " refs, saved_path, fetched_at) VALUES (?,?,?,?,?,?,?,?)",
                (mail.sha256, mail.message_id, mail.folder, mail.sender, mail.subject, mail.refs,
                 mail.saved_path, utc_text(mail.fetched_at)))
        found = self.mail_by_sha256(mail.sha256)
        assert found is not None
        return found

    def mail_by_sha256(self, sha256: str) -> MailRow | None:
        found = self._mails("WHERE sha256 = ?", (sha256,))
        return found[0] if found else None

    def mails_by_message_id(self, message_id: str) -> list[MailRow]:
        """Messages fetched before with this Message-ID, oldest first."""
        return self._mails("WHERE message_id = ? ORDER BY id", (message_id,))

    def set_mail_intake(self, mail_id: int, intake_name: str) -> None:
        """Name the intake a fetched message becomes, before the ingest starts on it."""
        with self._writing("record a fetched email"):
            self._db.execute("UPDATE mail_messages SET intake_name = ? WHERE id = ?",
                             (intake_name, mail_id))

    def mail_stored(self, mail_id: int, *, kind: str, reason: str | None, at: datetime) -> None:
        """The message is dealt with in the database (stored, or known not to be a return)."""
        with self._writing("record a fetched email"):
            self._db.execute(
                "UPDATE mail_messages SET kind = ?, reason = ?, state = 'stored', stored_at = ?"
                " WHERE id = ? AND state = 'saved'", (kind, reason, utc_text(at), mail_id))

    def mail_moved(self, mail_id: int, *, to: str, at: datetime) -> None:
        with self._writing("record a fetched email"):
            self._db.execute("UPDATE mail_messages SET state = 'moved', moved_to = ?, moved_at = ?"
                             " WHERE id = ?", (to, utc_text(at), mail_id))

    def mails_not_yet_moved(self, folder: str) -> list[MailRow]:
        """Messages from `folder` dealt with in the database but not yet recorded as moved."""
        return self._mails("WHERE state = 'stored' AND folder = ? ORDER BY id", (folder,))

    def file_taken_before(self, sha256: str) -> bool:
        """True when a file with these bytes was taken in and finished (stored, rejected...)."""
        with self._reading("read the files taken in") as db:
            return db.execute("SELECT 1 FROM intakes WHERE sha256 = ? AND outcome <> 'processing'"
                              " LIMIT 1", (sha256,)).fetchone() is not None

    def mails_not_forms(self, limit: int = 20) -> list[MailRow]:
        """The latest fetched messages that were not returns (for the clerk), newest first."""
        return self._mails("WHERE kind IN ('not_form', 'auto_reply') ORDER BY id DESC LIMIT ?",
                           (limit,))

    def mail_counts(self) -> dict[str, int]:
        with self._reading("count the fetched emails") as db:
            return {kind: number for kind, number in db.execute(
                "SELECT COALESCE(kind, 'unfinished'), count(*) FROM mail_messages GROUP BY 1")}

    def mail_thread(self, intake_id: int) -> MailRow | None:
        """The fetched message a return came in (the intake itself or the email holding it)."""
        found = self._mails(
            "WHERE intake_name IN (SELECT intake_name FROM intakes WHERE id = ? UNION"
            " SELECT p.intake_name FROM intakes c JOIN intakes p ON p.id = c.parent_intake_id"
            " WHERE c.id = ?) ORDER BY id LIMIT 1", (intake_id, intake_id))
        return found[0] if found else None

    def record_mail_pass(self, *, ok: bool, detail: str, at: datetime) -> None:
        with self._writing("record a mailbox check"):
            self._db.execute("INSERT INTO mail_passes (at, ok, detail) VALUES (?,?,?)",
                             (utc_text(at), int(ok), detail))

    def last_mail_pass(self) -> MailPass | None:
        with self._reading("read the mailbox checks") as db:
            row = db.execute("SELECT at, ok, detail FROM mail_passes ORDER BY id DESC LIMIT 1"
                             ).fetchone()
        return MailPass(row["at"], bool(row["ok"]), row["detail"]) if row else None

    def _mails(self, where: str, params: tuple[object, ...]) -> list[MailRow]:
        with self._reading("read the fetched emails") as db:
            rows = db.execute(f"SELECT * FROM mail_messages {where}", params).fetchall()
        return [MailRow(**dict(row)) for row in rows]

    # --- events and counts ---------------------------------------------------------------------

    def log(
        self,
        step: str,
        outcome: str,
        detail: str | None = None,
        intake_id: int | None = None,
        submission_id: int | None = None,
        by_user: str | None = None,
    ) -> int:
        """Add one line to the event log; returns its id. Inside a rolled-back transaction, lost."""
        with self._writing("write to the event log") as db:
            cursor = db.execute(
                "INSERT INTO events (at, intake_id, submission_id, step, outcome, detail, by_user)"
                " VALUES (?,?,?,?,?,?,?)",
                (utc_text(datetime.now(UTC)), intake_id, submission_id, step, outcome, detail, by_user),
            )
        return _row_id(cursor)

    def events(self, intake_id: int | None = None, limit: int | None = None) -> list[EventRow]:
        """Events (all, or one intake's), oldest first; with `limit`, only the latest that many."""
        where, params = ("WHERE intake_id = ?", (intake_id,)) if intake_id is not None else ("", ())
        latest = -1 if limit is None else limit  # LIMIT -1: no limit
        with self._guard("read the event log"):
            rows = self._db.execute(
                f"SELECT * FROM events {where} ORDER BY id DESC LIMIT ?", (*params, latest)
            ).fetchall()
        return [EventRow(**dict(row)) for row in reversed(rows)]

    def counts(self) -> dict[str, int]:
        """How many intakes ended each way (a return held for the clerk counts as held, not
        rejected), and how many submissions are current or superseded."""
        counts = {outcome.value: 0 for outcome in IntakeOutcome}
        counts |= {status.value: 0 for status in SubmissionStatus}
        with self._guard("count the files taken in"):
            for table, column in (("intakes", "outcome"), ("submissions", "status")):
                for name, number in self._db.execute(
                    f"SELECT {column}, count(*) FROM {table} GROUP BY {column}"
                ):
                    counts[name] = number
            held = self._db.execute(
                "SELECT count(*) FROM holds h JOIN intakes i ON i.id = h.intake_id WHERE"
                " i.outcome = 'rejected' AND h.intake_id NOT IN (SELECT intake_id FROM"
                " intakes_dealt_with)").fetchone()[0]
        counts["held"] = held  # held for the clerk: not counted as rejected until decided
        counts["rejected"] -= held
        return counts

    # --- returns and the partnership register ------------------------------------------------

    def unmatched(self) -> list[UnmatchedReturn]:
        """Current returns from no partnership on the register, oldest first."""
        with self._guard("list the returns not matched to the register"):
            rows = self._db.execute(
                "SELECT s.id, s.form_id, s.partnership, s.received_at FROM submissions s"
                " JOIN submission_partnerships m ON m.submission_id = s.id"
                " WHERE s.status = 'current' AND m.partnership_id IS NULL ORDER BY s.received_at, s.id"
            ).fetchall()
        return [UnmatchedReturn(r["id"], r["form_id"], r["partnership"], r["received_at"]) for r in rows]

    def returns_not_expected(self) -> list[UnmatchedReturn]:
        """Current returns from a register partnership that answer no form the pipeline sent
        (a meeting it sent no form for, or a form the clerk handed out another way)."""
        with self._guard("list the returns that answer no form sent"):
            rows = self._db.execute(
                "SELECT s.id, s.form_id, p.name AS partnership, s.received_at FROM submissions s"
                " JOIN submission_partnerships m ON m.submission_id = s.id"
                " JOIN partnerships p ON p.id = m.partnership_id"
                " WHERE s.status = 'current' AND NOT EXISTS (SELECT 1 FROM sent_forms f"
                " WHERE f.returned_submission_id = s.id) ORDER BY s.received_at, s.id"
            ).fetchall()
        return [UnmatchedReturn(r["id"], r["form_id"], r["partnership"], r["received_at"]) for r in rows]

    def not_matched(self, submission_id: int) -> bool:
        """True when the register has partnerships and the return is from none of them."""
        with self._guard(f"match return {submission_id} to the register"):
            row = self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM partnerships) AND m.partnership_id IS NULL"
                " FROM submission_partnerships m WHERE m.submission_id = ?", (submission_id,)
            ).fetchone()
        return bool(row and row[0])

    def match(self, submission_id: int, partnership_id: int) -> None:
        """Record that the return `submission_id` is from the register's `partnership_id`."""
        with self._writing(f"match return {submission_id} to the register"):
            self._db.execute("UPDATE submissions SET partnership_id = ? WHERE id = ?",
                             (partnership_id, submission_id))

    def submission(self, submission_id: int) -> SubmissionRow | None:
        with self._guard(f"read return {submission_id}"):
            row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        return _submission_row(row) if row else None

    # --- committee papers written ------------------------------------------------------------

    def record_paper(self, paper: WrittenPaper) -> None:
        """Remember a paper written for a meeting (written again: the newer files replace)."""
        with self._writing(f"record the {paper.kind} paper"):
            self._db.execute(
                "INSERT INTO papers_written (kind, committee, meeting_date, written_at, paths, manifest)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, committee, meeting_date) DO UPDATE SET"
                " written_at = excluded.written_at, paths = excluded.paths, manifest = excluded.manifest",
                (paper.kind, paper.committee, paper.meeting_date.isoformat(), utc_text(paper.written_at),
                 json.dumps([str(p) for p in paper.paths]), str(paper.manifest) if paper.manifest else None),
            )

    def papers_written(self, meeting_date: date | None = None) -> list[WrittenPaper]:
        """Papers recorded (for one meeting date, or all), by date, committee and kind."""
        where, params = ("WHERE meeting_date = ?", (meeting_date.isoformat(),)) if meeting_date else ("", ())
        with self._guard("list the papers written"):
            rows = self._db.execute(
                f"SELECT * FROM papers_written {where} ORDER BY meeting_date, committee, kind", params
            ).fetchall()
        return [
            WrittenPaper(r["kind"], r["committee"], date.fromisoformat(r["meeting_date"]),
                         tuple(Path(p) for p in json.loads(r["paths"] or "[]")),
                         Path(r["manifest"]) if r["manifest"] else None,
                         datetime.fromisoformat(r["written_at"].replace("Z", "+00:00")))
            for r in rows
        ]

    # --- the web console: users, sessions, sign-in failures, rejections dealt with -------------

    def add_user(self, name: str, role: str, password_hash: str) -> int:
        now = utc_text(datetime.now(UTC))
        with self._writing(f"add the user {name}") as db:
            try:
                cursor = db.execute(
                    "INSERT INTO users (name, role, password_hash, created_at, password_changed_at)"
                    " VALUES (?, ?, ?, ?, ?)", (name, role, password_hash, now, now))
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"There is already a user called {name}.") from exc
        return _row_id(cursor)

    def users(self) -> list[User]:
        with self._guard("list the users"):
            rows = self._db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [User(**dict(row)) for row in rows]

    def user(self, name: str) -> User | None:
        with self._guard("look up a user"):
            row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else User(**dict(row))

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Change a user's password; every browser they were signed in on is signed out."""
        with self._writing(f"change the password of {name}") as db:
            cursor = db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?",
                                (password_hash, utc_text(datetime.now(UTC)), name))
            if cursor.rowcount != 1:
                raise StoreError(f"There is no user called {name}.")
            db.execute("DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                       (name,))

    def remove_user(self, name: str) -> None:
        with self._writing(f"remove the user {name}") as db:
            db.execute("DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                       (name,))
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount != 1:
                raise StoreError(f"There is no user called {name}.")

    def start_session(self, token_hash: str, user_id: int, csrf: str, at: datetime) -> None:
        with self._writing("sign in"):
            self._db.execute("INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, last_seen)"
                             " VALUES (?, ?, ?, ?, ?)",
                             (token_hash, user_id, csrf, utc_text(at), utc_text(at)))

    def web_session(self, token_hash: str) -> WebSession | None:
        with self._guard("check who is signed in"):
            row = self._db.execute(
                "SELECT u.*, s.csrf, s.created_at AS session_created, s.last_seen FROM web_sessions s"
                " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?", (token_hash,)).fetchone()
        if row is None:
            return None
        user = User(row["id"], row["name"], row["role"], row["password_hash"], row["created_at"],
                    row["password_changed_at"])
        return WebSession(user, row["csrf"], row["session_created"], row["last_seen"])

    def touch_session(self, token_hash: str, at: datetime) -> None:
        with self._writing("note the session is in use"):
            self._db.execute("UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?",
                             (utc_text(at), token_hash))

    def end_session(self, token_hash: str) -> None:
        with self._writing("sign out"):
            self._db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

    def end_idle_sessions(self, idle_since: datetime) -> None:
        with self._writing("sign out idle sessions"):
            self._db.execute("DELETE FROM web_sessions WHERE last_seen < ?", (utc_text(idle_since),))

    def record_sign_in_failure(self, name: str, address: str | None, at: datetime) -> None:
        with self._writing("note a failed sign-in"):
            self._db.execute("INSERT INTO sign_in_failures (name, address, at) VALUES (?, ?, ?)",
                             (name, address, utc_text(at)))

    def sign_in_failures(self, name: str, address: str | None, since: datetime) -> int:
        """Failed sign-ins since `since` for this name or from this address, whichever is more."""
        with self._guard("count failed sign-ins"):
            by_name, by_address = self._db.execute(
                "SELECT sum(name = ?), sum(address IS ? ) FROM sign_in_failures WHERE at >= ?",
                (name, address, utc_text(since))).fetchone()
        return max(by_name or 0, by_address or 0)

    def clear_sign_in_failures(self, name: str) -> None:
        with self._writing("clear failed sign-ins"):
            self._db.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))

    def intake(self, intake_id: int) -> IntakeRow | None:
        found = self._intakes("WHERE id = ?", (intake_id,))
        return found[0] if found else None

    def rejections_open(self) -> list[IntakeRow]:
        """Rejected files nobody has dealt with yet (dismissed or re-ingested), newest first."""
        return self._intakes("WHERE outcome = 'rejected' AND id NOT IN"
                             " (SELECT intake_id FROM intakes_dealt_with) ORDER BY id DESC", ())

    def deal_with(self, intake_id: int, how: str, reason: str | None, by_user: str) -> None:
        """Record that the clerk dealt with a rejected file; logged with who did it."""
        with self._writing("record what the clerk did with a rejected file") as db:
            db.execute("INSERT OR REPLACE INTO intakes_dealt_with (intake_id, how, reason, by_user, at)"
                       " VALUES (?, ?, ?, ?, ?)",
                       (intake_id, how, reason, by_user, utc_text(datetime.now(UTC))))
            self.log("console", how, reason, intake_id=intake_id, by_user=by_user)

    def submission_events(self, submission_id: int) -> list[EventRow]:
        with self._guard("read a return's history"):
            rows = self._db.execute(
                "SELECT * FROM events WHERE submission_id = ? OR intake_id IN"
                " (SELECT intake_id FROM submissions WHERE id = ?) ORDER BY id",
                (submission_id, submission_id),
            ).fetchall()
        return [EventRow(**dict(row)) for row in rows]

    def submission_partnership(self, submission_id: int) -> int | None:
        """The register partnership a return is from (matched, by token, or by name), or None."""
        with self._guard("read a return's partnership"):
            row = self._db.execute(
                "SELECT partnership_id FROM submission_partnerships WHERE submission_id = ?",
                (submission_id,)).fetchone()
        return None if row is None else row[0]

    def record_pack(self, committee: str, meeting_date: date, paths: Iterable[Path], at: datetime) -> None:
        """Remember an agenda pack built for a meeting (built again: the newer files replace)."""
        with self._writing("record the agenda pack"):
            self._db.execute(
                "INSERT INTO packs_written (committee, meeting_date, written_at, paths) VALUES (?,?,?,?)"
                " ON CONFLICT (committee, meeting_date) DO UPDATE SET written_at = excluded.written_at,"
                " paths = excluded.paths",
                (committee, meeting_date.isoformat(), utc_text(at), json.dumps([str(p) for p in paths])))

    def packs_written(self) -> list[tuple[str, date, tuple[Path, ...]]]:
        """Agenda packs recorded: (committee, meeting date, files), by date."""
        with self._guard("list the agenda packs written"):
            rows = self._db.execute("SELECT * FROM packs_written ORDER BY meeting_date, committee").fetchall()
        return [(r["committee"], date.fromisoformat(r["meeting_date"]),
                 tuple(Path(p) for p in json.loads(r["paths"] or "[]"))) for r in rows]

    # --- for modules that keep their own tables (register, committees) -------------------------

    def connection(self) -> sqlite3.Connection:
        """The connection, for modules that keep their own tables (register, committees).

        Prefer `writing` and `reading`, which map sqlite3's errors to a StoreError.
        """
        return self._db

    @contextmanager
    def writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A transaction for a module's own tables; `doing` finishes "could not ..." on error."""
        with self._writing(doing) as db:
            yield db

    @contextmanager
    def reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        """SELECTs on one snapshot for a module's own tables; errors become a StoreError."""
        with self._reading(doing) as db:
            yield db


# --- opening and migrating ---------------------------------------------------------------------


def _configure(connection: sqlite3.Connection) -> None:
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA busy_timeout = 10000")  # first, so the pragmas below can wait
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")  # a return reported stored survives a power cut
    connection.execute("PRAGMA foreign_keys = ON")


def _migrate(store: Store) -> None:
    """Run each migration not yet run, each in its own transaction, counted in user_version."""
    db = store._db
    if _user_version(store) == len(MIGRATIONS):
        return
    for number, script in enumerate(MIGRATIONS, start=1):
        with store.transaction():
            # Read again inside the lock, so two processes opening a new file migrate it once.
            if _user_version(store) >= number:
                continue
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")


def _user_version(store: Store) -> int:
    """The number of migrations run on the database; refuses a database newer than this code."""
    version: int = store._db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"The database at {store.path} was written by a newer version of the pipeline"
            f" (schema {version}; this version knows up to {len(MIGRATIONS)})."
            " Upgrade the pipeline before using this database."
        )
    return version


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (executescript would commit our transaction first)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                yield pending.strip()
            pending = ""


_PLAIN_REASONS = {
    "database is locked": "another pipeline process is busy with it; try again in a minute",
    "file is not a database": "the file is not a pipeline database (is the path right?)",
    "unable to open database file": "the file could not be opened (does the folder exist, and"
    " may you write to it?)",
}


def _plain(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return _PLAIN_REASONS.get(text, text)


# --- rows --------------------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """`moment` as `YYYY-MM-DDTHH:MM:SSZ` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def _row_id(cursor: sqlite3.Cursor) -> int:
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _set_status(db: sqlite3.Connection, ids: list[int], status: SubmissionStatus) -> None:
    db.executemany("UPDATE submissions SET status=? WHERE id=?", [(status.value, i) for i in ids])


def _insert_submission(db: sqlite3.Connection, new: NewSubmission, intake_id: int,
                       status: SubmissionStatus = SubmissionStatus.CURRENT) -> int:
    cursor = db.execute(
        "INSERT INTO submissions (intake_id, form_id, form_version, form_hash, token,"
        " partnership, record_key, sha256, sender, received_at, late, due_date, status,"
        " marking, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            intake_id,
            new.form_id,
            new.form_version,
            new.form_hash,
            new.token,
            new.partnership,
            new.record_key,
            new.sha256,
            new.sender,
            utc_text(new.received_at),
            int(new.late),
            None if new.due_date is None else new.due_date.isoformat(),
            status.value,
            new.marking,
            utc_text(datetime.now(UTC)),
        ),
    )
    return _row_id(cursor)


def _intake_row(row: sqlite3.Row, problems: Iterable[Problem]) -> IntakeRow:
    data = dict(row)
    data["outcome"] = IntakeOutcome(data["outcome"])
    return IntakeRow(**data, problems=tuple(problems))


def _submission_row(row: sqlite3.Row) -> SubmissionRow:
    data = dict(row)
    data["late"] = bool(data["late"])
    data["status"] = SubmissionStatus(data["status"])
    return SubmissionRow(**data)


def _record(row: sqlite3.Row, values: JsonValues) -> Record:
    return Record(
        submission_id=row["id"],
        form_id=row["form_id"],
        form_version=row["form_version"],
        received_at=row["received_at"],
        sender=row["sender"],
        late=bool(row["late"]),
        token=row["token"],
        partnership=row["partnership"],
        record_key=row["record_key"],
        due_date=row["due_date"],
        status=SubmissionStatus(row["status"]),
        superseded_by=row["superseded_by"],
        marking=row["marking"],
        values=values,
    )


# --- values <-> answer rows --------------------------------------------------------------------

Answer: TypeAlias = tuple[str, int, str, int, Cell]  # field_id, row_index, column_id, item, value
_INT_RANGE = range(-(2**63), 2**63)  # what an SQLite integer holds


def _encode_values(values: dict[str, Any]) -> list[Answer]:
    """The answer rows for one submission's values (see the module docstring for what is kept)."""
    answers: list[Answer] = []
    for field_id, value in values.items():
        answers.extend(_encode_field(field_id, value))
    return answers


def _encode_field(field_id: str, value: object) -> Iterator[Answer]:
    if value is None or value == "" or value == []:
        return
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        kept = [row for row in value if not is_empty(row)]
        for row_index, row in enumerate(kept):
            for column_id, cell in row.items():
                if cell is not None:
                    yield field_id, row_index, column_id, SINGLE, _cell(field_id, cell)
    elif isinstance(value, list):
        for item, choice in enumerate(value):
            yield field_id, SINGLE, "", item, _cell(field_id, choice)
    else:
        yield field_id, SINGLE, "", SINGLE, _cell(field_id, value)


def _cell(field_id: str, value: object) -> str | int | float:
    """`value` as SQLite keeps it exactly: text, a 64-bit integer or a (non-NaN) float."""
    if isinstance(value, date):  # a datetime is a date too: kept as its ISO text
        return value.isoformat()
    if isinstance(value, str) or (isinstance(value, float) and value == value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT_RANGE:
        return value
    raise ValueError(f"Field {field_id!r} has a value the database cannot keep: {value!r}")


def _values_by_submission(answers: Iterable[tuple[Any, ...]]) -> dict[int, JsonValues]:
    """Rebuild each submission's values from its answer rows, given in primary-key order."""
    found: dict[int, dict[str, Any]] = {}
    tables: list[list[dict[str, Cell]]] = []
    for submission_id, field_id, row_index, column_id, item, value in answers:
        values = found.setdefault(submission_id, {})
        if row_index != SINGLE:
            table = values.get(field_id)
            if table is None:
                table = values[field_id] = []
                tables.append(table)
            while len(table) <= row_index:
                table.append({})
            table[row_index][column_id] = value
        elif item != SINGLE:
            values.setdefault(field_id, []).append(value)
        else:
            values[field_id] = value
    for table in tables:
        _fill_missing_cells(table)
    return found


def _fill_missing_cells(table: list[dict[str, Cell]]) -> None:
    """Give every row every column the table has, None where the cell was not stored."""
    columns = list(dict.fromkeys(column for row in table for column in row))
    for row in table:
        if len(row) < len(columns):
            row.update({column: row.get(column) for column in columns})
