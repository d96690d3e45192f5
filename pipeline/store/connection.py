"""One connection to the store's database, and the database's errors in plain words.

The store's SQL is written once, with `?` placeholders, and runs on SQLite (the default: one file
in the home). `Database` is the small surface the store's modules use: `execute`, `executemany`,
`insert` (returns the new row's id) and `in_transaction`; rows are read by column name or
position. Every error the database driver raises is one of `errors`; the store turns them into a
`StoreError` whose message says what could not be done, in the clerk's words.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

SQLITE = "sqlite"


class Row(Protocol):
    """A row: `row["name"]` or `row[0]`; `dict(row)` gives every column by name."""

    def __getitem__(self, key: int | str) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database:
    """A connection to the store's database (see the subclasses)."""

    dialect: str
    errors: tuple[type[BaseException], ...]
    duplicate: tuple[type[BaseException], ...]  # a unique key already taken
    where: str  # how a person would name the database: a path or host/name

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Plain tuples, streamed: for millions of rows."""
        raise NotImplementedError

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT and return the new row's id."""
        return int(self.execute(sql + " RETURNING id", params).fetchall()[0][0])

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def begin(self, *, durable: bool = True) -> None:
        """Start a transaction that will write. With `durable=False` its commit may be lost to a
        power cut (never to a crash of the process), until the next durable commit, which makes
        it durable too; the database itself is never damaged."""
        raise NotImplementedError

    def ended(self) -> None:
        """A transaction begun here has committed or rolled back (SQLite: durable again)."""

    def begin_reading(self) -> None:
        """Start a transaction whose SELECTs all see one snapshot."""
        self.execute("BEGIN")

    def serialize(self, key: str) -> None:
        """Inside a transaction: wait until no other transaction holds `key`, then hold it
        until this one ends (SQLite's write lock already serialises every writer)."""

    @contextmanager
    def holding(self, key: str) -> Iterator[None]:
        """Outside a transaction: wait until no other connection holds `key`, and hold it for the
        block (PostgreSQL: a session advisory lock; SQLite: nothing, its write lock serialises)."""
        yield

    def try_holding(self, key: str) -> bool:
        """Take `key` for this connection if no other holds it; True if taken (SQLite: always)."""
        return True

    def release(self, key: str) -> None:
        """Give `key` back (taken with `try_holding`)."""

    def answer_value(self, value: Any) -> Any:
        """An answer's value as the `answers.value` column takes it."""
        return value

    def close(self) -> None:
        raise NotImplementedError

    def plain(self, exc: BaseException) -> str:
        """What went wrong, in words a clerk can act on."""
        return plain_reason(exc)


class SQLiteDatabase(Database):
    """The SQLite file in the home. WAL lets readers and one writer work side by side;
    `busy_timeout` makes a second writer wait (up to `wait_seconds`) instead of failing."""

    dialect = SQLITE
    errors = (sqlite3.Error,)
    duplicate = (sqlite3.IntegrityError,)

    def __init__(self, path: Path, *, wait_seconds: float = 10.0) -> None:
        self.path = path
        self.where = str(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")  # first: the rest wait
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")  # a return reported stored survives a power cut
            self._full = True
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error:
            self._db.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self._db.cursor()
        cursor.row_factory = None
        yield from cursor.execute(sql, tuple(params))

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def begin(self, *, durable: bool = True) -> None:
        self._synchronous(full=durable)
        self._db.execute("BEGIN IMMEDIATE")  # takes the write lock now: read-then-write is safe

    def ended(self) -> None:
        self._synchronous(full=True)

    def _synchronous(self, *, full: bool) -> None:
        """FULL: the commit fsyncs the WAL. NORMAL (in WAL mode): no fsync at the commit, so a
        power cut may roll it back, but the next FULL commit's fsync of the WAL (appended to in
        order) makes it durable too; a crash of the process loses nothing; no damage either way."""
        if self._full != full:
            self._db.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
            self._full = full

    def close(self) -> None:
        self._db.close()

    def backup(self, path: Path) -> None:
        """A consistent copy of the whole database at `path` (SQLite's online backup)."""
        target = sqlite3.connect(path)
        try:
            with target:
                self._db.backup(target)
        finally:
            target.close()


class ReadOnlySQLite(SQLiteDatabase):
    """A connection that can never change the file (for papers), waiting for a busy writer.
    Rows are plain tuples: papers read many."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True,
                                   isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 10000")


_PLAIN_REASONS = {
    "database is locked": "another pipeline process is busy with it; try again in a minute",
    "file is not a database": "the file is not a pipeline database (is the path right?)",
    "unable to open database file": "the file could not be opened (does the folder exist, and"
    " may you write to it?)",
}


def plain_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return _PLAIN_REASONS.get(text, text)


def utc_text(moment: datetime) -> str:
    """`moment` as `YYYY-MM-DDTHH:MM:SSZ` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)
