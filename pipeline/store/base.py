"""What every part of the store shares: the connection, transactions, and errors mapped.

Every method of the store reads inside `_reading` or `_guard` and writes inside `_writing`, so
any error the database raises (a busy database, a full disk, a damaged file) reaches the caller
as a `StoreError` saying what could not be done; nothing outside the store sees the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from pipeline.core.errors import StoreError
from pipeline.store.connection import Database

# commit, then the statements that undo: a transaction, and one inside another (a savepoint)
_OUTER = ("COMMIT", "ROLLBACK")
_NESTED = ("RELEASE nested", "ROLLBACK TO nested", "RELEASE nested")


class StoreBase:
    """The connection and its transactions; the parts of the store (mixins) build on it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def where(self) -> str:
        """The database in a person's words: the SQLite file's path, or the server's address."""
        return self._db.where

    @property
    def dialect(self) -> str:
        return self._db.dialect

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """Begin (taking the write lock) ... COMMIT, or ROLLBACK on an exception.

        Inside another transaction it is a savepoint: an exception undoes only its own part,
        and nothing is saved until the outermost transaction commits (durable or not as that
        one was begun). `durable=False`: see `Database.begin`; only for what may be lost to a
        power cut because it is done again after one.
        """
        nested = self._db.in_transaction
        commit, *undo = _NESTED if nested else _OUTER
        with self._guard("start a change"):
            if nested:
                self._db.execute("SAVEPOINT nested")
            else:
                self._begin(durable)
        try:
            yield
            with self._guard("save a change"):
                self._db.execute(commit)
        except BaseException:
            if self._db.in_transaction:
                with self._guard("undo a change"):
                    for statement in undo:
                        self._db.execute(statement)
            raise
        finally:
            if not nested and not durable:
                with self._guard("finish a change"):
                    self._db.ended()

    def _begin(self, durable: bool) -> None:
        try:
            self._db.begin(durable=durable)
        except BaseException:
            if not durable:
                self._db.ended()
            raise

    @contextmanager
    def writing(self, doing: str) -> Iterator[None]:
        """One transaction around several of the store's writes (an import: all or nothing);
        `doing` finishes "could not ..." when it fails."""
        with self._writing(doing):
            yield

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn the database's errors into a StoreError the clerk can read."""
        try:
            yield
        except self._db.errors as exc:
            message = f"The database at {self._db.where} could not {doing}: {self._db.plain(exc)}"
            raise StoreError(message) from exc

    @contextmanager
    def _writing(self, doing: str, *, durable: bool = True) -> Iterator[Database]:
        with self._guard(doing), self.transaction(durable=durable):
            yield self._db

    @contextmanager
    def _reading(self, doing: str) -> Iterator[Database]:
        """Several SELECTs that see one snapshot, though another process writes in between."""
        with self._guard(doing):
            if self._db.in_transaction:
                yield self._db
                return
            self._db.begin_reading()
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")
