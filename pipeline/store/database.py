"""The pipeline's store: `Store.for_home(settings)` opens a home's database, whichever it is.

That is the SQLite file in the home (`Store.open(path)`), or the PostgreSQL database its
`[database] url` or PIPELINE_DATABASE_URL names (`Store.connect(url)`); either is created if need
be and brought up to date. One `Store` holds one connection and belongs to one thread; each
process (the watcher, a `pipeline records` run) opens its own. The store's parts live beside this
module, one per kind of thing kept: intakes, submissions, sent (tokens and forms sent), register
(partnerships and the committee calendar), papers, mailbox, events, users, claims; the tables
themselves in schema. Import it as `from pipeline.store import Store`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pipeline.core.config import Settings, database_url
from pipeline.core.errors import StoreError
from pipeline.store.claims import ClaimsMixin
from pipeline.store.connection import Database, SQLiteDatabase, plain_reason, utc_text
from pipeline.store.copying import copy_tables
from pipeline.store.events import EventsMixin
from pipeline.store.intakes import IntakesMixin
from pipeline.store.mailbox import MailboxMixin
from pipeline.store.papers import PapersMixin
from pipeline.store.postgres import PostgresDatabase, plain_postgres, shown
from pipeline.store.register import RegisterMixin
from pipeline.store.rows import (
    AlreadyStored,
    EventRow,
    FlaggedIntake,
    HeldReturn,
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
    "AlreadyStored", "EventRow", "FlaggedIntake", "HeldReturn", "IntakeOutcome", "IntakeRow",
    "IssuedToken", "MailPass", "MailRow",
    "NewIntake", "NewMail", "NewSentForm", "NewSubmission", "Problem", "QuarantinedFile", "Record",
    "SentForm", "StatusRow", "Store", "SubmissionRow", "SubmissionStatus", "UnmatchedReturn", "User",
    "WebSession", "WrittenPaper", "has_store", "utc_text",
]


class Store(IntakesMixin, SubmissionsMixin, SentMixin, RegisterMixin, PapersMixin, MailboxMixin,
            EventsMixin, UsersMixin, ClaimsMixin):
    """The pipeline database. Open with `Store.open(path)`; use from one thread only."""

    path: Path | None  # the SQLite file; None on PostgreSQL

    @classmethod
    def open(cls, path: Path, *, wait_seconds: float = 10.0, upgrade: bool = True) -> Self:
        """Open (creating if need be) the SQLite database at `path` and (with `upgrade`) bring its
        tables up to date.

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
        return cls._ready(db, path, upgrade)

    @classmethod
    def connect(cls, url: str, *, wait_seconds: float = 10.0, upgrade: bool = True) -> Self:
        """Open the PostgreSQL database at `url` and (with `upgrade`) bring its tables up to date."""
        try:
            db = PostgresDatabase(url, wait_seconds=wait_seconds)
        except ImportError as exc:
            raise StoreError("PostgreSQL needs the psycopg package: pip install 'psycopg[binary]'.") from exc
        except Exception as exc:  # psycopg's OperationalError: refused, unknown host, bad password
            raise StoreError(f"The {shown(url)} could not be opened: {plain_postgres(exc)}") from exc
        return cls._ready(db, None, upgrade)

    @classmethod
    def _ready(cls, db: Database, path: Path | None, upgrade: bool) -> Self:
        """The store on an open connection, its tables brought up to date (or only read, without
        `upgrade`); the connection closed again if that fails."""
        store = cls(db)
        store.path = path
        try:
            with store._guard("be opened"):
                migrate(db) if upgrade else user_version(db)
        except StoreError:
            db.close()
            raise
        return store

    @classmethod
    def for_home(cls, settings: Settings, *, upgrade: bool = True) -> Self:
        """The home's store: PostgreSQL when a URL is set (see `database_url`), else its SQLite file."""
        url = database_url(settings)
        if url is not None:
            return cls.connect(url, upgrade=upgrade)
        return cls.open(settings.database, upgrade=upgrade)

    def copy_to(self, path: Path) -> None:
        """A consistent copy of the whole database as an SQLite file at `path`."""
        with self._guard(f"be copied to {path}"):
            if isinstance(self._db, SQLiteDatabase):
                self._db.backup(path)
                return
        with Store.open(path) as target:
            copy_tables(self, target)

    def connection(self) -> Database:
        """The raw connection, for tests and maintenance only: the pipeline's own modules use the
        store's named methods, so that every error is mapped and every query lives here."""
        return self._db

    def upgrade(self) -> list[int]:
        """Run the migrations this database has not run yet; returns their numbers."""
        with self._guard("be brought up to date"):
            return migrate(self._db)

    def schema(self) -> tuple[int, int]:
        """(migrations run on this database, migrations this version of the pipeline knows)."""
        with self._guard("read its schema version"):
            return user_version(self._db), len(MIGRATIONS)


def has_store(settings: Settings) -> bool:
    """True when the home has a store to read: a PostgreSQL URL set, or its SQLite file there."""
    return database_url(settings) is not None or settings.database.is_file()
