"""Many stored monitoring returns, written straight into SQLite, and what a paper must say of them.

Ingesting 100,000 files would take half an hour; the paper only reads the database, so the
returns are inserted with `executemany` into the tables `pipeline.store.schema` creates (its
migrations run first), in exactly the rows `Store.add_submission` writes (a test checks this).
About one return in twenty is a corrected copy, so superseded returns are in the data too.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.returns import answers
from pipeline.core.definitions import FormDefinition
from pipeline.ingest.steps import record_key
from pipeline.store import Store

CORRECTED_EVERY = 20
DUE_DAYS = 7
SUBMISSION_COLUMNS = ("id", "intake_id", "form_id", "form_version", "form_hash", "token", "partnership",
                      "record_key", "sha256", "sender", "received_at", "late", "due_date", "status",
                      "superseded_by", "marking", "created_at")


@dataclass
class Expected:
    """What the monitoring summary must report for the stored returns (all dates)."""

    received: int = 0  # every stored return, corrected copies included
    meetings: int = 0  # current returns
    late: int = 0  # current returns that came in late
    agenda: Counter[str] = field(default_factory=Counter)
    attendance: Counter[str] = field(default_factory=Counter)

    def count(self, stored: dict[str, Any], *, current: bool, late: bool) -> None:
        self.received += 1
        if current:
            self.meetings += 1
            self.late += late
            self.agenda[stored["agenda_rating"]] += 1
            self.attendance[stored["attendance_rating"]] += 1


def stored_values(index: int) -> dict[str, Any]:
    """Return `index`'s values as validation hands them to the store (JSON shape)."""
    values = answers(index)
    values["agenda_rating"] = values["agenda_rating"][0]
    values["attendance_rating"] = values["attendance_rating"][0]
    if not values["police_officer_attending"]:
        values["police_officer_attending"] = None
    return values


def answer_rows(values: dict[str, Any]) -> list[tuple[str, int, str, int, Any]]:
    """(field_id, row_index, column_id, item, value) rows, as `pipeline.store.submissions` documents them."""
    rows = []
    for field_id, value in values.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list) and all(isinstance(row, dict) for row in value):
            kept = [row for row in value if any(v not in (None, "") for v in row.values())]
            for row_index, row in enumerate(kept):
                rows += [(field_id, row_index, column, -1, cell) for column, cell in row.items()
                         if cell is not None]
        elif isinstance(value, list):
            rows += [(field_id, -1, "", item, choice) for item, choice in enumerate(value)]
        else:
            rows.append((field_id, -1, "", -1, value))
    return rows


def build(database: Path, definition: FormDefinition, count: int, *, seed: int = 7) -> Expected:
    """`count` stored monitoring returns in a new database at `database`; what a paper must say."""
    Store.open(database).close()  # the schema, by the pipeline's own migrations
    rng = random.Random(seed)
    expected = Expected()
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("BEGIN")
    submissions, answers_batch = [], []
    next_id, index = 1, 0
    while next_id <= count:
        values = stored_values(index)
        corrected = index % CORRECTED_EVERY == 0 and next_id < count
        if corrected:  # an earlier copy with a different length, superseded by the one after
            first = {**values, "meeting_length": "1 hour"}
            submissions.append(_submission(next_id, definition, first, rng, superseded_by=next_id + 1))
            answers_batch += [(next_id, *row) for row in answer_rows(first)]
            expected.count(first, current=False, late=False)
            next_id += 1
        row = _submission(next_id, definition, values, rng)
        submissions.append(row)
        answers_batch += [(next_id, *a) for a in answer_rows(values)]
        expected.count(values, current=True, late=bool(row[11]))
        next_id, index = next_id + 1, index + 1
        if len(answers_batch) > 200_000:
            _insert(connection, submissions, answers_batch)
            submissions, answers_batch = [], []
    _insert(connection, submissions, answers_batch)
    connection.execute("COMMIT")
    connection.close()
    return expected


def _submission(ident: int, definition: FormDefinition, values: dict[str, Any], rng: random.Random,
                superseded_by: int | None = None) -> tuple[Any, ...]:
    meeting = date.fromisoformat(values["meeting_date"])
    received = meeting + timedelta(days=rng.randrange(1, 12))
    due = meeting + timedelta(days=DUE_DAYS)
    stamp = f"{received.isoformat()}T10:{ident % 60:02d}:00Z"
    status = "superseded" if superseded_by else "current"
    return (ident, None, definition.id, definition.version, definition.hash, f"{rng.getrandbits(64):016x}",
            values["partnership"], record_key(definition, values), f"{rng.getrandbits(256):064x}",
            "member@example.gov.uk", stamp, int(received > due), due.isoformat(), status,
            superseded_by, definition.marking, stamp)


def _insert(connection: sqlite3.Connection, submissions: list[tuple[Any, ...]],
            answer_batch: list[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" * len(SUBMISSION_COLUMNS))
    connection.executemany(f"INSERT INTO submissions ({', '.join(SUBMISSION_COLUMNS)}) VALUES ({marks})",
                           submissions)
    connection.executemany("INSERT INTO answers (submission_id, field_id, row_index, column_id, item, value)"
                           " VALUES (?,?,?,?,?,?)", answer_batch)
