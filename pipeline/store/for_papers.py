"""The stored returns as papers read them: a read-only connection that aggregates in SQL.

`Store.records()` builds every record's values in Python, which for 100,000 returns takes
seconds and more memory than a paper may use. Papers need a few fields of many returns and a
capped list of table rows, so they ask the database for exactly that (schema: `pipeline.store.schema`).
The connection is opened read-only: writing a paper can never change the database.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.core.config import Settings, database_url
from pipeline.core.dates import london_day
from pipeline.core.errors import StoreError
from pipeline.store.connection import SQLITE, Database, ReadOnlySQLite

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
CHOSEN = "paper_chosen"  # the returns a paper is about, for joining their table rows (a temporary table)


@dataclass(frozen=True)
class Submission:
    """One stored return, with the single-value fields a paper asked for.

    `partnership` is the name as the member typed it; `partnership_id` and `register_name` the
    register entry it is from (matched by the clerk, by the token of the form sent, or by name),
    both None when it is not matched to the register.
    """

    id: int
    partnership: str | None
    late: bool
    current: bool
    marking: str | None
    received_at: str
    values: dict[str, Any]
    partnership_id: int | None = None
    register_name: str | None = None


@dataclass(frozen=True)
class RegisterEntry:
    """A partnership on the register, and whether the register makes it high-risk."""

    id: int
    name: str
    high_risk: bool


@dataclass(frozen=True)
class SentRow:
    """A form the scheduler sent to a register partnership."""

    partnership_id: int
    sent_on: date
    due_on: date | None
    meeting_date: date | None
    returned: bool


@dataclass(frozen=True)
class Test:
    """A condition on a table row's column: `op` is "<", ">=" or "present"."""

    column: str
    op: str
    value: object = None


class StoredReturns:
    """Read-only queries over the pipeline database for papers."""

    def __init__(self, connection: Database | None) -> None:
        self._db = connection  # None: there is no database yet, so nothing has been returned
        self._chosen = "temp." + CHOSEN
        if connection is not None and connection.dialect != SQLITE:
            self._chosen = "pg_temp." + CHOSEN

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[StoredReturns]:
        """The SQLite store at `path`, read-only (none yet: a paper with nothing returned)."""
        if not Path(path).is_file():
            yield cls(None)
            return
        try:
            connection = ReadOnlySQLite(path)
            has_tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'submissions'"
            ).fetchone()[0]
            connection.execute(
                f"CREATE TABLE temp.{CHOSEN} (id INTEGER PRIMARY KEY, partnership TEXT, meeting TEXT)"
            )
        except sqlite3.Error as exc:
            raise StoreError(f"The database at {path} could not be read for the paper: {exc}.") from exc
        try:
            yield cls(connection if has_tables else None)
        finally:
            connection.close()

    @classmethod
    @contextmanager
    def for_home(cls, settings: Settings) -> Iterator[StoredReturns]:
        """The home's store (PostgreSQL when a URL is set, else its SQLite file), read-only."""
        url = database_url(settings)
        with cls.connect(url) if url else cls.open(settings.database) as source:
            yield source

    @classmethod
    @contextmanager
    def connect(cls, url: str) -> Iterator[StoredReturns]:
        """The PostgreSQL store at `url`, in a session that can write nothing but its own
        temporary table."""
        from pipeline.store.postgres import PostgresDatabase, plain_postgres, shown

        try:
            connection = PostgresDatabase(url)
            connection.execute(f"CREATE TEMPORARY TABLE {CHOSEN} (id INTEGER PRIMARY KEY,"
                               " partnership TEXT, meeting TEXT)")
            connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except Exception as exc:  # psycopg's errors: refused, unknown host, bad password
            raise StoreError(f"The {shown(url)} could not be read for the paper:"
                             f" {plain_postgres(exc)}.") from exc
        try:
            yield cls(connection)
        finally:
            connection.close()

    def _pick(self, condition: str) -> str:
        """The one answer of a group that meets `condition` (an answer's value, any type)."""
        if self._db is not None and self._db.dialect != SQLITE:
            return f"(array_agg(a.value) FILTER (WHERE {condition}))[1]"
        return f"MAX(CASE WHEN {condition} THEN a.value END)"

    def _value(self, value: object) -> object:
        return value if self._db is None else self._db.answer_value(value)

    def submissions(
        self,
        form_id: str,
        fields: Sequence[str],
        *,
        period_field: str | None = None,
        bounds: tuple[object, object] | None = None,
        with_superseded: bool = False,
        by_partnership: bool = False,
    ) -> Iterator[Submission]:
        """Returns of `form_id` (current, or every status) with `fields`, by id (or by partnership).

        With `period_field` and `bounds`, only returns whose `period_field` lies within them.
        Streamed from the cursor: 100,000 returns are never all in memory at once.
        """
        if self._db is None:
            return
        names = [_checked(name) for name in fields]
        picked = ", ".join(f'{self._pick("a.field_id = ?")} AS "{n}"' for n in names)
        within, params = "", [*names, form_id, *names]
        if period_field is not None and bounds is not None:
            within = f'WHERE "{_checked(period_field)}" BETWEEN ? AND ?'
            params += [self._value(bound) for bound in bounds]
        status = "" if with_superseded else "AND s.status = 'current'"
        sql = (
            "SELECT * FROM (SELECT s.id, s.partnership, s.late, s.status, s.marking, s.received_at,"
            " m.partnership_id, (SELECT name FROM partnerships WHERE id = m.partnership_id)"
            f" AS register_name, {picked}"
            " FROM submissions s JOIN answers a ON a.submission_id = s.id AND a.row_index = -1"
            " JOIN submission_partnerships m ON m.submission_id = s.id"
            f" WHERE s.form_id = ? {status} AND a.field_id IN ({', '.join('?' * len(names))})"
            " GROUP BY s.id, m.partnership_id) AS picked"
            f" {within} ORDER BY " + ("lower(partnership), id" if by_partnership else "id")
        )
        for row in self._stream(sql, params):
            ident, partnership, late, status_text, marking, received, matched, name, *values = row
            yield Submission(
                ident,
                partnership,
                bool(late),
                status_text == "current",
                marking,
                received,
                dict(zip(names, values, strict=True)),
                matched,
                name,
            )

    def register(self) -> list[RegisterEntry]:
        """Every partnership on the register, by name (high-risk: any of the five criteria)."""
        if self._db is None:
            return []
        rows = self._query(
            "SELECT id, name, risk_money + risk_resources + risk_targets + risk_property_staff"
            " + risk_contracts FROM partnerships ORDER BY lower(name)",
            (),
        )
        return [RegisterEntry(ident, name, bool(risks)) for ident, name, risks in rows]

    def register_meetings(self, start: str, end: str) -> list[tuple[int, date]]:
        """(partnership id, date) of each register meeting from `start` to `end` (ISO dates)."""
        if self._db is None:
            return []
        rows = self._query(
            "SELECT partnership_id, meeting_date FROM partnership_meetings"
            " WHERE meeting_date BETWEEN ? AND ? ORDER BY meeting_date",
            (start, end),
        )
        return [(ident, date.fromisoformat(day)) for ident, day in rows]

    def sent(self, purpose: str) -> list[SentRow]:
        """The forms of `purpose` sent to register partnerships, oldest first."""
        if self._db is None:
            return []
        rows = self._query(
            "SELECT partnership_id, sent_at, due_date, meeting_date, returned_submission_id"
            " FROM sent_forms WHERE purpose = ? AND partnership_id IS NOT NULL ORDER BY sent_at, id",
            (purpose,),
        )
        return [
            SentRow(ident, _london_day(sent), _day(due), _day(meeting), returned is not None)
            for ident, sent, due, meeting, returned in rows
        ]

    def partnerships(self, form_id: str) -> list[tuple[str | None, str | None, int | None]]:
        """(partnership as typed, marking, register partnership id) of each current return."""
        if self._db is None:
            return []
        return self._query(
            "SELECT s.partnership, s.marking, m.partnership_id FROM submissions s"
            " JOIN submission_partnerships m ON m.submission_id = s.id"
            " WHERE s.form_id = ? AND s.status = 'current'",
            (form_id,),
        )

    def choose(self, chosen: Sequence[tuple[int, str, str]]) -> None:
        """Remember the returns (id, partnership shown, meeting date) whose table rows are wanted."""
        if self._db is None:
            return
        self._db.execute(f"DELETE FROM {self._chosen}")
        self._db.executemany(f"INSERT INTO {self._chosen} VALUES (?, ?, ?)", chosen)

    def table_rows(
        self,
        field_id: str,
        columns: Sequence[str],
        tests: Sequence[Test] = (),
        *,
        order: Sequence[str],
        limit: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows of table `field_id` among the chosen returns, with `partnership` and `meeting`,
        and how many rows pass the tests in all (one pass: the count rides along as a window).

        `order` names columns (prefix "-" for descending); at most `limit` rows are returned.
        """
        if self._db is None:
            return [], 0
        inner, params = self._pivot(field_id, columns)
        where, more = _where(tests)
        more = [self._value(value) for value in more]
        ordering = ", ".join(_order_term(term) for term in (*order, "submission_id", "row_index"))
        sql = f"SELECT *, count(*) OVER () FROM ({inner}) AS pivot {where} ORDER BY {ordering} LIMIT ?"
        names = ["submission_id", "row_index", "partnership", "meeting", *columns]
        found = self._query(sql, [*params, *more, limit])
        rows = [dict(zip(names, row[:-1], strict=True)) for row in found]
        return rows, int(found[0][-1]) if found else 0

    def _pivot(self, field_id: str, columns: Sequence[str]) -> tuple[str, list[object]]:
        names = [_checked(column) for column in columns]
        picked = ", ".join(f'{self._pick("a.column_id = ?")} AS "{n}"' for n in names)
        sql = (
            f"SELECT a.submission_id, a.row_index, c.partnership, c.meeting, {picked}"
            f" FROM {self._chosen} c JOIN answers a ON a.submission_id = c.id AND a.field_id = ?"
            " GROUP BY a.submission_id, a.row_index, c.partnership, c.meeting"
        )
        return sql, [*names, field_id]

    def _stream(self, sql: str, params: Sequence[object]) -> Iterator[Any]:
        assert self._db is not None
        try:
            cursor = self._db.execute(sql, tuple(params))
            while batch := cursor.fetchmany(1000):
                yield from batch
        except self._db.errors as exc:
            raise StoreError(f"The database could not be read for the paper: {self._db.plain(exc)}.") from exc

    def _query(self, sql: str, params: Sequence[object]) -> list[Any]:
        assert self._db is not None
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except self._db.errors as exc:
            raise StoreError(f"The database could not be read for the paper: {self._db.plain(exc)}.") from exc


def _london_day(utc: str) -> date:
    """The date in England of a stored UTC time such as `2026-12-01T23:30:00Z`."""
    return london_day(datetime.fromisoformat(utc.replace("Z", "+00:00")))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _checked(name: str) -> str:
    """A field or column id, safe to use as a quoted SQL name (definitions insist on snake_case)."""
    if not IDENTIFIER.match(name):
        raise StoreError(f"{name!r} is not a field name the paper can ask the database for.")
    return name


def _where(tests: Sequence[Test]) -> tuple[str, list[object]]:
    clauses, params = [], []
    for test in tests:
        column = f'"{_checked(test.column)}"'
        if test.op == "present":
            clauses.append(f"{column} IS NOT NULL AND {column} != ?")
            params.append("")
        elif test.op in ("<", ">="):
            clauses.append(f"{column} {test.op} ?")
            params.append(test.value)
        else:
            raise ValueError(f"unknown test {test.op!r}")
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _order_term(term: str) -> str:
    descending = term.startswith("-")
    name = term.lstrip("-")
    if name in ("partnership", "meeting", "submission_id", "row_index"):
        quoted = name
    else:
        quoted = f'"{_checked(name)}"'
    return f"{quoted} {'DESC' if descending else 'ASC'}"
