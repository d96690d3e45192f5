"""The mailbox ledger (issue 16): each message fetched, once, and each check of the mailbox.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.store.base import StoreBase
from pipeline.store.connection import utc_text
from pipeline.store.rows import MailPass, MailRow, NewMail


class MailboxMixin(StoreBase):
    """Messages fetched from the mailbox and what became of them."""

    def add_mail(self, mail: NewMail) -> MailRow:
        """Record a fetched message (saved, not yet read); the row already there if one is."""
        with self._writing("record a fetched email") as db:
            db.execute(
                "INSERT INTO mail_messages (sha256, message_id, folder, sender, subject,"
                " refs, saved_path, fetched_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (mail.sha256, mail.message_id, mail.folder, mail.sender, mail.subject, mail.refs,
                 mail.saved_path, utc_text(mail.fetched_at)))
        found = self.mail_by_sha256(mail.sha256)
        assert found is not None
        return found

    def mail_by_sha256(self, sha256: str) -> MailRow | None:
        found = self._mails("WHERE sha256 = ?", (sha256,))
        return found[0] if found else None

    def mails_by_message_id(self, message_id: str) -> list[MailRow]:
        """Messages fetched before with this Message-ID, oldest first."""
        return self._mails("WHERE message_id = ? ORDER BY id", (message_id,))

    def set_mail_intake(self, mail_id: int, intake_name: str) -> None:
        """Name the intake a fetched message becomes, before the ingest starts on it."""
        with self._writing("record a fetched email"):
            self._db.execute("UPDATE mail_messages SET intake_name = ? WHERE id = ?",
                             (intake_name, mail_id))

    def mail_stored(self, mail_id: int, *, kind: str, reason: str | None, at: datetime) -> None:
        """The message is dealt with in the database (stored, or known not to be a return)."""
        with self._writing("record a fetched email"):
            self._db.execute(
                "UPDATE mail_messages SET kind = ?, reason = ?, state = 'stored', stored_at = ?"
                " WHERE id = ? AND state = 'saved'", (kind, reason, utc_text(at), mail_id))

    def mail_moved(self, mail_id: int, *, to: str, at: datetime) -> None:
        with self._writing("record a fetched email"):
            self._db.execute("UPDATE mail_messages SET state = 'moved', moved_to = ?, moved_at = ?"
                             " WHERE id = ?", (to, utc_text(at), mail_id))

    def mails_not_yet_moved(self, folder: str) -> list[MailRow]:
        """Messages from `folder` dealt with in the database but not yet recorded as moved."""
        return self._mails("WHERE state = 'stored' AND folder = ? ORDER BY id", (folder,))

    def mails_not_forms(self, limit: int = 20) -> list[MailRow]:
        """The latest fetched messages that were not returns (for the clerk), newest first."""
        return self._mails("WHERE kind IN ('not_form', 'auto_reply') ORDER BY id DESC LIMIT ?",
                           (limit,))

    def mail_counts(self) -> dict[str, int]:
        with self._reading("count the fetched emails") as db:
            return {kind: number for kind, number in db.execute(
                "SELECT COALESCE(kind, 'unfinished'), count(*) FROM mail_messages GROUP BY 1")}

    def mail_thread(self, intake_id: int) -> MailRow | None:
        """The fetched message a return came in (the intake itself or the email holding it)."""
        found = self._mails(
            "WHERE intake_name IN (SELECT intake_name FROM intakes WHERE id = ? UNION"
            " SELECT p.intake_name FROM intakes c JOIN intakes p ON p.id = c.parent_intake_id"
            " WHERE c.id = ?) ORDER BY id LIMIT 1", (intake_id, intake_id))
        return found[0] if found else None

    def record_mail_pass(self, *, ok: bool, detail: str, at: datetime) -> None:
        with self._writing("record a mailbox check"):
            self._db.execute("INSERT INTO mail_passes (at, ok, detail) VALUES (?,?,?)",
                             (utc_text(at), int(ok), detail))

    def last_mail_pass(self) -> MailPass | None:
        with self._reading("read the mailbox checks") as db:
            row = db.execute("SELECT at, ok, detail FROM mail_passes ORDER BY id DESC LIMIT 1"
                             ).fetchone()
        return MailPass(row["at"], bool(row["ok"]), row["detail"]) if row else None

    def _mails(self, where: str, params: tuple[object, ...]) -> list[MailRow]:
        with self._reading("read the fetched emails") as db:
            rows = db.execute(f"SELECT * FROM mail_messages {where}", params).fetchall()
        return [MailRow(**dict(row)) for row in rows]
