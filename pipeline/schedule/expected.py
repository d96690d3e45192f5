"""Expected returns: what the pipeline sent, what came back, what is late or missing.

Each form sent out is a row of `sent_forms` keyed by the token inside the file; a return carrying
that token (or, when a PDF lost it, the same form and partnership) marks it returned.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

from pipeline.store.database import utc_text


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


_SELECT = """
    SELECT s.*, p.name AS partnership FROM sent_forms s
    LEFT JOIN partnerships p ON p.id = s.partnership_id
"""


def _row(row: sqlite3.Row) -> SentForm:
    return SentForm(
        id=row["id"], token=row["token"], form_id=row["form_id"],
        partnership_id=row["partnership_id"], partnership=row["partnership"],
        recipient_name=row["recipient_name"], recipient_email=row["recipient_email"],
        meeting_date=_day(row["meeting_date"]), due_date=_day(row["due_date"]),
        purpose=row["purpose"], sent_at=row["sent_at"], chased_at=row["chased_at"],
        chase_count=row["chase_count"], returned_submission_id=row["returned_submission_id"])


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def record_sent(db: sqlite3.Connection, *, token: str, form_id: str, form_version: int,
                partnership_id: int | None, recipient_name: str | None, recipient_email: str,
                meeting_date: date | None, due_date: date | None, purpose: str, sent_at: datetime,
                message_path: str) -> int:
    cursor = db.execute(
        "INSERT INTO sent_forms (token, form_id, form_version, partnership_id, recipient_name,"
        " recipient_email, meeting_date, due_date, purpose, sent_at, message_path)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (token, form_id, form_version, partnership_id, recipient_name, recipient_email,
         meeting_date.isoformat() if meeting_date else None,
         due_date.isoformat() if due_date else None, purpose, utc_text(sent_at), message_path))
    return int(cursor.lastrowid or 0)


def was_sent(db: sqlite3.Connection, partnership_id: int, purpose: str, *,
             meeting_date: date | None = None, since: datetime | None = None) -> bool:
    query = "SELECT 1 FROM sent_forms WHERE partnership_id = ? AND purpose = ?"
    args: list[object] = [partnership_id, purpose]
    if meeting_date is not None:
        query += " AND meeting_date = ?"
        args.append(meeting_date.isoformat())
    if since is not None:
        query += " AND sent_at >= ?"
        args.append(utc_text(since))
    return db.execute(query + " LIMIT 1", args).fetchone() is not None


def outstanding(db: sqlite3.Connection) -> list[SentForm]:
    """Forms sent and not yet returned, oldest first."""
    rows = db.execute(_SELECT + " WHERE s.returned_submission_id IS NULL ORDER BY s.sent_at, s.id")
    return [_row(r) for r in rows]


def all_sent(db: sqlite3.Connection) -> list[SentForm]:
    return [_row(r) for r in db.execute(_SELECT + " ORDER BY s.sent_at, s.id")]


_NOT_YET_LINKED = (" AND s.status = 'current' AND s.id NOT IN"
                   " (SELECT returned_submission_id FROM sent_forms"
                   "  WHERE returned_submission_id IS NOT NULL)")


def match_return(db: sqlite3.Connection, sent: SentForm) -> int | None:
    """The current submission that answers `sent`: by token, else by form and partnership.

    Either way it must be for the same meeting (monitoring) or year (survey), and not already
    the answer to another form sent.
    """
    same, args = _same_occasion(sent)
    found = db.execute("SELECT s.id FROM submissions s WHERE s.token = ?" + _NOT_YET_LINKED + same,
                       [sent.token, *args]).fetchone()
    if found is None and sent.partnership:
        found = db.execute(
            "SELECT s.id FROM submissions s WHERE s.form_id = ? AND s.partnership = ? COLLATE NOCASE"
            " AND s.received_at >= ?" + _NOT_YET_LINKED + same + " ORDER BY s.received_at LIMIT 1",
            [sent.form_id, sent.partnership, sent.sent_at, *args]).fetchone()
    return int(found[0]) if found else None


def _same_occasion(sent: SentForm) -> tuple[str, list[object]]:
    if sent.meeting_date:
        return " AND s.record_key LIKE ?", [f"%{sent.meeting_date.isoformat()}%"]
    if sent.purpose == "survey":
        return (" AND EXISTS (SELECT 1 FROM answers a WHERE a.submission_id = s.id"
                " AND a.field_id = 'survey_year' AND CAST(a.value AS INTEGER) = ?)", [int(sent.sent_at[:4])])
    return "", []


def replaced(db: sqlite3.Connection, sent: SentForm) -> bool:
    """A newer form of the same kind has gone to the same partnership since (stop chasing this)."""
    found = db.execute("SELECT 1 FROM sent_forms WHERE partnership_id = ? AND purpose = ?"
                       " AND sent_at > ? AND id != ? AND meeting_date IS ?",
                       (sent.partnership_id, sent.purpose, sent.sent_at, sent.id,
                        sent.meeting_date.isoformat() if sent.meeting_date else None)).fetchone()
    return found is not None


def mark_returned(db: sqlite3.Connection, sent_id: int, submission_id: int) -> None:
    db.execute("UPDATE sent_forms SET returned_submission_id = ? WHERE id = ?",
               (submission_id, sent_id))


def mark_chased(db: sqlite3.Connection, sent_id: int, at: datetime) -> None:
    db.execute("UPDATE sent_forms SET chased_at = ?, chase_count = chase_count + 1 WHERE id = ?",
               (utc_text(at), sent_id))


def status(db: sqlite3.Connection, today: date) -> list[StatusRow]:
    """Per partnership and form: sent / returned / late / missing / chased."""
    tally: dict[tuple[str, str], list[int]] = {}
    late = _late_submissions(db)
    for sent in all_sent(db):
        counts = tally.setdefault((sent.partnership or sent.recipient_email, sent.form_id),
                                  [0, 0, 0, 0, 0])
        counts[0] += 1
        if sent.returned_submission_id is not None:
            counts[1] += 1
            counts[2] += sent.returned_submission_id in late
        elif sent.overdue(today):
            counts[3] += 1
        counts[4] += sent.chase_count > 0
    return [StatusRow(p, f, *c) for (p, f), c in sorted(tally.items())]


def _late_submissions(db: sqlite3.Connection) -> set[int]:
    return {r[0] for r in db.execute("SELECT id FROM submissions WHERE late = 1")}


def expected_returns(db: sqlite3.Connection, form_id: str, start: date | None,
                     end: date | None) -> dict[str, int]:
    """Partnership -> how many returns of `form_id` were asked for meetings in the period."""
    rows = db.execute(
        "SELECT p.name, COUNT(*) FROM sent_forms s JOIN partnerships p ON p.id = s.partnership_id"
        " WHERE s.form_id = ? AND s.meeting_date BETWEEN ? AND ? GROUP BY p.name",
        (form_id, (start or date.min).isoformat(), (end or date.max).isoformat()))
    return {name: count for name, count in rows}
