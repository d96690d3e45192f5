"""The web console's users, their signed-in sessions and failed sign-ins.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.core.errors import StoreError
from pipeline.store.base import StoreBase
from pipeline.store.connection import utc_text
from pipeline.store.rows import User, WebSession


class UsersMixin(StoreBase):
    """Who may sign in to the console, and who is signed in."""

    def add_user(self, name: str, role: str, password_hash: str) -> int:
        now = utc_text(datetime.now(UTC))
        with self._writing(f"add the user {name}") as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None:
                raise StoreError(f"There is already a user called {name}.")
            return db.insert(
                "INSERT INTO users (name, role, password_hash, created_at, password_changed_at)"
                " VALUES (?, ?, ?, ?, ?)", (name, role, password_hash, now, now))

    def users(self) -> list[User]:
        with self._guard("list the users"):
            rows = self._db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [User(**dict(row)) for row in rows]

    def user(self, name: str) -> User | None:
        with self._guard("look up a user"):
            row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else User(**dict(row))

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Change a user's password; every browser they were signed in on is signed out."""
        with self._writing(f"change the password of {name}") as db:
            cursor = db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?",
                                (password_hash, utc_text(datetime.now(UTC)), name))
            if cursor.rowcount != 1:
                raise StoreError(f"There is no user called {name}.")
            db.execute("DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                       (name,))

    def remove_user(self, name: str) -> None:
        with self._writing(f"remove the user {name}") as db:
            db.execute("DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                       (name,))
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount != 1:
                raise StoreError(f"There is no user called {name}.")

    def start_session(self, token_hash: str, user_id: int, csrf: str, at: datetime) -> None:
        with self._writing("sign in"):
            self._db.execute("INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, last_seen)"
                             " VALUES (?, ?, ?, ?, ?)",
                             (token_hash, user_id, csrf, utc_text(at), utc_text(at)))

    def web_session(self, token_hash: str) -> WebSession | None:
        with self._guard("check who is signed in"):
            row = self._db.execute(
                "SELECT u.*, s.csrf, s.created_at AS session_created, s.last_seen FROM web_sessions s"
                " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?", (token_hash,)).fetchone()
        if row is None:
            return None
        user = User(row["id"], row["name"], row["role"], row["password_hash"], row["created_at"],
                    row["password_changed_at"])
        return WebSession(user, row["csrf"], row["session_created"], row["last_seen"])

    def touch_session(self, token_hash: str, at: datetime) -> None:
        with self._writing("note the session is in use"):
            self._db.execute("UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?",
                             (utc_text(at), token_hash))

    def end_session(self, token_hash: str) -> None:
        with self._writing("sign out"):
            self._db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

    def end_idle_sessions(self, idle_since: datetime) -> None:
        with self._writing("sign out idle sessions"):
            self._db.execute("DELETE FROM web_sessions WHERE last_seen < ?", (utc_text(idle_since),))

    def record_sign_in_failure(self, name: str, address: str | None, at: datetime) -> None:
        with self._writing("note a failed sign-in"):
            self._db.execute("INSERT INTO sign_in_failures (name, address, at) VALUES (?, ?, ?)",
                             (name, address, utc_text(at)))

    def sign_in_failures(self, name: str, address: str | None, since: datetime) -> int:
        """Failed sign-ins since `since` for this name or from this address, whichever is more."""
        with self._guard("count failed sign-ins"):
            by_name, by_address = self._db.execute(
                "SELECT sum(CASE WHEN name = ? THEN 1 ELSE 0 END),"
                " sum(CASE WHEN address IS NOT DISTINCT FROM ? THEN 1 ELSE 0 END)"
                " FROM sign_in_failures WHERE at >= ?",
                (name, address, utc_text(since))).fetchone()
        return max(by_name or 0, by_address or 0)

    def clear_sign_in_failures(self, name: str) -> None:
        with self._writing("clear failed sign-ins"):
            self._db.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))
