"""Several workers on one store: a file claimed by one of them at a time, and a job (the
scheduler's tick) run by one of them at a time.

A claim is a row: the file's name, the worker holding it, and when it last said it was still at
work; a claim older than `stale_before` belongs to a worker that died (`kill -9`), and is taken
over. A job lock on PostgreSQL is a session advisory lock, gone by itself when its connection
ends; on SQLite there is one home and one watcher, and the home's own lock file does that work,
so `exclusive` always succeeds there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from pipeline.store.base import StoreBase
from pipeline.store.connection import utc_text


@dataclass(frozen=True)
class Claim:
    name: str
    worker: str
    claimed_at: str


class ClaimsMixin(StoreBase):
    """Claims on files being taken in, and locks for jobs only one worker may run."""

    def claim(self, name: str, worker: str, at: datetime, *, stale_before: datetime) -> bool:
        """Claim `name` for `worker`; True when it is now theirs: no one held it, they held it
        already, or its holder has said nothing since `stale_before` (taken over)."""
        with self._writing(f"claim the file {name}") as db:
            row = db.execute(
                "INSERT INTO claims (name, worker, claimed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET worker = excluded.worker,"
                " claimed_at = excluded.claimed_at"
                " WHERE claims.worker = excluded.worker OR claims.claimed_at < ? RETURNING worker",
                (name, worker, utc_text(at), utc_text(stale_before))).fetchall()
        return bool(row)

    def renew_claim(self, name: str, worker: str, at: datetime) -> bool:
        """The worker is still at work on `name`; False when its claim was taken over."""
        with self._writing(f"renew the claim on {name}") as db:
            return db.execute("UPDATE claims SET claimed_at = ? WHERE name = ? AND worker = ?",
                              (utc_text(at), name, worker)).rowcount == 1

    def release_claim(self, name: str, worker: str) -> None:
        with self._writing(f"release the claim on {name}") as db:
            db.execute("DELETE FROM claims WHERE name = ? AND worker = ?", (name, worker))

    def claims(self) -> list[Claim]:
        """Every claim held, oldest first."""
        with self._reading("read the claims") as db:
            rows = db.execute("SELECT name, worker, claimed_at FROM claims"
                              " ORDER BY claimed_at, name").fetchall()
        return [Claim(*row) for row in rows]

    @contextmanager
    def exclusive(self, job: str) -> Iterator[bool]:
        """`with store.exclusive("tick") as mine:` -- `mine` is True for the one worker that may
        run `job` now (False: another worker on this store is running it); never waits."""
        with self._guard(f"check whether another worker is running the {job}"):
            mine = self._db.try_holding(f"job {job}")
        try:
            yield mine
        finally:
            if mine:
                with self._guard(f"finish the {job}"):
                    self._db.release(f"job {job}")
