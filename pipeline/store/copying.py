"""Copying a whole store into another (`pipeline db copy`): SQLite to PostgreSQL, and back.

Both sides have run the same migrations, so they have the same tables and columns. Rows are read
from the source in one snapshot and written to the target in one transaction (its foreign keys
checked at the end), then every table is counted on both sides. Ids are kept, so every link
between the rows (a return's history, the form it answers) is kept too.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.errors import StoreError
from pipeline.store.base import StoreBase
from pipeline.store.connection import SQLITE, Database

# every table, each after the tables it points at (the few links back are checked at commit)
TABLES = (
    "partnerships", "committees", "intakes", "submissions", "answers", "problems", "events",
    "partnership_meetings", "committee_meetings", "sent_forms", "papers_written", "packs_written",
    "replies", "issued_tokens", "stored_files", "holds", "quarantine", "action_failures", "users",
    "web_sessions", "sign_in_failures", "intakes_dealt_with", "mail_messages", "mail_passes", "claims",
)
_BATCH = 2000


def counts(store: StoreBase) -> dict[str, int]:
    """How many rows each table holds."""
    with store._reading("count the rows") as db:
        return {table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for table in TABLES}


def require_empty(store: StoreBase) -> None:
    """Refuse a target that already holds anything: a copy never mixes two stores."""
    held = {table: number for table, number in counts(store).items() if number}
    if held:
        listed = ", ".join(f"{table} ({number})" for table, number in sorted(held.items()))
        raise StoreError(f"The {store.where} is not empty, so nothing was copied: it already holds "
                         f"{listed}. Copy into a new, empty database.")


def copy_tables(source: StoreBase, target: StoreBase) -> dict[str, int]:
    """Copy every row of `source` into the empty `target`; returns the rows copied per table,
    after checking that both sides now count the same."""
    require_empty(target)
    with source._reading("be read for the copy") as read, target._writing("take the copy") as write:
        _defer_keys(write)
        for table in TABLES:
            _copy_table(read, write, table)
        _restart_ids(write)
    copied, kept = counts(source), counts(target)
    different = [table for table in TABLES if copied[table] != kept[table]]
    if different:
        raise StoreError("The copy does not match the original in: " + ", ".join(
            f"{table} ({copied[table]} rows, copy {kept[table]})" for table in different))
    return copied


def _copy_table(read: Database, write: Database, table: str) -> None:
    cursor = read.execute(f"SELECT * FROM {table} ORDER BY 1")
    batch = cursor.fetchmany(_BATCH)
    while batch:
        columns = list(batch[0].keys())
        sql = (f"INSERT INTO {table} ({', '.join(columns)})"
               f" VALUES ({', '.join('?' * len(columns))})")
        write.executemany(sql, [_values(write, table, columns, row) for row in batch])
        batch = cursor.fetchmany(_BATCH)


def _values(write: Database, table: str, columns: list[str], row: Any) -> tuple[Any, ...]:
    values = [row[column] for column in columns]
    if table == "answers":
        at = columns.index("value")
        values[at] = write.answer_value(values[at])
    return tuple(values)


def _defer_keys(db: Database) -> None:
    """Links that point forward (a return superseded by a later one) are checked at commit."""
    if db.dialect == SQLITE:
        db.execute("PRAGMA defer_foreign_keys = ON")
    else:
        db.execute("SET CONSTRAINTS ALL DEFERRED")


def _restart_ids(db: Database) -> None:
    """PostgreSQL: the next id of each table follows the ids copied in."""
    if db.dialect == SQLITE:
        return
    for (table,) in db.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'id'"
            " AND is_identity = 'YES' AND table_schema = current_schema()").fetchall():
        db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                   f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
