"""The pipeline's store: `Store.open(path)` opens (creating if need be) the database.

One `Store` holds one connection and belongs to one thread; each process (the watcher, a
`pipeline records` run) opens its own. The store's parts live beside this module, one per kind of
thing kept: intakes, submissions, sent (tokens and forms sent), register (partnerships and the
committee calendar), papers, mailbox, events, users; the tables themselves in schema.
Import it as `from pipeline.store import Store`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pipeline.core.errors import StoreError
from pipeline.store.connection import Database, SQLiteDatabase, plain_reason, utc_text
from pipeline.store.events import EventsMixin
from pipeline.store.intakes import IntakesMixin
from pipeline.store.mailbox import MailboxMixin
from pipeline.store.papers import PapersMixin
from pipeline.store.register import RegisterMixin
from pipeline.store.rows import (
    AlreadyStored,
    EventRow,
    IntakeOutcome,
    IntakeRow,
    IssuedToken,
    MailPass,
    MailRow,
    NewIntake,
    NewMail,
    NewSentForm,
    NewSubmission,
    Problem,
    QuarantinedFile,
    Record,
    SentForm,
    StatusRow,
    SubmissionRow,
    SubmissionStatus,
    UnmatchedReturn,
    User,
    WebSession,
    WrittenPaper,
)
from pipeline.store.schema import MIGRATIONS, migrate, user_version
from pipeline.store.sent import SentMixin
from pipeline.store.submissions import SubmissionsMixin
from pipeline.store.users import UsersMixin

__all__ = [
    "AlreadyStored", "EventRow", "IntakeOutcome", "IntakeRow", "IssuedToken", "MailPass", "MailRow",
    "NewIntake", "NewMail", "NewSentForm", "NewSubmission", "Problem", "QuarantinedFile", "Record",
    "SentForm", "StatusRow", "Store", "SubmissionRow", "SubmissionStatus", "UnmatchedReturn", "User",
    "WebSession", "WrittenPaper", "utc_text",
]


class Store(IntakesMixin, SubmissionsMixin, SentMixin, RegisterMixin, PapersMixin, MailboxMixin,
            EventsMixin, UsersMixin):
    """The pipeline database. Open with `Store.open(path)`; use from one thread only."""

    path: Path

    @classmethod
    def open(cls, path: Path, *, wait_seconds: float = 10.0) -> Self:
        """Open (creating if need be) the SQLite database at `path` and bring its tables up to date.

        A second writer waits up to `wait_seconds` for the first before giving up with a StoreError.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = SQLiteDatabase(path, wait_seconds=wait_seconds)
        except OSError as exc:
            raise StoreError(f"The database at {path} could not be opened: {exc.strerror or exc}") from exc
        except SQLiteDatabase.errors as exc:
            raise StoreError(f"The database at {path} could not be opened: {plain_reason(exc)}") from exc
        store = cls(db)
        store.path = path
        try:
            with store._guard("be opened"):
                migrate(db)
        except StoreError:
            db.close()
            raise
        return store

    def copy_to(self, path: Path) -> None:
        """A consistent copy of the whole database at `path` (SQLite's online backup)."""
        assert isinstance(self._db, SQLiteDatabase)
        with self._guard(f"be copied to {path}"):
            self._db.backup(path)

    def connection(self) -> Database:
        """The raw connection, for tests and maintenance only: the pipeline's own modules use the
        store's named methods, so that every error is mapped and every query lives here."""
        return self._db

    def schema(self) -> tuple[int, int]:
        """(migrations run on this database, migrations this version of the pipeline knows)."""
        with self._guard("read its schema version"):
            return user_version(self._db), len(MIGRATIONS)
