"""`pipeline db`: which database a home uses, bringing it up to date, and moving it to PostgreSQL."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.config import Settings, database_url
from pipeline.core.errors import StoreError
from pipeline.store.copying import TABLES, copy_tables
from pipeline.store.database import Store
from pipeline.store.postgres import shown


@dataclass(frozen=True)
class DatabaseState:
    """What `pipeline db status` and `pipeline check` say about a home's database."""

    where: str  # "the SQLite file ..." or "PostgreSQL database ... on host"
    kind: str  # "SQLite" or "PostgreSQL"
    done: int  # migrations run on it
    known: int  # migrations this version of the pipeline knows

    @property
    def current(self) -> bool:
        return self.done == self.known


def describe(settings: Settings) -> str:
    """The home's database in a person's words, without opening it."""
    url = database_url(settings)
    return f"the {shown(url)}" if url else f"the SQLite file {settings.database}"


def state(settings: Settings) -> DatabaseState:
    """Open the home's database without changing it and say which it is and how up to date."""
    url = database_url(settings)
    with Store.for_home(settings, upgrade=False) as store:
        done, known = store.schema()
    return DatabaseState(describe(settings), "PostgreSQL" if url else "SQLite", done, known)


def upgrade(settings: Settings) -> tuple[DatabaseState, list[int]]:
    """Run the migrations the home's database has not run; returns its state after, and them."""
    with Store.for_home(settings, upgrade=False) as store:
        ran = store.upgrade()
    return state(settings), ran


def copy_home(settings: Settings, url: str) -> dict[str, int]:
    """Copy the home's SQLite store into the empty PostgreSQL database at `url`; returns the rows
    copied per table (checked against the original). The SQLite file is only read: when it is
    older than this pipeline, a snapshot of it is brought up to date and copied instead."""
    path = settings.database
    if not path.is_file():
        raise StoreError(f"There is no SQLite database at {path} to copy.")
    with tempfile.TemporaryDirectory(prefix="pipeline-copy-") as scratch:
        snapshot = Path(scratch) / "snapshot.sqlite3"
        with Store.open(path, upgrade=False) as original:
            original.copy_to(snapshot)
        with Store.open(snapshot) as source, Store.connect(url) as target:
            return copy_tables(source, target)


def copy_summary(copied: dict[str, int], url: str) -> list[str]:
    """The lines `pipeline db copy` prints: what was copied, and that the counts match."""
    words = {"partnerships": "partnerships on the register", "committee_meetings": "committee meetings",
             "partnership_meetings": "partnership meetings", "intakes": "files taken in",
             "submissions": "returns (with their history)", "answers": "answers",
             "sent_forms": "forms sent", "issued_tokens": "personal copies issued",
             "papers_written": "papers written", "packs_written": "agenda packs",
             "events": "events in the log", "users": "console users",
             "mail_messages": "emails in the mailbox ledger"}
    lines = [f"Copied into the {shown(url)}:"]
    lines += [f"  {copied[table]:>7}  {words[table]}" for table in TABLES if table in words]
    lines.append(f"Every table ({len(TABLES)}) has the same number of rows in both databases"
                 f" ({sum(copied.values())} rows in all). The SQLite file was left as it was.")
    return lines
