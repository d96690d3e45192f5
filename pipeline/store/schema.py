"""The store's tables: the migrations, run in order and counted in the database itself.

Each migration runs once, in its own transaction; the number run is kept in the database
(SQLite's `user_version`; on PostgreSQL the one-row table pipeline_schema). A database that has
run more migrations than this version of the pipeline knows was written by a newer pipeline, and
is refused rather than misread. One list serves both databases: see `statements`.
Add a migration at the END of `MIGRATIONS`; never change one that has shipped.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

from pipeline.core.errors import StoreError
from pipeline.store.connection import SQLITE, Database

MIGRATIONS: list[str] = [
    """
    CREATE TABLE intakes (
        id               INTEGER PRIMARY KEY,
        intake_name      TEXT NOT NULL UNIQUE,
        original_name    TEXT NOT NULL,
        source_path      TEXT,
        sha256           TEXT NOT NULL,
        size             INTEGER,
        sender           TEXT,
        sent_at          TEXT,
        received_at      TEXT NOT NULL,
        parent_intake_id INTEGER REFERENCES intakes (id),
        outcome          TEXT NOT NULL DEFAULT 'processing' CHECK (outcome IN
                         ('processing', 'accepted', 'rejected', 'duplicate', 'container')),
        reason           TEXT,
        archived_path    TEXT,
        report_path      TEXT,
        submission_id    INTEGER REFERENCES submissions (id),
        duplicate_of     INTEGER REFERENCES submissions (id)
    );
    CREATE INDEX intakes_outcome ON intakes (outcome);
    CREATE INDEX intakes_parent ON intakes (parent_intake_id);
    CREATE INDEX intakes_sha256 ON intakes (sha256);

    CREATE TABLE submissions (
        id            INTEGER PRIMARY KEY,
        intake_id     INTEGER REFERENCES intakes (id),
        form_id       TEXT NOT NULL,
        form_version  INTEGER NOT NULL,
        form_hash     TEXT,
        token         TEXT,
        partnership   TEXT,
        record_key    TEXT NOT NULL,
        sha256        TEXT NOT NULL,
        sender        TEXT,
        received_at   TEXT NOT NULL,
        late          INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
        due_date      TEXT,
        status        TEXT NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'superseded')),
        superseded_by INTEGER REFERENCES submissions (id),
        marking       TEXT,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX submissions_form_status ON submissions (form_id, status);
    CREATE INDEX submissions_form_key ON submissions (form_id, record_key);
    CREATE UNIQUE INDEX submissions_one_current ON submissions (form_id, record_key)
        WHERE status = 'current';
    CREATE INDEX submissions_sha256 ON submissions (sha256);
    CREATE INDEX submissions_token ON submissions (token);
    CREATE INDEX submissions_intake ON submissions (intake_id);

    CREATE TABLE answers (
        submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
        field_id      TEXT NOT NULL,
        row_index     INTEGER NOT NULL DEFAULT -1,
        column_id     TEXT NOT NULL DEFAULT '',
        item          INTEGER NOT NULL DEFAULT -1,
        value         NOT NULL,  -- no type: text, integer and real each kept as given
        PRIMARY KEY (submission_id, field_id, row_index, column_id, item)
    ) WITHOUT ROWID;
    CREATE INDEX answers_field_value ON answers (field_id, value);

    CREATE TABLE problems (
        id        INTEGER PRIMARY KEY,
        intake_id INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
        field_id  TEXT,
        label     TEXT,
        message   TEXT NOT NULL
    );
    CREATE INDEX problems_intake ON problems (intake_id);

    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        at            TEXT NOT NULL,
        intake_id     INTEGER REFERENCES intakes (id),
        submission_id INTEGER REFERENCES submissions (id),
        step          TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        detail        TEXT
    );
    CREATE INDEX events_intake ON events (intake_id);
    """,
    """
    -- 2: the partnership register, the committee calendar, and what the scheduler sent and wrote
    CREATE TABLE partnerships (
        id                   INTEGER PRIMARY KEY,
        name                 TEXT NOT NULL UNIQUE COLLATE NOCASE,
        type                 TEXT NOT NULL,
        area                 TEXT,
        representative       TEXT,
        representative_email TEXT,
        lead_officer         TEXT,
        lead_officer_email   TEXT,
        risk_money           INTEGER NOT NULL DEFAULT 0 CHECK (risk_money IN (0, 1)),
        risk_resources       INTEGER NOT NULL DEFAULT 0 CHECK (risk_resources IN (0, 1)),
        risk_targets         INTEGER NOT NULL DEFAULT 0 CHECK (risk_targets IN (0, 1)),
        risk_property_staff  INTEGER NOT NULL DEFAULT 0 CHECK (risk_property_staff IN (0, 1)),
        risk_contracts       INTEGER NOT NULL DEFAULT 0 CHECK (risk_contracts IN (0, 1)),
        notes                TEXT,
        updated_at           TEXT NOT NULL
    );

    CREATE TABLE partnership_meetings (
        id             INTEGER PRIMARY KEY,
        partnership_id INTEGER NOT NULL REFERENCES partnerships (id),
        meeting_date   TEXT NOT NULL,
        title          TEXT,
        place          TEXT,
        UNIQUE (partnership_id, meeting_date)
    );
    CREATE INDEX partnership_meetings_date ON partnership_meetings (meeting_date);

    CREATE TABLE committees (
        id     INTEGER PRIMARY KEY,
        name   TEXT NOT NULL UNIQUE COLLATE NOCASE,
        papers TEXT NOT NULL DEFAULT '[]'  -- JSON list of paper kinds
    );

    CREATE TABLE committee_meetings (
        id           INTEGER PRIMARY KEY,
        committee_id INTEGER NOT NULL REFERENCES committees (id),
        meeting_date TEXT NOT NULL,
        title        TEXT,
        uid          TEXT,  -- the calendar event's UID (#date for one of a repeating series)
        source       TEXT,  -- 'yaml' or 'ics'
        UNIQUE (committee_id, meeting_date)
    );
    CREATE INDEX committee_meetings_date ON committee_meetings (meeting_date);
    CREATE INDEX committee_meetings_uid ON committee_meetings (committee_id, uid);

    CREATE TABLE sent_forms (
        id                     INTEGER PRIMARY KEY,
        token                  TEXT NOT NULL UNIQUE,
        form_id                TEXT NOT NULL,
        form_version           INTEGER,
        partnership_id         INTEGER REFERENCES partnerships (id),
        recipient_name         TEXT,
        recipient_email        TEXT NOT NULL,
        meeting_date           TEXT,
        due_date               TEXT,
        purpose                TEXT NOT NULL CHECK (purpose IN ('monitoring', 'checklist', 'survey')),
        sent_at                TEXT NOT NULL,
        message_path           TEXT,
        chased_at              TEXT,
        chase_count            INTEGER NOT NULL DEFAULT 0,
        returned_submission_id INTEGER REFERENCES submissions (id)
    );
    CREATE INDEX sent_forms_partnership ON sent_forms (partnership_id, purpose);

    CREATE TABLE papers_written (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,
        committee    TEXT NOT NULL,
        meeting_date TEXT NOT NULL,
        written_at   TEXT NOT NULL,
        paths        TEXT NOT NULL DEFAULT '[]',  -- JSON list of the files written
        UNIQUE (kind, committee, meeting_date)
    );

    CREATE TABLE packs_written (
        id           INTEGER PRIMARY KEY,
        committee    TEXT NOT NULL,
        meeting_date TEXT NOT NULL,
        written_at   TEXT NOT NULL,
        paths        TEXT NOT NULL DEFAULT '[]',  -- JSON list of the files written
        UNIQUE (committee, meeting_date)
    );
    """,
    """
    -- 3: replies sent to members about their returns (receipts and what-to-fix), once each
    CREATE TABLE replies (
        intake_id INTEGER PRIMARY KEY REFERENCES intakes (id),
        kind      TEXT NOT NULL,
        sent_at   TEXT NOT NULL,
        detail    TEXT
    );
    """,
    """
    -- 4: which register partnership each return is from; papers recorded with their manifest
    ALTER TABLE submissions ADD COLUMN partnership_id INTEGER REFERENCES partnerships (id);
    ALTER TABLE papers_written ADD COLUMN manifest TEXT;
    -- A return's partnership: the clerk's match, else the form sent (its token), else the
    -- register entry of the name the member typed; NULL when none: "not matched".
    CREATE VIEW submission_partnerships AS
    SELECT s.id AS submission_id,
           COALESCE(s.partnership_id,
                    (SELECT f.partnership_id FROM sent_forms f
                      WHERE s.token IS NOT NULL AND f.token = s.token),
                    (SELECT p.id FROM partnerships p WHERE p.name = TRIM(s.partnership)))
             AS partnership_id
      FROM submissions s;
    """,
    """
    -- 5: the trust boundary: every token issued, each stored file's bytes once, returns held
    -- for the clerk, files set aside, tick actions that keep failing, and per-file flags
    CREATE TABLE issued_tokens (
        token        TEXT PRIMARY KEY,
        form_id      TEXT NOT NULL,
        form_version INTEGER,
        partnership  TEXT,
        member       TEXT,
        meeting_date TEXT,
        sent_to      TEXT,
        issued_by    TEXT NOT NULL,
        issued_at    TEXT NOT NULL
    );
    INSERT OR IGNORE INTO issued_tokens (token, form_id, form_version, partnership, member,
        meeting_date, sent_to, issued_by, issued_at)
        SELECT s.token, s.form_id, s.form_version, p.name, s.recipient_name, s.meeting_date,
               s.recipient_email, 'scheduler', s.sent_at
        FROM sent_forms s LEFT JOIN partnerships p ON p.id = s.partnership_id;
    CREATE TABLE stored_files (
        sha256        TEXT PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions (id)
    );
    INSERT OR IGNORE INTO stored_files (sha256, submission_id)
        SELECT sha256, MIN(id) FROM submissions GROUP BY sha256;
    CREATE TABLE holds (
        intake_id INTEGER PRIMARY KEY REFERENCES intakes (id),
        reason    TEXT NOT NULL,
        at        TEXT NOT NULL
    );
    CREATE TABLE quarantine (
        id            INTEGER PRIMARY KEY,
        original_name TEXT NOT NULL,
        kept_at       TEXT,
        reason        TEXT NOT NULL,
        at            TEXT NOT NULL
    );
    CREATE TABLE action_failures (
        action     TEXT PRIMARY KEY,
        attempts   INTEGER NOT NULL,
        last_error TEXT,
        given_up   INTEGER NOT NULL DEFAULT 0,
        at         TEXT NOT NULL
    );
    ALTER TABLE intakes ADD COLUMN flags TEXT;
    """,
    """
    -- 6: the web console: its users, their sessions, failed sign-ins, rejections dealt with;
    -- and who did what, for the event log
    CREATE TABLE users (
        id                  INTEGER PRIMARY KEY,
        name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role                TEXT NOT NULL CHECK (role IN ('clerk', 'viewer')),
        password_hash       TEXT NOT NULL,  -- argon2id, never the password itself
        created_at          TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    );
    CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,  -- sha256 of the cookie's value: a stolen database signs no one in
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    );
    CREATE TABLE sign_in_failures (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL COLLATE NOCASE,
        address TEXT,
        at      TEXT NOT NULL
    );
    CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
    CREATE TABLE intakes_dealt_with (
        intake_id INTEGER PRIMARY KEY REFERENCES intakes (id),
        how       TEXT NOT NULL CHECK (how IN ('dismissed', 're-ingested')),
        reason    TEXT,
        by_user   TEXT NOT NULL,
        at        TEXT NOT NULL
    );
    ALTER TABLE events ADD COLUMN by_user TEXT;
    """,
    """
    -- 7: the mailbox ledger (issue 16). One row per distinct message fetched (by the hash of its
    -- raw bytes); the Message-ID finds the same message delivered again with other headers.
    CREATE TABLE mail_messages (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL UNIQUE,
        message_id  TEXT,
        folder      TEXT NOT NULL,
        sender      TEXT,
        subject     TEXT,
        refs        TEXT,            -- its References header, for threading replies
        saved_path  TEXT NOT NULL,   -- the whole message as fetched, in mailbox/
        intake_name TEXT,            -- the ingest's name for it, when it is a return
        kind        TEXT CHECK (kind IN ('return', 'not_form', 'auto_reply', 'same_again')),
        reason      TEXT,
        state       TEXT NOT NULL DEFAULT 'saved' CHECK (state IN ('saved', 'stored', 'moved')),
        fetched_at  TEXT NOT NULL,
        stored_at   TEXT,
        moved_at    TEXT,
        moved_to    TEXT
    );
    CREATE INDEX mail_messages_message_id ON mail_messages (message_id);
    CREATE INDEX mail_messages_intake ON mail_messages (intake_name);
    CREATE TABLE mail_passes (
        id     INTEGER PRIMARY KEY,
        at     TEXT NOT NULL,
        ok     INTEGER NOT NULL CHECK (ok IN (0, 1)),
        detail TEXT NOT NULL
    );
    """,
    """
    -- 8: several workers on one store (issue 15): the file each is taking in, claimed by one
    CREATE TABLE claims (
        name       TEXT PRIMARY KEY,  -- the file's name in the inbox
        worker     TEXT NOT NULL,     -- host:pid of the worker holding it
        claimed_at TEXT NOT NULL      -- when it last said it was still at work
    );
    """,
]



# --- the same migrations on PostgreSQL ---------------------------------------------------------------
# Each migration above is written for SQLite; `_postgres` turns it into PostgreSQL's own types. The
# tables, columns, keys and constraints are the same on both; only the types are each database's.

_TIMES = ("received_at", "sent_at", "created_at", "updated_at", "issued_at", "at", "chased_at",
          "written_at", "fetched_at", "stored_at", "moved_at", "password_changed_at", "last_seen",
          "claimed_at")
_DAYS = ("meeting_date", "due_date")
_POSTGRES_BEFORE = {1: ["CREATE EXTENSION IF NOT EXISTS citext"]}
_POSTGRES_AFTER = {  # keys SQLite declares before the table they point at exists
    1: ["ALTER TABLE intakes ADD FOREIGN KEY (submission_id) REFERENCES submissions (id)"
        " DEFERRABLE INITIALLY IMMEDIATE",
        "ALTER TABLE intakes ADD FOREIGN KEY (duplicate_of) REFERENCES submissions (id)"
        " DEFERRABLE INITIALLY IMMEDIATE"],
}
VERSION_TABLE = "pipeline_schema"


def _postgres(number: int, statement: str) -> str:
    sql = re.sub(r"^(\s*)id(\s+)INTEGER PRIMARY KEY", r"\1id\2INTEGER GENERATED BY DEFAULT AS IDENTITY"
                 " PRIMARY KEY", statement, flags=re.M)
    sql = re.sub(r"\bTEXT(\b[^,\n]*?) COLLATE NOCASE", r"CITEXT\1", sql)
    sql = re.sub(rf"^(\s*(?:{'|'.join(_TIMES)}))(\s+)TEXT\b", r"\1\2TIMESTAMPTZ", sql, flags=re.M)
    sql = re.sub(rf"^(\s*(?:{'|'.join(_DAYS)}))(\s+)TEXT\b", r"\1\2DATE", sql, flags=re.M)
    sql = re.sub(r"^(\s*value)(\s+)NOT NULL,", r"\1\2JSONB NOT NULL,", sql, flags=re.M)
    sql = sql.replace(") WITHOUT ROWID", ")")
    if number == 1 and sql.lstrip().startswith("CREATE TABLE intakes"):  # keys added later (_POSTGRES_AFTER)
        sql = re.sub(r"(submission_id|duplicate_of)(\s+)INTEGER REFERENCES submissions \(id\)",
                     r"\1\2INTEGER", sql)
    sql = re.sub(r"(REFERENCES \w+ \(\w+\)(?: ON DELETE CASCADE)?)", r"\1 DEFERRABLE INITIALLY IMMEDIATE",
                 sql)
    if sql.lstrip().startswith("INSERT OR IGNORE INTO"):
        sql = sql.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1).rstrip().rstrip(";")
        sql += " ON CONFLICT DO NOTHING"
    sql = sql.replace("(SELECT p.id FROM partnerships p WHERE p.name = TRIM(s.partnership))",
                      "(SELECT p.id FROM partnerships p WHERE p.name = CAST(TRIM(s.partnership) AS CITEXT))")
    return sql


def statements(number: int, dialect: str) -> list[str]:
    """Migration `number`'s statements as `dialect` runs them."""
    script = list(_statements(MIGRATIONS[number - 1]))
    if dialect == SQLITE:
        return script
    return [*_POSTGRES_BEFORE.get(number, []), *(_postgres(number, s) for s in script),
            *_POSTGRES_AFTER.get(number, [])]


def migrate(db: Database, *, up_to: int | None = None) -> list[int]:
    """Run each migration not yet run (up to `up_to`), each in its own transaction, counted in
    the database; returns the numbers run."""
    last = len(MIGRATIONS) if up_to is None else up_to
    if user_version(db) >= last:
        return []
    done = []
    with db.holding("pipeline schema"):  # PostgreSQL: one process migrates, the others wait
        for number in range(1, last + 1):
            db.begin()
            try:
                # Read again inside the lock, so two processes opening a new database migrate it once.
                if _version(db) < number:
                    for statement in statements(number, db.dialect):
                        db.execute(statement)
                    _set_version(db, number)
                    done.append(number)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
    return done


def _version(db: Database) -> int:
    if db.dialect == SQLITE:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    if db.execute("SELECT to_regclass(?)", (VERSION_TABLE,)).fetchone()[0] is None:
        return 0
    found = db.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return int(found[0]) if found else 0


def _set_version(db: Database, number: int) -> None:
    if db.dialect == SQLITE:
        db.execute(f"PRAGMA user_version = {number}")
        return
    db.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL,"
               " only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row))")
    db.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?) ON CONFLICT (only_row)"
               " DO UPDATE SET version = excluded.version", (number,))


def user_version(db: Database) -> int:
    """The number of migrations run on the database; refuses a database newer than this code."""
    version = _version(db)
    if version > len(MIGRATIONS):
        raise StoreError(
            f"The database at {db.where} was written by a newer version of the pipeline"
            f" (schema {version}; this version knows up to {len(MIGRATIONS)})."
            " Upgrade the pipeline before using this database."
        )
    return version


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (executescript would commit our transaction first)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                yield pending.strip()
            pending = ""
