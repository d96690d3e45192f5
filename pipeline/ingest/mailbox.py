"""Returns straight from the mailbox: one pass over an IMAP folder (`pipeline mail fetch`).

    fetch -> save whole in mailbox/ -> ledger -> (a return) ingest as a saved email
    -> database commit -> move to the processed folder (or mark with a keyword)

Each message is saved and recorded before it is read, and moved only after the database has
committed what became of it, so a pass killed at any moment loses nothing: the next pass finds
the message still in the folder, sees in the ledger how far it got, and finishes it. The ledger
knows a message by the hash of its raw bytes (the same copy again: in two folders, or fetched
again after a crash before the move) and by its Message-ID (the same message delivered again
with other headers: taken again only if it carries a file not taken before).

Mail that is not a return, and automatic replies (out-of-office, bounces, lists), is moved to the
not-forms folder and listed in `pipeline status`; nobody is answered automatically.
"""

from __future__ import annotations

import hashlib
import imaplib
import ipaddress
import logging
import os
import re
import shlex
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from pipeline.core.config import ImapConfig, Settings, load_config
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import ConfigError, PipelineError, RejectedFile
from pipeline.core.files import write_new_file
from pipeline.core.locks import held_or_busy
from pipeline.ingest.emails import read_email
from pipeline.ingest.readers import looks_like_form
from pipeline.ingest.steps import FileResult, Ingest, Outcome
from pipeline.store import MailRow, NewMail, Store

log = logging.getLogger("pipeline.mailbox")
SECURITY = ("ssl", "starttls", "none")
DONE_KEYWORD = "$PipelineDone"  # marks a message dealt with where it may not be moved
BATCH = 25  # messages fetched per request: memory stays bounded, round trips few
RETURN, NOT_FORM, AUTO_REPLY, SAME_AGAIN = "return", "not_form", "auto_reply", "same_again"
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|"
    r"auto:|away from (the|my) office|on leave|undeliverable|undelivered mail|"
    r"delivery (status notification|has failed|failure)|mail delivery (failed|failure|system)|"
    r"returned mail|failure notice)", re.IGNORECASE)
_ROBOT_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)
Clock = Callable[[], datetime]


class MailboxError(PipelineError):
    """The mailbox could not be checked; the message is one line in the clerk's words."""


@dataclass
class FetchReport:
    """What one pass over the mailbox did."""

    folder: str = ""
    seen: int = 0  # messages found in the folder
    results: list[FileResult] = field(default_factory=list)
    not_forms: list[str] = field(default_factory=list)  # one line each: who, subject, why
    auto_replies: int = 0
    already: int = 0  # taken before (a copy, a re-delivery, a pass cut short): only moved now
    problem: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"folder": self.folder, "messages": self.seen,
                "returns": [r.to_json() for r in self.results], "not_forms": self.not_forms,
                "automatic_replies": self.auto_replies, "already_taken": self.already,
                "problem": self.problem}

    def summary(self) -> str:
        if self.problem:
            return self.problem
        taken = {o: sum(1 for r in self.results if r.outcome is o) for o in Outcome}
        accepted = taken[Outcome.ACCEPTED] + taken[Outcome.SUPERSEDED]
        return (f"Checked {self.folder}: {self.seen} email(s); {accepted} form(s) accepted, "
                f"{taken[Outcome.REJECTED]} rejected, {taken[Outcome.DUPLICATE]} already received; "
                f"{len(self.not_forms)} not a return ({self.auto_replies} automatic replies), "
                f"{self.already} taken before.")


def fetch_mail(settings: Settings, library: FormLibrary, *, clock: Clock | None = None) -> FetchReport:
    """One pass over the configured mailbox. A failure to reach it is reported, not raised."""
    config = load_config(settings).imap
    if not config.host:
        raise ConfigError("No mailbox is set up: add an [imap] section with host and username to "
                          f"{settings.home / 'pipeline.toml'} (see the README).")
    check_settings(config)
    clock = clock or (lambda: datetime.now(UTC))
    settings.ensure_folders()
    report = FetchReport(folder=f'"{config.folder}" at {config.host}')
    # One pass at a time: on this computer (the lock file), and with PostgreSQL on every worker.
    with _fetch_lock(settings) as free, Store.for_home(settings) as store, \
            store.exclusive("mailbox check") as mine:
        if not (free and mine):
            report.problem = "Another mailbox check is still running for this folder; this one did nothing."
            return report
        ingest = Ingest(settings, library, store, clock=clock)
        try:
            with connected(config) as client:
                _Pass(settings, config, store, ingest, client, report, clock).run()
        except MailboxError as exc:
            report.problem = str(exc)
            log.error("%s", exc)
        store.record_mail_pass(ok=report.problem is None, detail=report.summary(), at=clock())
    return report


def check_settings(config: ImapConfig) -> None:
    """Refuse settings that cannot work, or would send the password unprotected."""
    if config.security not in SECURITY:
        raise ConfigError(f'[imap] security = "{config.security}" is not one of {", ".join(SECURITY)}.')
    if config.security == "none" and not _is_loopback(config.host):
        raise ConfigError(f'[imap] security = "none" would send the password unprotected to '
                          f'{config.host}; it is allowed only to this computer. Use "ssl" or "starttls".')
    if not config.username:
        raise ConfigError("[imap] has no username: set it to the mailbox's login name.")


def _is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def _fetch_lock(settings: Settings) -> AbstractContextManager[bool]:
    """One pass at a time per home (`serve` and a clerk's `mail fetch` may overlap)."""
    return held_or_busy(settings.home / ".mail.lock")


# --- the connection --------------------------------------------------------------------------


@contextmanager
def connected(config: ImapConfig) -> Iterator[IMAPClient]:
    """A logged-in connection with the folder selected; every failure is a MailboxError."""
    server = f"{config.host}:{port_of(config)}"
    client: IMAPClient | None = None
    try:
        client = _open(config)
        _login(client, config)
        try:
            client.select_folder(config.folder)
        except IMAPClientError as exc:
            raise MailboxError(f'Could not check the mailbox: it has no folder called "{config.folder}" '
                               "(check folder under [imap]). The next check will try again.") from exc
        yield client
    except MailboxError:
        raise
    except (IMAPClientError, OSError, imaplib.IMAP4.abort) as exc:
        raise MailboxError(f"Could not check the mailbox: {_reason(exc, server, config)} "
                           "Nothing already fetched is affected; the next check will try again.") from exc
    finally:
        if client is not None:
            _close(client)


def port_of(config: ImapConfig) -> int:
    return config.port or (993 if config.security == "ssl" else 143)


def _open(config: ImapConfig) -> IMAPClient:
    context = ssl.create_default_context(cafile=config.ca_file or None)
    client = IMAPClient(config.host, port=port_of(config), ssl=config.security == "ssl",
                        ssl_context=context, timeout=config.timeout)
    if config.security == "starttls":
        client.starttls(context)
    return client


def _login(client: IMAPClient, config: ImapConfig) -> None:
    if config.oauth2_token_command:
        client.oauth2_login(config.username, _oauth2_token(config))
        return
    password = os.environ.get(config.password_env, "")
    if not password:
        raise ConfigError(
            f"The mailbox login for {config.username} needs a password, but the environment variable "
            f"{config.password_env} is not set. Set it before starting the pipeline (or set "
            "oauth2_token_command under [imap] for Microsoft 365 or Gmail).")
    client.login(config.username, password)


def _oauth2_token(config: ImapConfig) -> str:
    """Run the configured command; its output is the access token (XOAUTH2)."""
    try:
        done = subprocess.run(shlex.split(config.oauth2_token_command), capture_output=True,
                              text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MailboxError(f"Could not check the mailbox: the sign-in token command "
                           f"(oauth2_token_command under [imap]) could not be run ({exc}).") from exc
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        said = (done.stderr.strip().splitlines() or ["no token printed"])[-1]
        raise MailboxError(f"Could not check the mailbox: the sign-in token command "
                           f"(oauth2_token_command under [imap]) failed: {said}. "
                           "The next check will try again.")
    return token


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except (IMAPClientError, OSError, imaplib.IMAP4.abort):
        with suppress(OSError):
            client.shutdown()


def _reason(exc: BaseException, server: str, config: ImapConfig) -> str:
    if isinstance(exc, LoginError):
        how = ("the sign-in token" if config.oauth2_token_command
               else f"the password in {config.password_env}")
        return (f"the mail server at {server} did not accept the login for {config.username} "
                f"(check username under [imap] and {how}).")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the mail server at {server} has a security certificate this computer does not "
                f"trust ({exc.verify_message}); if it is your own server, set ca_file under [imap].")
    if isinstance(exc, ssl.SSLError):
        return (f"a secure connection to the mail server at {server} could not be made; check "
                f'that security = "{config.security}" and port are what the server expects.')
    if isinstance(exc, ConnectionRefusedError):
        return (f"the mail server at {server} refused the connection: it may be down, or host or "
                "port under [imap] may be wrong.")
    if isinstance(exc, TimeoutError):
        return f"the mail server at {server} did not answer within {config.timeout:g} seconds."
    if isinstance(exc, socket.gaierror):
        return f"no mail server called {config.host} could be found (check host under [imap])."
    if isinstance(exc, OSError):
        return f"the connection to the mail server at {server} failed ({exc.strerror or exc})."
    said = " ".join(str(exc).split())[:200]
    return f"the mail server at {server} refused a request (it said \u201c{said}\u201d)."


# --- one pass ---------------------------------------------------------------------------------


class _Pass:
    def __init__(self, settings: Settings, config: ImapConfig, store: Store, ingest: Ingest,
                 client: IMAPClient, report: FetchReport, clock: Clock) -> None:
        self.settings, self.config, self.store, self.ingest = settings, config, store, ingest
        self.client, self.report, self.clock = client, report, clock
        self.moving = config.move
        self._folders_ready: set[str] = set()
        self._seen: set[str] = set()  # the raw hashes of the messages in the folder this pass

    def run(self) -> None:
        uids = self.client.search(["NOT", "DELETED", "NOT", "KEYWORD", DONE_KEYWORD])
        self.report.seen = len(uids)
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            fetched = self.client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if isinstance(raw, bytes):  # gone meanwhile (another client moved it): skip
                    self._seen.add(hashlib.sha256(raw).hexdigest())
                    self._one(uid, raw)
        self._note_moved_before()

    def _note_moved_before(self) -> None:
        """A pass killed between the move and recording it: the message is gone from the folder."""
        for row in self.store.mails_not_yet_moved(self.config.folder):
            if row.sha256 not in self._seen:
                self.store.mail_moved(row.id, to=self._target(row) if self.config.move
                                      else f"kept in {self.config.folder}, marked {DONE_KEYWORD}",
                                      at=self.clock())

    def _one(self, uid: int, raw: bytes) -> None:
        row = self.store.mail_by_sha256(hashlib.sha256(raw).hexdigest())
        if row is None:
            row = self.store.add_mail(self._saved(raw))
        elif row.state != "saved":
            self.report.already += 1
        if row.state == "saved":
            try:
                self._deal_with(row, raw)
            except PipelineError as exc:  # the database or disk: leave it in the folder for later
                log.error("Could not take the email %s yet: %s", row.saved_path, exc)
                self.report.problem = (f"An email from {row.sender or 'an unknown sender'} could not "
                                       f"be taken in yet ({exc}); it stays in the mailbox and the "
                                       "next check will try again.")
                return
            row = self.store.mail_by_sha256(row.sha256) or row
        self._put_away(uid, row)

    def _saved(self, raw: bytes) -> NewMail:
        """Save the message whole, before anything reads it (a crash after this loses nothing)."""
        head = _parse(raw)
        sha256 = hashlib.sha256(raw).hexdigest()
        now = self.clock()
        name = f"{now:%Y%m%d-%H%M%S}-{sha256[:16]}.eml"
        path = write_new_file(self.settings.mailbox / f"{now:%Y-%m}", name, raw, reuse_identical=True)
        return NewMail(sha256=sha256, message_id=_one_line(head.get("Message-ID")),
                       folder=self.config.folder, sender=_sender(head),
                       subject=_one_line(head.get("Subject")) or "", refs=_one_line(head.get("References")),
                       saved_path=str(path), fetched_at=now)

    def _deal_with(self, row: MailRow, raw: bytes) -> None:
        kind, reason = classify(raw)
        if kind == RETURN and row.intake_name is None and self._seen_before(row, raw):
            kind, reason = SAME_AGAIN, "the same email was taken in before, with the same files"
        if kind == RETURN:
            name = row.intake_name or f"mail-{row.id:06d}--email.eml"
            if row.intake_name is None:
                self.store.set_mail_intake(row.id, name)
            self.report.results += self.ingest.ingest_named(Path(row.saved_path), name)
        elif kind == SAME_AGAIN:
            self.report.already += 1
        else:
            self.report.auto_replies += kind == AUTO_REPLY
            self.report.not_forms.append(f"{row.sender or 'unknown sender'}: "
                                         f"\u201c{row.subject or 'no subject'}\u201d ({reason})")
        self.store.mail_stored(row.id, kind=kind, reason=reason, at=self.clock())

    def _seen_before(self, row: MailRow, raw: bytes) -> bool:
        """Delivered again (same Message-ID, other headers) and carrying no file not taken before."""
        if not row.message_id:
            return False
        earlier = [r for r in self.store.mails_by_message_id(row.message_id)
                   if r.id != row.id and r.state != "saved"]
        if not earlier:
            return False
        forms = _form_attachments(raw)
        return all(self.store.file_taken_before(hashlib.sha256(data).hexdigest()) for data in forms)

    def _put_away(self, uid: int, row: MailRow) -> None:
        """Move it out of the folder (only ever after the database has it), or mark it done."""
        target = self._target(row)
        if self.moving and self._folder_ready(target):
            if self.client.has_capability("MOVE"):
                self.client.move([uid], target)
            else:  # copy, then delete the original (a crash in between leaves a second copy)
                self.client.copy([uid], target)
                self.client.delete_messages([uid])
                if self.client.has_capability("UIDPLUS"):
                    self.client.uid_expunge([uid])
                else:
                    self.client.expunge()
            moved_to = target
        else:
            self.client.add_flags([uid], [DONE_KEYWORD])
            moved_to = f"kept in {self.config.folder}, marked {DONE_KEYWORD}"
        if row.state != "moved" or row.moved_to != moved_to:
            self.store.mail_moved(row.id, to=moved_to, at=self.clock())

    def _target(self, row: MailRow) -> str:
        return (self.config.processed_folder if row.kind in (RETURN, SAME_AGAIN)
                else self.config.not_forms_folder)

    def _folder_ready(self, name: str) -> bool:
        if name in self._folders_ready:
            return True
        try:
            if not self.client.folder_exists(name):
                self.client.create_folder(name)
                self.client.subscribe_folder(name)
        except IMAPClientError as exc:
            log.warning('The folder "%s" could not be made (%s); messages are marked %s instead of '
                        "moved", name, exc, DONE_KEYWORD)
            self.moving = False
            return False
        self._folders_ready.add(name)
        return True


# --- what a message is ------------------------------------------------------------------------


def classify(raw: bytes) -> tuple[str, str]:
    """RETURN (it carries a file to read), AUTO_REPLY or NOT_FORM, with the reason in words."""
    head = _parse(raw)
    robot = automatic_reply(head)
    if robot:
        return AUTO_REPLY, robot
    try:
        forms = _form_attachments(raw)
    except RejectedFile:
        return RETURN, "the ingest explains what is wrong with it"  # it tells the sender why
    if not forms:
        return NOT_FORM, "no form attached"
    return RETURN, f"{len(forms)} form(s) attached"


def automatic_reply(head: EmailMessage) -> str | None:
    """Why this is an automatic message (RFC 3834, Exchange, bounces, lists), or None."""
    auto = _one_line(head.get("Auto-Submitted"))
    if auto and auto.lower() != "no":
        return f"an automatic message (Auto-Submitted: {auto})"
    # X-Auto-Response-Suppress is not here: it asks that *we* send no automatic answer, and Outlook
    # and mail-merge systems set it on mail a person sent too, returns included.
    if head.get("X-Autoreply") or head.get("X-Autorespond"):
        return "an automatic reply"
    precedence = (_one_line(head.get("Precedence")) or "").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"bulk mail (Precedence: {precedence})"
    if head.get("List-Id") or head.get("List-Unsubscribe"):
        return "a mailing list or newsletter"
    if head.get_content_type() == "multipart/report":
        return "a delivery report (bounce)"
    return_path = _one_line(head.get("Return-Path"))
    if return_path is not None and return_path.strip("<> ") == "":
        return "a bounce or automatic message (no return address)"
    sender = _sender(head) or ""
    if _ROBOT_SENDERS.match(sender):
        return f"sent by a mail robot ({sender})"
    subject = _one_line(head.get("Subject")) or ""
    if _AUTO_SUBJECT.match(subject):
        return "an out-of-office or delivery failure notice"
    return None


def _form_attachments(raw: bytes) -> list[bytes]:
    envelope = read_email(raw, "email.eml")
    return [a.data for a in envelope.attachments
            if looks_like_form(a.name) or a.data[:5] == b"%PDF-"]


def _parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    assert isinstance(message, EmailMessage)
    return message


def _one_line(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _sender(head: EmailMessage) -> str | None:
    try:
        addresses = getattr(head.get("From"), "addresses", ())
    except (TypeError, ValueError, IndexError):
        return None
    return addresses[0].addr_spec.lower() if addresses and addresses[0].addr_spec else None
