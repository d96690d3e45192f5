"""Sending email: through the configured SMTP server, or as `.eml` files in the outbox.

Three honest ways (`SendMode`): send by SMTP ("Sent"); write each message for the clerk to send
by hand, counted as sent ("Written for you to send"); or a rehearsal that writes would-be
messages under `outbox/preview/` and counts nothing ("Would send").

Both mailers are context managers: `with mailer:` sends a batch over one connection. Every
smtplib, socket and TLS error is mapped here to a `SendError` a clerk can act on.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import unicodedata
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol, Self

from pipeline.core.config import SmtpConfig
from pipeline.core.errors import ConfigError, GenerationError, SendError
from pipeline.core.files import slug, write_new_file

log = logging.getLogger("pipeline.mailer")
SECURITY = ("none", "starttls", "ssl")


class SendMode(StrEnum):
    """How a tick's emails leave: what the clerk asked for, and what the output must say."""

    SEND = "send"  # through the [smtp] server
    BY_HAND = "by-hand"  # .eml files in outbox/mail for the clerk to send; counted as sent
    PREVIEW = "preview"  # a rehearsal: .eml files in outbox/preview; nothing recorded

    @property
    def records(self) -> bool:
        """Whether what is done in this mode is recorded (sent, chased, replied, written)."""
        return self is not SendMode.PREVIEW

    def said(self, what: str) -> str:
        """A line of a tick's report, in this mode's words: "Sent ...", "Would send ...", ..."""
        if self is SendMode.PREVIEW:
            return f"Would send {what}"
        if self is SendMode.BY_HAND:
            return f"Written for you to send: {what}"
        return f"Sent {what}"


class Mailer(Protocol):
    """Something that sends a message and says where it went ("sent to x@y", or a file path)."""

    def send(self, message: EmailMessage) -> str: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


def header_text(value: object, *, limit: int = 900) -> str:
    """`value` made safe for an email header: line breaks and other control characters become
    spaces (a name typed with a line break can never add a header or stop a message being
    composed), runs of spaces are closed up, and very long values are cut short."""
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def mailer_for(config: SmtpConfig, *, mode: SendMode, outbox: Path) -> Mailer:
    """The mailer `mode` asks for: SMTP, or `.eml` files in outbox/mail (by hand) or outbox/preview."""
    if mode is SendMode.SEND:
        return SmtpMailer(config)
    return FileMailer(outbox / ("mail" if mode is SendMode.BY_HAND else "preview"))


# --- SMTP ----------------------------------------------------------------------------------------


class SmtpMailer:
    """Sends through one SMTP server; inside `with`, one connection serves the whole batch."""

    def __init__(self, config: SmtpConfig) -> None:
        if config.security not in SECURITY:
            raise ConfigError(f'[smtp] security = "{config.security}" is not one of '
                              f"{', '.join(SECURITY)}.")
        self.config = config
        self._password = _password(config)  # before any connection: a missing one is a setup error
        self._connection: smtplib.SMTP | None = None
        self._in_batch = False

    @property
    def server(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def __enter__(self) -> Self:
        self._in_batch = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._in_batch = False
        self.close()

    def send(self, message: EmailMessage) -> str:
        recipients = recipients_of(message)
        try:
            refused = self._deliver(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(f"Could not send to {', '.join(recipients)}: {self._reason(exc)}") from exc
        finally:
            if not self._in_batch:
                self.close()
        log.info("Sent \u201c%s\u201d to %s", message["Subject"], ", ".join(recipients))
        return _sent_to(recipients, refused)

    def probe(self) -> str:
        """Connect, greet, secure and log in as a send would, then leave: no mail is sent.

        Returns what was checked, in words; raises `SendError` with the reason otherwise."""
        try:
            connection = self._connect()
            connection.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(f"The mail server could not be used: {self._reason(exc)}") from exc
        self.close()
        steps = ["connected", {"ssl": "secured by SSL", "starttls": "secured by STARTTLS"}.get(
            self.config.security, "not encrypted")]
        if self.config.username:
            steps.append(f"logged in as {self.config.username}")
        return f"{self.server}: " + ", ".join(steps)

    def close(self) -> None:
        """End the connection politely if there is one (also done when a `with` block ends)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _deliver(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        connection = self._connection or self._connect()
        try:
            return connection.send_message(message)
        except smtplib.SMTPServerDisconnected as exc:
            if _timed_out(exc):
                raise
            # An idle connection the server dropped between messages: reconnect once.
            self._connection = None
            connection.close()
            return self._connect().send_message(message)

    def _connect(self) -> smtplib.SMTP:
        config, context = self.config, ssl.create_default_context()
        if config.security == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port,
                                                        timeout=config.timeout, context=context)
        else:
            connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        self._connection = connection  # so close() tidies up if STARTTLS or login fails
        if config.security == "starttls":
            connection.starttls(context=context)
        if config.username:
            connection.login(config.username, self._password)
        return connection

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, smtplib.SMTPException):
            return _smtp_reason(exc, self.server, self.config)
        return _network_reason(exc, self.server, self.config)


def _password(config: SmtpConfig) -> str:
    if not config.username:
        return ""
    password = os.environ.get(config.password_env, "")
    if not password:
        raise ConfigError(
            f"The mail server login for {config.username} needs a password, but the environment "
            f"variable {config.password_env} is not set. Set it to the password before starting "
            "the pipeline (or change password_env under [smtp] in pipeline.toml).")
    return password


def _network_reason(exc: BaseException, server: str, config: SmtpConfig) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"the mail server at {server} refused the connection."
    if isinstance(exc, TimeoutError):
        return f"the mail server at {server} did not answer within {config.timeout:g} seconds."
    if isinstance(exc, socket.gaierror):
        return f"no mail server called {config.host} could be found (check host under [smtp])."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the mail server at {server} has a security certificate this computer does not "
                f"trust ({exc.verify_message}).")
    if isinstance(exc, ssl.SSLError):
        return (f"a secure connection to the mail server at {server} could not be made; check "
                f'that security = "{config.security}" is what the server expects.')
    what = getattr(exc, "strerror", None) or "a network error"
    return f"the connection to the mail server at {server} failed ({what})."


def _smtp_reason(exc: smtplib.SMTPException, server: str, config: SmtpConfig) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the mail server at {server} did not accept the password for {config.username}."
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _unsupported(str(exc), server)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{address} ({_said(code, text)})"
                            for address, (code, text) in exc.recipients.items())
        return f"the mail server at {server} refused the address: {refused}."
    if getattr(exc, "smtp_code", None) == 530:  # "Must issue STARTTLS first", "Authentication required"
        return (f"the mail server at {server} asks for a secure connection or a login first "
                f"({_said(exc.smtp_code, exc.smtp_error)}); check security and username under [smtp].")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return (f"the mail server at {server} refused the sender address {exc.sender} "
                f"({_said(exc.smtp_code, exc.smtp_error)}); check sender under [smtp].")
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server at {server} refused the message ({_said(exc.smtp_code, exc.smtp_error)})."
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if _timed_out(exc):
            return f"the mail server at {server} did not answer within {config.timeout:g} seconds."
        return f"the mail server at {server} closed the connection unexpectedly."
    return f"the mail server at {server} did not answer as a mail server should."


def _timed_out(exc: smtplib.SMTPServerDisconnected) -> bool:
    # smtplib reports a read that timed out as a disconnection; the timeout is its cause.
    return isinstance(exc.__context__, TimeoutError)


def _unsupported(text: str, server: str) -> str:
    if "STARTTLS" in text:
        return f'the mail server at {server} does not offer STARTTLS; check security under [smtp].'
    if "AUTH" in text:
        return f"the mail server at {server} does not offer a login; check username under [smtp]."
    return f"the mail server at {server} cannot accept an address with accented or non-Latin letters."


def _said(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"it said \u201c{code} {' '.join(words.split())}\u201d"


def _sent_to(recipients: list[str], refused: dict[str, tuple[int, bytes]]) -> str:
    delivered = [r for r in recipients if r not in refused]
    where = f"sent to {', '.join(delivered)}"
    if refused:
        where += "; the mail server refused " + "; ".join(
            f"{address} ({_said(code, text)})" for address, (code, text) in refused.items())
    return where


def recipients_of(message: EmailMessage) -> list[str]:
    """The addresses a message goes to (To, Cc and Bcc)."""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return [address for _, address in getaddresses(fields) if address]


# --- written to files ----------------------------------------------------------------------------


class FileMailer:
    """Writes each message as an `.eml` file in `out_dir` instead of sending it; never overwrites."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def send(self, message: EmailMessage) -> str:
        try:
            path = write_new_file(self.out_dir, eml_name(message), message.as_bytes())
        except GenerationError as exc:
            raise SendError(str(exc)) from exc
        log.info("Wrote \u201c%s\u201d to %s", message["Subject"], path)
        return str(path)


def eml_name(message: EmailMessage) -> str:
    """`20261102-090000-jo.bloggs@hull.gov.uk-partnership-monitoring-form-hull-cdrp.eml`."""
    stamp = _sent_at(message).strftime("%Y%m%d-%H%M%S")
    recipient = re.sub(r"[^A-Za-z0-9@._+-]", "_", (recipients_of(message) or ["no-recipient"])[0])
    return f"{stamp}-{recipient[:80]}-{slug(str(message['Subject'] or 'no subject'))}.eml"


def _sent_at(message: EmailMessage) -> datetime:
    try:
        return parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        return datetime.now()
