"""The partnership register (partnerships and their meetings) and the committee calendar.

`pipeline.schedule.register` and `pipeline.schedule.committees` read the workbook, the calendar
and committees.yaml and decide what to store; these methods are the only place that stores it.
Names are matched ignoring capitals (the columns are case-insensitive).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from pipeline.store.base import StoreBase
from pipeline.store.connection import Row, utc_text
from pipeline.store.rows import (
    Cell,
    CommitteeMeetingRow,
    CommitteeRow,
    FoundMeeting,
    PartnershipMeetingRow,
    PartnershipRow,
)

# the register's columns, as `partnerships` stores them (id and updated_at are the store's)
PARTNERSHIP_COLUMNS = ("name", "type", "area", "representative", "representative_email", "lead_officer",
                       "lead_officer_email", "risk_money", "risk_resources", "risk_targets",
                       "risk_property_staff", "risk_contracts", "notes")
RISK_COLUMNS = ("risk_money", "risk_resources", "risk_targets", "risk_property_staff", "risk_contracts")


class RegisterMixin(StoreBase):
    """Partnerships, their meetings, committees and committee meetings."""

    # --- partnerships ---------------------------------------------------------------------------

    def partnership_rows(self) -> list[PartnershipRow]:
        """Every partnership on the register, by name."""
        with self._reading("read the partnership register") as db:
            rows = db.execute("SELECT * FROM partnerships ORDER BY name").fetchall()
        return [_partnership(row) for row in rows]

    def partnership_row(self, name: str) -> PartnershipRow | None:
        """The partnership called `name` (capitals and outer spaces ignored), or None."""
        with self._reading("read the partnership register") as db:
            row = db.execute("SELECT * FROM partnerships WHERE name = ?", (name.strip(),)).fetchone()
        return None if row is None else _partnership(row)

    def put_partnership(self, values: Mapping[str, Cell | bool]) -> str:
        """Add or update a partnership by name; returns "added", "updated" or "unchanged"."""
        row = {key: int(value) if isinstance(value, bool) else value
               for key, value in values.items() if key in PARTNERSHIP_COLUMNS}
        with self._writing(f"store the partnership {row.get('name')}") as db:
            old = db.execute("SELECT * FROM partnerships WHERE name = ?", (row["name"],)).fetchone()
            if old is not None and all(_same(old[key], row.get(key)) for key in PARTNERSHIP_COLUMNS):
                return "unchanged"
            row["updated_at"] = utc_text(datetime.now(UTC))
            if old is None:
                db.execute(f"INSERT INTO partnerships ({', '.join(row)})"
                           f" VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
                return "added"
            db.execute(f"UPDATE partnerships SET {', '.join(f'{key} = ?' for key in row)} WHERE id = ?",
                       (*row.values(), old["id"]))
            return "updated"

    def partnership_meeting(self, partnership_id: int, day: date) -> tuple[str | None, str | None] | None:
        """The stored (title, place) of a partnership's meeting on `day`, or None."""
        with self._reading("read the partnership meetings") as db:
            row = db.execute("SELECT title, place FROM partnership_meetings"
                             " WHERE partnership_id = ? AND meeting_date = ?",
                             (partnership_id, day.isoformat())).fetchone()
        return None if row is None else (row["title"], row["place"])

    def put_partnership_meeting(self, partnership_id: int, day: date, title: str | None,
                                place: str | None) -> None:
        with self._writing("store a partnership meeting") as db:
            db.execute(
                "INSERT INTO partnership_meetings (partnership_id, meeting_date, title, place)"
                " VALUES (?,?,?,?) ON CONFLICT (partnership_id, meeting_date) DO UPDATE SET"
                " title = excluded.title, place = excluded.place",
                (partnership_id, day.isoformat(), title, place))

    def partnership_meetings_between(self, start: date, end: date) -> list[PartnershipMeetingRow]:
        """Partnership meetings from `start` to `end` (both included), by date then partnership."""
        with self._reading("read the partnership meetings") as db:
            rows = db.execute(
                "SELECT p.name, m.meeting_date, m.title, m.place, m.partnership_id"
                " FROM partnership_meetings m JOIN partnerships p ON p.id = m.partnership_id"
                " WHERE m.meeting_date BETWEEN ? AND ? ORDER BY m.meeting_date, p.name",
                (start.isoformat(), end.isoformat())).fetchall()
        return [PartnershipMeetingRow(row["name"], date.fromisoformat(row["meeting_date"]), row["title"],
                                      row["place"], row["partnership_id"]) for row in rows]

    # --- committees and their meetings -------------------------------------------------------

    def committee_rows(self) -> list[CommitteeRow]:
        """Every committee, by name, with the papers it takes."""
        with self._reading("read the committees") as db:
            rows = db.execute("SELECT name, papers FROM committees ORDER BY name").fetchall()
        return [CommitteeRow(row["name"], tuple(json.loads(row["papers"]))) for row in rows]

    def committee_meetings(self, *, committee: str | None = None,
                           from_date: date | None = None) -> list[CommitteeMeetingRow]:
        """Meetings in date order (then committee), all or one committee's, on or after `from_date`."""
        where, params = ["1=1"], []
        if committee is not None:
            where.append("c.name = ?")
            params.append(committee)
        if from_date is not None:
            where.append("m.meeting_date >= ?")
            params.append(from_date.isoformat())
        with self._reading("read the committee meetings") as db:
            rows = db.execute(
                "SELECT c.name, c.papers, m.meeting_date, m.title FROM committee_meetings m"
                f" JOIN committees c ON c.id = m.committee_id WHERE {' AND '.join(where)}"
                " ORDER BY m.meeting_date, c.name", params).fetchall()
        return [CommitteeMeetingRow(row["name"], tuple(json.loads(row["papers"])),
                                    date.fromisoformat(row["meeting_date"]), row["title"]) for row in rows]

    def last_meeting_before(self, committee: str, day: date) -> date | None:
        """The committee's latest meeting before `day`, or None."""
        with self._reading("read the committee meetings") as db:
            found = db.execute(
                "SELECT MAX(m.meeting_date) FROM committee_meetings m"
                " JOIN committees c ON c.id = m.committee_id WHERE c.name = ? AND m.meeting_date < ?",
                (committee, day.isoformat())).fetchone()[0]
        return date.fromisoformat(found) if found else None

    def committee_id(self, name: str, papers: Sequence[str] | None) -> int:
        """The committee's id, adding it if new; `papers`, when given, replace its papers."""
        with self._writing(f"store the committee {name}") as db:
            row = db.execute("SELECT id FROM committees WHERE name = ?", (name,)).fetchone()
            if row is None:
                return db.insert("INSERT INTO committees (name, papers) VALUES (?, ?)",
                                 (name, json.dumps(list(papers or []))))
            if papers is not None:
                db.execute("UPDATE committees SET papers = ? WHERE id = ?",
                           (json.dumps(list(papers)), row["id"]))
            return int(row["id"])

    def record_committee_meeting(self, committee_id: int, meeting: FoundMeeting, source: str) -> str:
        """Store one meeting unless known; returns "added", "known" or "moved" (a calendar
        event now on another date: moved, or dropped when that date is already a meeting)."""
        day = meeting.date.isoformat()
        with self._writing("store a committee meeting") as db:
            same_uid = None
            if meeting.uid:
                same_uid = db.execute(
                    "SELECT id, meeting_date FROM committee_meetings WHERE committee_id = ? AND uid = ?",
                    (committee_id, meeting.uid)).fetchone()
            same_day = db.execute(
                "SELECT id, uid FROM committee_meetings WHERE committee_id = ? AND meeting_date = ?",
                (committee_id, day)).fetchone()
            if same_uid is not None and same_uid["meeting_date"] != day:
                if same_day is not None:
                    db.execute("DELETE FROM committee_meetings WHERE id = ?", (same_uid["id"],))
                else:
                    db.execute("UPDATE committee_meetings SET meeting_date = ?, title = ? WHERE id = ?",
                               (day, meeting.title, same_uid["id"]))
                return "moved"
            if same_day is not None:
                if same_day["uid"] is None and meeting.uid:
                    db.execute("UPDATE committee_meetings SET uid = ? WHERE id = ?",
                               (meeting.uid, same_day["id"]))
                return "known"
            db.execute("INSERT INTO committee_meetings (committee_id, meeting_date, title, uid, source)"
                       " VALUES (?, ?, ?, ?, ?)", (committee_id, day, meeting.title, meeting.uid, source))
            return "added"

    def remove_committee_meeting_uid(self, committee_id: int, uid: str) -> int:
        """Remove the meetings of a calendar event (cancelled); returns how many."""
        with self._writing("remove a cancelled meeting") as db:
            return db.execute("DELETE FROM committee_meetings WHERE committee_id = ? AND uid = ?",
                              (committee_id, uid)).rowcount

    def remove_unlisted_meetings(self, committee_id: int, source: str, listed: Sequence[date]) -> int:
        """Remove the committee's meetings from `source` not on `listed`; returns how many."""
        days = [day.isoformat() for day in listed]
        keep = f" AND meeting_date NOT IN ({','.join('?' * len(days))})" if days else ""
        with self._writing("remove the meetings no longer listed") as db:
            return db.execute(f"DELETE FROM committee_meetings WHERE committee_id = ? AND source = ?{keep}",
                              (committee_id, source, *days)).rowcount


def _same(stored: Cell, given: Cell | bool | None) -> bool:
    return stored == given


def _partnership(row: Row) -> PartnershipRow:
    values = dict(row)
    for column in RISK_COLUMNS:
        values[column] = bool(values[column])
    return PartnershipRow(**values)
