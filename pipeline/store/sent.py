"""Personal copies issued (their tokens) and the forms the scheduler sent, and what came back.

Each form sent out is a row of `sent_forms` keyed by the token inside the file; a return carrying
that token (or, when a PDF lost it, the same form and partnership) marks it returned.
"""

from __future__ import annotations

from datetime import date, datetime

from pipeline.store.base import StoreBase
from pipeline.store.connection import Row, utc_text
from pipeline.store.rows import IssuedToken, NewSentForm, SentForm, StatusRow


class SentMixin(StoreBase):
    """Tokens issued, forms sent, returns matched to them, chasers."""

    def record_token(self, token: str, *, form_id: str, form_version: int | None,
                     partnership: str | None, member: str | None, meeting_date: date | None,
                     sent_to: str | None, issued_by: str, at: datetime) -> None:
        """Remember a personal copy's token when it is made (kept if it was recorded before)."""
        with self._writing("record a personal copy of a form") as db:
            db.execute(
                "INSERT INTO issued_tokens (token, form_id, form_version, partnership, member,"
                " meeting_date, sent_to, issued_by, issued_at) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (token) DO UPDATE SET"
                " sent_to = COALESCE(excluded.sent_to, issued_tokens.sent_to)",
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
        where, args = ("WHERE lower(name) = lower(?)", (partnership,)) if partnership else ("", ())
        with self._reading("read the register's addresses") as db:
            rows = db.execute("SELECT representative_email, lead_officer_email FROM partnerships "
                              + where, args).fetchall()
            where = "WHERE lower(partnership) = lower(?)" if partnership else ""
            sent = db.execute(f"SELECT sent_to FROM issued_tokens {where}", args).fetchall()
        found = {value for row in rows for value in row} | {row[0] for row in sent}
        return {value.strip().lower() for value in found if value and "@" in value}

    # --- forms sent by the scheduler ---------------------------------------------------------

    def record_sent(self, sent: NewSentForm) -> int:
        """Remember a form emailed (after the mail server took it); returns its row's id."""
        with self._writing(f"record the {sent.form_id} form sent to {sent.recipient_email}") as db:
            return db.insert(
                "INSERT INTO sent_forms (token, form_id, form_version, partnership_id, recipient_name,"
                " recipient_email, meeting_date, due_date, purpose, sent_at, message_path)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (sent.token, sent.form_id, sent.form_version, sent.partnership_id, sent.recipient_name,
                 sent.recipient_email, _iso(sent.meeting_date), _iso(sent.due_date), sent.purpose,
                 utc_text(sent.sent_at), sent.message_path))

    def was_sent(self, partnership_id: int, purpose: str, *,
                 meeting_date: date | None = None, since: datetime | None = None) -> bool:
        """True when a form of `purpose` went to the partnership (for that meeting, or since)."""
        query = "SELECT 1 FROM sent_forms WHERE partnership_id = ? AND purpose = ?"
        args: list[str | int] = [partnership_id, purpose]
        if meeting_date is not None:
            query += " AND meeting_date = ?"
            args.append(meeting_date.isoformat())
        if since is not None:
            query += " AND sent_at >= ?"
            args.append(utc_text(since))
        with self._reading("read the forms sent") as db:
            return db.execute(query + " LIMIT 1", args).fetchone() is not None

    def outstanding(self) -> list[SentForm]:
        """Forms sent and not yet returned, oldest first."""
        return self._sent_forms("WHERE s.returned_submission_id IS NULL ORDER BY s.sent_at, s.id")

    def all_sent(self) -> list[SentForm]:
        """Every form sent, oldest first."""
        return self._sent_forms("ORDER BY s.sent_at, s.id")

    def _sent_forms(self, where: str) -> list[SentForm]:
        with self._reading("read the forms sent") as db:
            rows = db.execute("SELECT s.*, p.name AS partnership FROM sent_forms s"
                              f" LEFT JOIN partnerships p ON p.id = s.partnership_id {where}").fetchall()
        return [_sent_form(row) for row in rows]

    def match_return(self, sent: SentForm) -> int | None:
        """The current submission that answers `sent`: by token, else by form and partnership.

        Either way it must be for the same meeting (monitoring) or year (survey), and not already
        the answer to another form sent.
        """
        same, args = _same_occasion(sent)
        with self._reading("match the returns to the forms sent") as db:
            found = db.execute("SELECT s.id FROM submissions s WHERE s.token = ?" + _NOT_YET_LINKED + same,
                               [sent.token, *args]).fetchone()
            if found is None and sent.partnership:
                found = db.execute(
                    "SELECT s.id FROM submissions s WHERE s.form_id = ?"
                    " AND lower(s.partnership) = lower(?) AND s.received_at >= ?"
                    + _NOT_YET_LINKED + same + " ORDER BY s.received_at LIMIT 1",
                    [sent.form_id, sent.partnership, sent.sent_at, *args]).fetchone()
        return int(found[0]) if found else None

    def replaced(self, sent: SentForm) -> bool:
        """A newer form of the same kind has gone to the same partnership since (stop chasing this)."""
        with self._reading("read the forms sent") as db:
            found = db.execute("SELECT 1 FROM sent_forms WHERE partnership_id = ? AND purpose = ?"
                               " AND sent_at > ? AND id != ? AND meeting_date IS NOT DISTINCT FROM ?",
                               (sent.partnership_id, sent.purpose, sent.sent_at, sent.id,
                                _iso(sent.meeting_date))).fetchone()
        return found is not None

    def mark_returned(self, sent_id: int, submission_id: int) -> None:
        with self._writing("record a form as returned") as db:
            db.execute("UPDATE sent_forms SET returned_submission_id = ? WHERE id = ?",
                       (submission_id, sent_id))

    def mark_chased(self, sent_id: int, at: datetime) -> None:
        with self._writing("record a reminder sent") as db:
            db.execute("UPDATE sent_forms SET chased_at = ?, chase_count = chase_count + 1 WHERE id = ?",
                       (utc_text(at), sent_id))

    def sent_status(self, today: date) -> list[StatusRow]:
        """Per partnership and form: sent / returned / late / missing / chased."""
        with self._reading("count the forms sent and returned") as db:
            late = {int(r[0]) for r in db.execute("SELECT id FROM submissions WHERE late = 1")}
            sent_forms = self.all_sent()
        tally: dict[tuple[str, str], list[int]] = {}
        for sent in sent_forms:
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


_NOT_YET_LINKED = (" AND s.status = 'current' AND s.id NOT IN"
                   " (SELECT returned_submission_id FROM sent_forms"
                   "  WHERE returned_submission_id IS NOT NULL)")


def _same_occasion(sent: SentForm) -> tuple[str, list[str | int]]:
    if sent.meeting_date:
        return " AND s.record_key LIKE ?", [f"%{sent.meeting_date.isoformat()}%"]
    if sent.purpose == "survey":
        return (" AND EXISTS (SELECT 1 FROM answers a WHERE a.submission_id = s.id"
                " AND a.field_id = 'survey_year' AND CAST(a.value AS INTEGER) = ?)", [int(sent.sent_at[:4])])
    return "", []


def _sent_form(row: Row) -> SentForm:
    return SentForm(
        id=row["id"], token=row["token"], form_id=row["form_id"],
        partnership_id=row["partnership_id"], partnership=row["partnership"],
        recipient_name=row["recipient_name"], recipient_email=row["recipient_email"],
        meeting_date=_day(row["meeting_date"]), due_date=_day(row["due_date"]),
        purpose=row["purpose"], sent_at=row["sent_at"], chased_at=row["chased_at"],
        chase_count=row["chase_count"], returned_submission_id=row["returned_submission_id"])


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
