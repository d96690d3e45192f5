"""Submissions: the returns stored, their history (each superseded by the next) and their answers.

Values go in and come out in the JSON-friendly shape (`pipeline.core.values.to_json_value`; a `date`
is accepted and kept as its `YYYY-MM-DD` text). Each answer is one row of `answers`, its value
kept with the database's own type (text, integer, real), so `3`, `3.0` and `"3"` come back exactly
as they went in. What is not kept, and so comes back absent from a record's values:
- a value that is None, "" or [];
- a table's blank rows (every cell None or blank): the rows kept are renumbered 0, 1, 2...;
- a None cell in a row that is kept: it comes back None for every column the table has in some
  stored row, and is absent only when the column is empty in every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

from pipeline.core.values import is_empty
from pipeline.store.base import StoreBase
from pipeline.store.connection import Database, Row, utc_text
from pipeline.store.rows import (
    SINGLE,
    AlreadyStored,
    Cell,
    JsonValues,
    NewSubmission,
    Record,
    SubmissionRow,
    SubmissionStatus,
    UnmatchedReturn,
)


class SubmissionsMixin(StoreBase):
    """The returns stored and their answers; which partnership each is from."""

    def submission_by_sha256(self, sha256: str) -> SubmissionRow | None:
        """The first submission stored with exactly these bytes (any status), or None."""
        with self._guard("look for an earlier copy"):
            row = self._db.execute(
                "SELECT * FROM submissions WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,)
            ).fetchone()
        return None if row is None else _submission_row(row)

    def add_submission(self, new: NewSubmission, intake_id: int) -> tuple[int, list[int]]:
        """Store `new` as the current return for its key; returns (its id, ids it superseded).

        The later return (by `received_at`) is the current one: a return older than the current one
        (emails saved into the inbox out of order) goes straight into the history, superseded.
        """
        answers = _encode_values(new.values)
        with self._writing(f"store a return of form {new.form_id}") as db:
            # The duplicate check is inside the write lock, backed by stored_files' key: any
            # number of simultaneous ingests of one file store it once.
            db.serialize(f"return {new.form_id} {new.record_key}")  # PostgreSQL: one at a time per return
            db.serialize(f"file {new.sha256}")
            earlier = db.execute("SELECT submission_id FROM stored_files WHERE sha256 = ?",
                                 (new.sha256,)).fetchone()
            if earlier is not None:
                raise AlreadyStored(int(earlier[0]))
            current = db.execute(
                "SELECT id, received_at FROM submissions"
                " WHERE form_id=? AND record_key=? AND status='current'",
                (new.form_id, new.record_key),
            ).fetchall()
            newer = [row[0] for row in current if row[1] > utc_text(new.received_at)]
            superseded = [] if newer else [row[0] for row in current]
            _set_status(db, superseded, SubmissionStatus.SUPERSEDED)
            status = SubmissionStatus.SUPERSEDED if newer else SubmissionStatus.CURRENT
            submission_id = _insert_submission(db, new, intake_id, status)
            if newer:
                db.execute("UPDATE submissions SET superseded_by=? WHERE id=?", (newer[0], submission_id))
            db.execute("INSERT INTO stored_files (sha256, submission_id) VALUES (?, ?)",
                       (new.sha256, submission_id))
            db.executemany(
                "INSERT INTO answers (submission_id, field_id, row_index, column_id, item, value)"
                " VALUES (?,?,?,?,?,?)",
                [(submission_id, *answer[:4], db.answer_value(answer[4])) for answer in answers],
            )
            db.executemany(
                "UPDATE submissions SET superseded_by=? WHERE id=?",
                [(submission_id, old) for old in superseded],
            )
        return submission_id, superseded

    def records(self, form_id: str, *, status: SubmissionStatus | str = "current") -> list[Record]:
        """Every submission of `form_id` with `status`, oldest received first, with values."""
        status = SubmissionStatus(status).value
        return self._records("WHERE form_id = ? AND status = ?", (form_id, status), "received_at, id")

    def history(self, form_id: str, record_key: str) -> list[Record]:
        """Every submission of one return, in the order stored (each superseded the one before)."""
        return self._records("WHERE form_id = ? AND record_key = ?", (form_id, record_key), "id")

    def _records(self, where: str, params: tuple[object, ...], order: str) -> list[Record]:
        with self._reading("read the returns") as db:
            rows = db.execute(f"SELECT * FROM submissions {where} ORDER BY {order}", params).fetchall()
            values = _values_by_submission(
                db.tuples(  # plain tuples: this can be millions of rows
                    "SELECT submission_id, field_id, row_index, column_id, item, value FROM answers"
                    f" WHERE submission_id IN (SELECT id FROM submissions {where})"
                    " ORDER BY submission_id, field_id, row_index, column_id, item",
                    params,
                )
            )
        return [_record(row, values.get(row["id"], {})) for row in rows]

    def unmatched(self) -> list[UnmatchedReturn]:
        """Current returns from no partnership on the register, oldest first."""
        with self._guard("list the returns not matched to the register"):
            rows = self._db.execute(
                "SELECT s.id, s.form_id, s.partnership, s.received_at FROM submissions s"
                " JOIN submission_partnerships m ON m.submission_id = s.id"
                " WHERE s.status = 'current' AND m.partnership_id IS NULL ORDER BY s.received_at, s.id"
            ).fetchall()
        return [UnmatchedReturn(r["id"], r["form_id"], r["partnership"], r["received_at"]) for r in rows]

    def returns_not_expected(self) -> list[UnmatchedReturn]:
        """Current returns from a register partnership that answer no form the pipeline sent
        (a meeting it sent no form for, or a form the clerk handed out another way)."""
        with self._guard("list the returns that answer no form sent"):
            rows = self._db.execute(
                "SELECT s.id, s.form_id, p.name AS partnership, s.received_at FROM submissions s"
                " JOIN submission_partnerships m ON m.submission_id = s.id"
                " JOIN partnerships p ON p.id = m.partnership_id"
                " WHERE s.status = 'current' AND NOT EXISTS (SELECT 1 FROM sent_forms f"
                " WHERE f.returned_submission_id = s.id) ORDER BY s.received_at, s.id"
            ).fetchall()
        return [UnmatchedReturn(r["id"], r["form_id"], r["partnership"], r["received_at"]) for r in rows]

    def not_matched(self, submission_id: int) -> bool:
        """True when the register has partnerships and the return is from none of them."""
        with self._guard(f"match return {submission_id} to the register"):
            row = self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM partnerships) AND m.partnership_id IS NULL"
                " FROM submission_partnerships m WHERE m.submission_id = ?", (submission_id,)
            ).fetchone()
        return bool(row and row[0])

    def match(self, submission_id: int, partnership_id: int) -> None:
        """Record that the return `submission_id` is from the register's `partnership_id`."""
        with self._writing(f"match return {submission_id} to the register"):
            self._db.execute("UPDATE submissions SET partnership_id = ? WHERE id = ?",
                             (partnership_id, submission_id))

    def submission(self, submission_id: int) -> SubmissionRow | None:
        with self._guard(f"read return {submission_id}"):
            row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        return _submission_row(row) if row else None

    def submission_partnership(self, submission_id: int) -> int | None:
        """The register partnership a return is from (matched, by token, or by name), or None."""
        with self._guard("read a return's partnership"):
            row = self._db.execute(
                "SELECT partnership_id FROM submission_partnerships WHERE submission_id = ?",
                (submission_id,)).fetchone()
        return None if row is None else row[0]


    def has_current_return(self, form_id: str, partnership: str, since: datetime) -> bool:
        """True when a current return of `form_id` from `partnership` (capitals ignored) came
        in on or after `since`."""
        with self._reading(f"look for a current {form_id} return") as db:
            return db.execute(
                "SELECT 1 FROM submissions WHERE form_id = ? AND status = 'current'"
                " AND lower(partnership) = lower(?) AND received_at >= ? LIMIT 1",
                (form_id, partnership, utc_text(since))).fetchone() is not None


def _set_status(db: Database, ids: list[int], status: SubmissionStatus) -> None:
    db.executemany("UPDATE submissions SET status=? WHERE id=?", [(status.value, i) for i in ids])


def _insert_submission(db: Database, new: NewSubmission, intake_id: int,
                       status: SubmissionStatus = SubmissionStatus.CURRENT) -> int:
    return db.insert(
        "INSERT INTO submissions (intake_id, form_id, form_version, form_hash, token,"
        " partnership, record_key, sha256, sender, received_at, late, due_date, status,"
        " marking, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            intake_id,
            new.form_id,
            new.form_version,
            new.form_hash,
            new.token,
            new.partnership,
            new.record_key,
            new.sha256,
            new.sender,
            utc_text(new.received_at),
            int(new.late),
            None if new.due_date is None else new.due_date.isoformat(),
            status.value,
            new.marking,
            utc_text(datetime.now(UTC)),
        ),
    )


def _submission_row(row: Row) -> SubmissionRow:
    data = dict(row)
    data["late"] = bool(data["late"])
    data["status"] = SubmissionStatus(data["status"])
    return SubmissionRow(**data)


def _record(row: Row, values: JsonValues) -> Record:
    return Record(
        submission_id=row["id"],
        form_id=row["form_id"],
        form_version=row["form_version"],
        received_at=row["received_at"],
        sender=row["sender"],
        late=bool(row["late"]),
        token=row["token"],
        partnership=row["partnership"],
        record_key=row["record_key"],
        due_date=row["due_date"],
        status=SubmissionStatus(row["status"]),
        superseded_by=row["superseded_by"],
        marking=row["marking"],
        values=values,
    )


Answer: TypeAlias = tuple[str, int, str, int, Cell]  # field_id, row_index, column_id, item, value
_INT_RANGE = range(-(2**63), 2**63)  # what a 64-bit integer column holds


def _encode_values(values: dict[str, Any]) -> list[Answer]:
    """The answer rows for one submission's values (see the module docstring for what is kept)."""
    answers: list[Answer] = []
    for field_id, value in values.items():
        answers.extend(_encode_field(field_id, value))
    return answers


def _encode_field(field_id: str, value: object) -> Iterator[Answer]:
    if value is None or value == "" or value == []:
        return
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        kept = [row for row in value if not is_empty(row)]
        for row_index, row in enumerate(kept):
            for column_id, cell in row.items():
                if cell is not None:
                    yield field_id, row_index, column_id, SINGLE, _cell(field_id, cell)
    elif isinstance(value, list):
        for item, choice in enumerate(value):
            yield field_id, SINGLE, "", item, _cell(field_id, choice)
    else:
        yield field_id, SINGLE, "", SINGLE, _cell(field_id, value)


def _cell(field_id: str, value: object) -> str | int | float:
    """`value` as SQLite keeps it exactly: text, a 64-bit integer or a (non-NaN) float."""
    if isinstance(value, date):  # a datetime is a date too: kept as its ISO text
        return value.isoformat()
    if isinstance(value, str) or (isinstance(value, float) and value == value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT_RANGE:
        return value
    raise ValueError(f"Field {field_id!r} has a value the database cannot keep: {value!r}")


def _values_by_submission(answers: Iterable[tuple[Any, ...]]) -> dict[int, JsonValues]:
    """Rebuild each submission's values from its answer rows, given in primary-key order."""
    found: dict[int, dict[str, Any]] = {}
    tables: list[list[dict[str, Cell]]] = []
    for submission_id, field_id, row_index, column_id, item, value in answers:
        values = found.setdefault(submission_id, {})
        if row_index != SINGLE:
            table = values.get(field_id)
            if table is None:
                table = values[field_id] = []
                tables.append(table)
            while len(table) <= row_index:
                table.append({})
            table[row_index][column_id] = value
        elif item != SINGLE:
            values.setdefault(field_id, []).append(value)
        else:
            values[field_id] = value
    for table in tables:
        _fill_missing_cells(table)
    return found


def _fill_missing_cells(table: list[dict[str, Cell]]) -> None:
    """Give every row every column the table has, None where the cell was not stored."""
    columns = list(dict.fromkeys(column for row in table for column in row))
    for row in table:
        if len(row) < len(columns):
            row.update({column: row.get(column) for column in columns})
