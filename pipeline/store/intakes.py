"""Intakes: each file taken from the inbox, what became of it, and the clerk's view of them.

Also the returns held for the clerk, the files set aside (quarantine), per-file flags, and
the replies owed to senders.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pipeline.core.errors import StoreError
from pipeline.store.base import StoreBase
from pipeline.store.connection import Database, Row, utc_or_none, utc_text
from pipeline.store.rows import (
    FlaggedIntake,
    HeldReturn,
    IntakeOutcome,
    IntakeRow,
    NewIntake,
    Problem,
    QuarantinedFile,
    ReplyDue,
)


class IntakesMixin(StoreBase):
    """Files taken in, replies, holds and the files set aside."""

    def add_intake(self, intake: NewIntake, *, durable: bool = True) -> int:
        """Record that the ingest has started on a file; returns the intake id.

        `durable=False` when the row may be lost to a power cut because the file is then taken
        again (it is still in the inbox's processing folder): the commit waits for no disk
        write, and the next durable commit (the file's outcome) makes this row durable too.
        """
        with self._writing(f"record the file {intake.original_name}", durable=durable) as db:
            return db.insert(
                "INSERT INTO intakes (intake_name, original_name, source_path, sha256, size,"
                " sender, sent_at, received_at, parent_intake_id, flags)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    intake.intake_name,
                    intake.original_name,
                    intake.source_path,
                    intake.sha256,
                    intake.size,
                    intake.sender,
                    utc_or_none(intake.sent_at),
                    utc_text(intake.received_at),
                    intake.parent_intake_id,
                    _flags_text(intake.flags),
                ),
            )

    def record_reply(self, intake_id: int, kind: str, detail: str, at: datetime) -> None:
        """Note that the sender of this intake was answered (or needs no answer): once each."""
        with self._writing("record a reply"):
            self._db.execute("INSERT INTO replies (intake_id, kind, sent_at, detail)"
                             " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                             (intake_id, kind, utc_text(at), detail))

    def children(self, intake_id: int) -> list[IntakeRow]:
        """The attachments taken from an email's intake, in order."""
        return self._intakes("WHERE parent_intake_id = ? ORDER BY id", (intake_id,))

    def set_sender(self, intake_id: int, sender: str | None, sent_at: datetime | None) -> None:
        """Record who sent a file once it is known (an email's From, read after it was taken)."""
        with self._writing("record the sender"):
            self._db.execute("UPDATE intakes SET sender = ?, sent_at = ? WHERE id = ?",
                             (sender, utc_or_none(sent_at), intake_id))

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
            db.execute("INSERT INTO intakes_dealt_with (intake_id, how, reason, by_user, at)"
                       " VALUES (?, ?, ?, ?, ?) ON CONFLICT (intake_id) DO UPDATE SET how = excluded.how,"
                       " reason = excluded.reason, by_user = excluded.by_user, at = excluded.at",
                       (intake_id, how, reason, by_user, utc_text(datetime.now(UTC))))
            self.log("console", how, reason, intake_id=intake_id, by_user=by_user)

    def hold(self, intake_id: int, reason: str, at: datetime) -> None:
        with self._writing("hold a return for the clerk") as db:
            db.execute("INSERT INTO holds (intake_id, reason, at) VALUES (?, ?, ?) ON CONFLICT (intake_id)"
                       " DO UPDATE SET reason = excluded.reason, at = excluded.at",
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
        with self._writing("note what was odd about a file") as db:
            db.execute("UPDATE intakes SET flags = ? WHERE id = ?", (_flags_text(flags), intake_id))

    def unanswered_senders(self) -> list[tuple[str, str, str]]:
        """Files whose sender the pipeline did not answer: (sender, file name, why)."""
        with self._guard("read the senders not answered"):
            rows = self._db.execute(
                "SELECT i.sender, i.original_name, r.detail FROM replies r JOIN intakes i"
                " ON i.id = r.intake_id WHERE r.kind = 'not-answered' ORDER BY i.id").fetchall()
        return [(r[0] or "", r[1], r[2] or "") for r in rows]

    def file_taken_before(self, sha256: str) -> bool:
        """True when a file with these bytes was taken in and finished (stored, rejected...)."""
        with self._reading("read the files taken in") as db:
            return db.execute("SELECT 1 FROM intakes WHERE sha256 = ? AND outcome <> 'processing'"
                              " LIMIT 1", (sha256,)).fetchone() is not None


    def replies_due(self) -> list[ReplyDue]:
        """Finished files (accepted or rejected) with a sender who has not been answered, in order."""
        with self._reading("read the replies owed to senders") as db:
            rows = db.execute(
                "SELECT i.*, p.flags AS parent_flags, s.partnership AS return_partnership,"
                " s.form_id AS return_form_id, s.late AS return_late FROM intakes i"
                " LEFT JOIN replies r ON r.intake_id = i.id"
                " LEFT JOIN intakes p ON p.id = i.parent_intake_id"
                " LEFT JOIN submissions s ON s.id = i.submission_id"
                " WHERE r.intake_id IS NULL AND i.sender IS NOT NULL"
                " AND i.outcome IN ('accepted', 'rejected') ORDER BY i.id").fetchall()
            found = [dict(row) for row in rows]
            problems = self._problems(db, [row["id"] for row in found])
        extra = ("parent_flags", "return_partnership", "return_form_id", "return_late")
        return [ReplyDue(_intake_row({k: v for k, v in row.items() if k not in extra},
                                     problems.get(row["id"], ())),
                         row["parent_flags"], row["return_partnership"], row["return_form_id"],
                         bool(row["return_late"])) for row in found]

    @staticmethod
    def _problems(db: Database, intake_ids: list[int]) -> dict[int, list[Problem]]:
        found: dict[int, list[Problem]] = {}
        for start in range(0, len(intake_ids), 500):
            chunk = intake_ids[start:start + 500]
            rows = db.execute("SELECT intake_id, field_id, label, message FROM problems WHERE intake_id IN"
                              f" ({', '.join('?' * len(chunk))}) ORDER BY id", chunk).fetchall()
            for intake_id, *problem in rows:
                found.setdefault(intake_id, []).append(Problem(*problem))
        return found


def _flags_text(flags: Iterable[str]) -> str | None:
    return ",".join(sorted(set(flags))) or None


def _intake_row(row: Row | dict[str, Any], problems: Iterable[Problem]) -> IntakeRow:
    data = dict(row)
    data["outcome"] = IntakeOutcome(data["outcome"])
    return IntakeRow(**data, problems=tuple(problems))
