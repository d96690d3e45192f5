"""PostgreSQL as the store's database, for several clerks, watchers and servers on one store.

Chosen by a URL (`[database] url` in pipeline.toml, or PIPELINE_DATABASE_URL, which wins):
`postgresql://user@host:5432/dbname`. The password comes from the URL, else from
PIPELINE_DATABASE_PASSWORD, else from libpq's own ~/.pgpass and PG* environment variables.

The store's SQL is written once, with `?` placeholders; here it becomes psycopg's `%s`. The
tables use PostgreSQL's own types (timestamptz, date, jsonb for answers, citext for names that
ignore capitals, foreign keys); times and dates are read back as the same ISO text SQLite gives
(`2026-11-07T09:00:00Z`, `2026-11-10`), so the rest of the store sees one shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.store.connection import Cursor, Database

POSTGRESQL = "postgresql"
PASSWORD_ENV = "PIPELINE_DATABASE_PASSWORD"
URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(text: str | None) -> bool:
    return bool(text) and str(text).startswith(URL_SCHEMES)


def shown(url: str) -> str:
    """The URL as a person may see it: which database on which server, never the password."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [os.environ.get("PGHOST", "localhost")])[0]
    port = parts.port or (query.get("port") or [None])[0]
    where = f"{host}:{port}" if port and not host.startswith("/") else host
    name = parts.path.strip("/") or os.environ.get("PGDATABASE", "(default)")
    return f"PostgreSQL database {name} on {where}"


class PgRow:
    """A row read by position or by column name, like sqlite3.Row (and unpacked like a tuple)."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


class PostgresDatabase(Database):
    """One psycopg 3 connection, in autocommit: the store begins and commits its own transactions."""

    dialect = POSTGRESQL

    def __init__(self, url: str, *, wait_seconds: float = 10.0) -> None:
        import psycopg
        from psycopg import errors

        self.errors = (psycopg.Error,)
        self.duplicate = (errors.UniqueViolation,)
        self.where = shown(url)
        self.url = url
        extra: dict[str, Any] = {}
        if not urlsplit(url).password and os.environ.get(PASSWORD_ENV):
            extra["password"] = os.environ[PASSWORD_ENV]
        self._db = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(wait_seconds)),
                                   options="-c timezone=UTC", application_name="pipeline", **extra)
        self._db.execute(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'")
        _register_loaders(self._db)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor = self._db.cursor(row_factory=_row_factory)
        cursor.execute(_translated(sql), tuple(params) if params else None)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(row) for row in rows]
        if rows:
            self._db.cursor().executemany(_translated(sql), rows)

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self._db.cursor()
        cursor.execute(_translated(sql), tuple(params) if params else None)
        yield from cursor

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._db.info.transaction_status != TransactionStatus.IDLE

    def begin(self, *, durable: bool = True) -> None:
        # off: the commit returns before its WAL is flushed; the next flushed commit (of any
        # session) flushes it too, as the WAL is written in order; a crash never damages data
        self._db.execute("BEGIN" if durable else "BEGIN; SET LOCAL synchronous_commit = off")

    def begin_reading(self) -> None:
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot

    def serialize(self, key: str) -> None:
        self._db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    @contextmanager
    def holding(self, key: str) -> Iterator[None]:
        self._db.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        try:
            yield
        finally:
            self._db.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def try_holding(self, key: str) -> bool:
        """Take `key` (a session advisory lock) if no other connection holds it; True if taken."""
        return bool(self._db.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                                     (key,)).fetchone()[0])

    def release(self, key: str) -> None:
        self._db.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def answer_value(self, value: Any) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    def close(self) -> None:
        self._db.close()

    def plain(self, exc: BaseException) -> str:
        return plain_postgres(exc)


def _row_factory(cursor: Any) -> Any:
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}
    return lambda values: PgRow(values, index)


@lru_cache(maxsize=512)
def _translated(sql: str) -> bytes:
    """The store's SQL for psycopg: `?` becomes `%s` (and a literal `%` is doubled); an answer's
    value (jsonb) is read as text before it is cast."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    sql = re.sub(r"CAST\((\w+\.value) AS INTEGER\)", r"CAST(\1 #>> '{}' AS INTEGER)", sql)
    return sql.encode()


def _register_loaders(connection: Any) -> None:
    """Times and dates read back as the ISO text the store keeps everywhere."""
    from psycopg.adapt import Loader

    class UtcText(Loader):
        def load(self, data: Any) -> str:
            moment = datetime.fromisoformat(bytes(data).decode())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    class DayText(Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode()

    connection.adapters.register_loader("timestamptz", UtcText)
    connection.adapters.register_loader("date", DayText)


def plain_postgres(exc: BaseException) -> str:
    """What went wrong on the server, in words a clerk can act on."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "password authentication failed" in text or "no password supplied" in text:
        return ("the server refused the user name or password (set the password in the URL, in "
                f"{PASSWORD_ENV}, or in ~/.pgpass)")
    if "resolve host" in text or "could not translate host name" in text:
        return "the database server's name was not found (is the address in the URL right?)"
    if "Connection refused" in text or "could not connect" in text or "No such file" in text:
        return "the database server could not be reached (is it running, and is the address right?)"
    if "lock timeout" in text or "canceling statement due to lock timeout" in text:
        return "another pipeline process is busy with it; try again in a minute"
    return text
