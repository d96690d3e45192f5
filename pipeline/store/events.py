"""The event log, the counts for `pipeline status`, and tick actions that keep failing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.store.base import StoreBase
from pipeline.store.connection import utc_text
from pipeline.store.rows import EventRow, IntakeOutcome, SubmissionStatus


class EventsMixin(StoreBase):
    """What happened, when; and what the scheduler gave up on."""

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
            return db.insert(
                "INSERT INTO events (at, intake_id, submission_id, step, outcome, detail, by_user)"
                " VALUES (?,?,?,?,?,?,?)",
                (utc_text(datetime.now(UTC)), intake_id, submission_id, step, outcome, detail, by_user),
            )

    def events(self, intake_id: int | None = None, limit: int | None = None) -> list[EventRow]:
        """Events (all, or one intake's), oldest first; with `limit`, only the latest that many."""
        where, params = ("WHERE intake_id = ?", (intake_id,)) if intake_id is not None else ("", ())
        latest = "" if limit is None else f" LIMIT {int(limit)}"
        with self._guard("read the event log"):
            rows = self._db.execute(f"SELECT * FROM events {where} ORDER BY id DESC{latest}",
                                    params).fetchall()
        return [EventRow(**dict(row)) for row in reversed(rows)]

    def counts(self) -> dict[str, int]:
        """How many intakes ended each way (a return held for the clerk counts as held, not
        rejected), and how many submissions are current or superseded."""
        counts = {outcome.value: 0 for outcome in IntakeOutcome}
        counts |= {status.value: 0 for status in SubmissionStatus}
        with self._reading("count the files taken in") as db:
            for table, column in (("intakes", "outcome"), ("submissions", "status")):
                for name, number in db.execute(
                    f"SELECT {column}, count(*) FROM {table} GROUP BY {column}"
                ):
                    counts[name] = number
            held = db.execute(
                "SELECT count(*) FROM holds h JOIN intakes i ON i.id = h.intake_id WHERE"
                " i.outcome = 'rejected' AND h.intake_id NOT IN (SELECT intake_id FROM"
                " intakes_dealt_with)").fetchone()[0]
        counts["held"] = held  # held for the clerk: not counted as rejected until decided
        counts["rejected"] -= held
        return counts

    def submission_events(self, submission_id: int) -> list[EventRow]:
        with self._guard("read a return's history"):
            rows = self._db.execute(
                "SELECT * FROM events WHERE submission_id = ? OR intake_id IN"
                " (SELECT intake_id FROM submissions WHERE id = ?) ORDER BY id",
                (submission_id, submission_id),
            ).fetchall()
        return [EventRow(**dict(row)) for row in rows]

    def action_failed(self, action: str, error: str, at: datetime, *, limit: int) -> int:
        """Count one more failure of a tick action; at `limit`, it is given up. Returns the count."""
        with self._writing("note an action that failed") as db:
            db.execute(
                "INSERT INTO action_failures (action, attempts, last_error, at) VALUES (?, 1, ?, ?)"
                " ON CONFLICT (action) DO UPDATE SET attempts = action_failures.attempts + 1,"
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
