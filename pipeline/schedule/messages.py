"""The emails the pipeline writes: forms out, reminders, replies to senders, papers ready.

Pure functions: each returns an `EmailMessage` ready for a `Mailer`; nothing here sends. Dates
are written out the UK way ("Monday 2 November 2026"); bodies are short plain text.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from pipeline.core.config import Config
from pipeline.core.dates import long_date
from pipeline.schedule.mailer import header_text

TOKEN_HEADER = "X-Pipeline-Token"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CONTENT_TYPES = {".docx": DOCX_TYPE, ".xlsx": XLSX_TYPE, ".pdf": "application/pdf"}
_HOW_TO_RETURN = """\
How to return it:
1. Open the attached form in Word, LibreOffice or Excel and fill in your answers.
2. Save it.
3. Reply to this email with the completed form attached.

Please do not change the form's layout (do not add, remove or move questions or tables): \
we read your answers from it automatically. If you cannot use the form, a PDF of it is \
accepted, but the form itself is better."""


# --- forms out -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterhead:
    """Who every email is from: the authority it is signed for, the sending address, and where
    replies go (None: to the sender). Built once from the settings (`Letterhead.of`)."""

    authority: str
    sender: str
    reply_to: str | None = None

    @classmethod
    def of(cls, config: Config) -> Letterhead:
        return cls(config.authority.name, config.smtp.sender, config.smtp.reply_to or None)


@dataclass(frozen=True)
class FormSent:
    """One personal form in an email: what it is, for which partnership and meeting, and its file."""

    form_title: str
    partnership: str
    due: date | None
    meeting_date: date | None
    meeting_title: str | None
    attachment: tuple[str, bytes]
    token: str | None


def form_request(*, to: str, member: str, form: FormSent, letterhead: Letterhead,
                 now: datetime | None = None) -> EmailMessage:
    """A personalised form sent to a member, with a note saying what it is and how to return it."""
    due = form.due
    subject = " \u2014 ".join(filter(None, (
        _titled(form.form_title, _about(form.partnership, form.meeting_date)),
        f"please return by {long_date(due)}" if due else "",
    )))
    when = f"Please fill it in and return it by {long_date(due)}." if due else \
        "Please fill it in and return it as soon as you can."
    body = "\n\n".join((
        _greeting(member),
        f"Please find attached your {_what(form)}.\n{when}",
        _HOW_TO_RETURN,
        _sign_off(letterhead.authority),
    ))
    message = _compose(to=to, subject=subject, body=_with_reference(body, form.token),
                       letterhead=letterhead, now=now)
    return _with_token(_attach(message, form.attachment), form.token)


def forms_request(*, to: str, member: str, forms: list[FormSent], letterhead: Letterhead,
                  now: datetime | None = None) -> EmailMessage:
    """Several personal forms due from one person at once, in one email: each listed and attached."""
    if len(forms) == 1:
        return form_request(to=to, member=member, form=forms[0], letterhead=letterhead, now=now)
    subject = _several_subject(forms)
    listed = "\n".join(
        f"{number}. {_what(f)}"
        + (f", by {long_date(f.due)}" if f.due else "") + f"\n   (attached as {f.attachment[0]}"
        + (f"; reference {f.token})" if f.token else ")")
        for number, f in enumerate(forms, start=1))
    body = "\n\n".join((
        _greeting(member),
        f"Please find attached {len(forms)} forms, one for each of these:\n{listed}",
        _HOW_TO_RETURN.replace("How to return it:", "How to return them:")
        .replace("the attached form", "each attached form")
        .replace("the completed form attached", "the completed forms attached (one email for all of "
                 "them, or one each)"),
        _sign_off(letterhead.authority),
    ))
    message = _compose(to=to, subject=subject, body=body, letterhead=letterhead, now=now)
    for form in forms:
        _attach(message, form.attachment)
        _with_token(message, form.token)
    return message


def _several_subject(forms: list[FormSent]) -> str:
    """What is in the email: "Partnership Monitoring Form and Partnership Risk Assessment
    Checklist: Hull CDRP — please return by ...", or "Stakeholder Survey: 6 partnerships — ..."."""
    titles = list(dict.fromkeys(f.form_title for f in forms))
    partnerships = list(dict.fromkeys(f.partnership for f in forms))
    if len(partnerships) == 1:
        what = f"{' and '.join(titles)}: {partnerships[0]}" if len(titles) <= 3 else \
            f"{len(forms)} forms: {partnerships[0]}"
    elif len(titles) == 1:
        what = f"{titles[0]}: {len(partnerships)} partnerships"
    else:
        what = f"{len(forms)} forms for {len(partnerships)} partnerships"
    dues = sorted({f.due for f in forms if f.due})
    if not dues:
        return what
    by = "please return by" if len(dues) == 1 else "the first by"
    return f"{what} — {by} {long_date(dues[0])}"

def chaser(*, to: str, member: str, form: FormSent, letterhead: Letterhead, today: date,
           now: datetime | None = None) -> EmailMessage:
    """A polite reminder for a form not yet returned, saying how overdue it is; the form again."""
    if form.due is None:
        raise ValueError("a reminder is only for a form with a due date")
    due, what = form.due, _what(form)
    verb = "is" if today <= due else "was"
    subject = f"Reminder: {_titled(form.form_title, _about(form.partnership, form.meeting_date))} " \
              f"{verb} due on {long_date(due)}"
    body = "\n\n".join((
        _greeting(member),
        f"This is a reminder that your {what} {verb} due on {long_date(due)}"
        f"{_overdue(due, today)}, and we have not received it yet.",
        "If you have already sent it, thank you, and please ignore this reminder. "
        "If not, the form is attached again.",
        _HOW_TO_RETURN,
        _sign_off(letterhead.authority),
    ))
    message = _compose(to=to, subject=subject, body=_with_reference(body, form.token),
                       letterhead=letterhead, now=now)
    return _with_token(_attach(message, form.attachment), form.token)


# --- replies to senders --------------------------------------------------------------------------


def rejection_reply(*, to: str, form_title: str | None, report: str, problem_count: int,
                    original: tuple[str, bytes] | None, letterhead: Letterhead,
                    in_reply_to: str | None = None, partnership: str | None = None,
                    meeting_date: date | None = None, now: datetime | None = None) -> EmailMessage:
    """What to fix in a rejected return (the numbered report), with the sender's file attached.
    The subject names the form, and the partnership and meeting where they are known."""
    what = _named(form_title or "form", partnership or "", meeting_date)
    subject = f"Your {what} could not be accepted"
    if problem_count:
        things = "thing" if problem_count == 1 else "things"
        subject += f" \u2014 please correct {problem_count} {things}"
    explained = report if problem_count else f"We could not accept it:\n\n{report}"
    body = "\n\n".join((
        "Hello,",
        f"Thank you for sending your {what}.",
        explained.strip(),
        _how_to_resend(original),
        _sign_off(letterhead.authority),
    ))
    message = _compose(to=to, subject=subject, body=body, letterhead=letterhead, now=now,
                       in_reply_to=in_reply_to)
    return _attach(message, original) if original else message


def receipt(*, to: str, form_title: str, partnership: str | None, late: bool, letterhead: Letterhead,
            in_reply_to: str | None = None, meeting_date: date | None = None,
            now: datetime | None = None) -> EmailMessage:
    """A short thank-you for an accepted return; says so when it was accepted but marked late."""
    what = f"your {_named(form_title, partnership or '', meeting_date)}"
    status = ("It arrived after the due date; it has been accepted and marked late."
              if late else "It has been accepted.")
    body = "\n\n".join((
        "Hello,",
        f"Thank you: we have received {what}.\n{status} You do not need to do anything more.",
        _sign_off(letterhead.authority),
    ))
    return _compose(to=to, subject=f"Thank you: we have received {what}", body=body,
                    letterhead=letterhead, now=now, in_reply_to=in_reply_to)


def thread_reply(message: EmailMessage, *, message_id: str, references: str | None,
                 subject: str | None) -> EmailMessage:
    """Make `message` a reply in the member's own thread: In-Reply-To, References, and "Re: "
    with their subject when they gave one (mail programs such as Gmail and Outlook start a new
    conversation when the subject changes, so the form and partnership are named in the body)."""
    del message["In-Reply-To"]
    del message["References"]
    message["In-Reply-To"] = message_id
    message["References"] = " ".join(part for part in (references, message_id) if part)
    if subject:
        del message["Subject"]
        message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    return message


# --- to the clerk --------------------------------------------------------------------------------


def paper_notice(*, to: str, committee: str, meeting_date: date, deadline: date,
                 papers: list[Path], letterhead: Letterhead, now: datetime | None = None) -> EmailMessage:
    """Tell the clerk a committee's papers are ready: where they are and the publication deadline.

    Sent from the letterhead's address, without its Reply-To: the clerk answers nobody here."""
    meeting = f"the {committee} meeting on {long_date(meeting_date)}"
    listing = "\n".join(f"- {path}" for path in papers) or "- (no files)"
    body = "\n\n".join((
        "Hello,",
        f"The papers for {meeting} are ready. The last day they can be published, leaving five "
        f"clear working days before the meeting, is {long_date(deadline)}.",
        f"The files are:\n{listing}",
        f"Please check them and publish them by {long_date(deadline)}.",
        _sign_off(letterhead.authority),
    ))
    subject = f"Papers ready for {meeting}: publish by {long_date(deadline)}"
    return _compose(to=to, subject=subject, body=body, letterhead=replace(letterhead, reply_to=None),
                    now=now)


# --- building blocks -----------------------------------------------------------------------------


def _compose(*, to: str, subject: str, body: str, letterhead: Letterhead, now: datetime | None,
             in_reply_to: str | None = None) -> EmailMessage:
    # Every value is cleaned at the mail boundary (header_text): a line break typed in a
    # partnership's name or a file name can never break the message.
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = header_text(letterhead.sender)
    message["To"] = header_text(to)
    if letterhead.reply_to:
        message["Reply-To"] = header_text(letterhead.reply_to)
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime(_aware(now))
    message["Message-ID"] = make_msgid(domain=header_text(_domain(letterhead.sender)))
    if in_reply_to:
        message["In-Reply-To"] = header_text(in_reply_to)
        message["References"] = header_text(in_reply_to)
    # Quoted-printable keeps the message 7-bit clean for any server, dashes and all.
    message.set_content(body + "\n", cte="quoted-printable")
    return message


def _attach(message: EmailMessage, attachment: tuple[str, bytes]) -> EmailMessage:
    name, data = attachment
    name = header_text(name, limit=150)
    content_type = _CONTENT_TYPES.get(Path(name).suffix.lower()) or \
        mimetypes.guess_type(name)[0] or "application/octet-stream"
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def _aware(now: datetime | None) -> datetime:
    """The moment to date the message: as given when it has a time zone, else in local time."""
    if now is None:
        return datetime.now(UTC).astimezone()
    return now if now.tzinfo else now.astimezone()


def _with_token(message: EmailMessage, token: str | None) -> EmailMessage:
    if token:
        message[TOKEN_HEADER] = header_text(token)
    return message


def _with_reference(body: str, token: str | None) -> str:
    return f"{body}\n\nReference: {token}" if token else body


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def _about(partnership: str, meeting_date: date | None) -> str:
    """ "Hull CDRP meeting on Monday 2 November 2026", or just the partnership."""
    if meeting_date is None:
        return partnership
    return f"{partnership} meeting on {long_date(meeting_date)}".strip()


def _titled(form_title: str, about: str) -> str:
    return f"{form_title}: {about}" if about else form_title


def _what(form: FormSent) -> str:
    """ "Partnership Monitoring Form for the Hull CDRP meeting (Board) on Monday 2 November 2026"."""
    return _named(form.form_title, form.partnership, form.meeting_date, form.meeting_title)


def _named(form_title: str, partnership: str, meeting_date: date | None,
           meeting_title: str | None = None) -> str:
    if not partnership:
        return form_title
    if meeting_date is None:
        return f"{form_title} for {partnership}"
    titled = f" ({meeting_title})" if meeting_title else ""
    return f"{form_title} for the {partnership} meeting{titled} on {long_date(meeting_date)}"


def _overdue(due: date, today: date) -> str:
    days = (today - due).days
    if days < 1:
        return " (today)" if days == 0 else ""
    return f" ({days} day{'s' if days > 1 else ''} overdue)"


def _greeting(member: str) -> str:
    return f"Dear {member}," if member.strip() else "Hello,"


def _how_to_resend(original: tuple[str, bytes] | None) -> str:
    if original is None:
        return "Please put right what is listed above and reply to this email with the form attached."
    return (f"Your file ({original[0]}) is attached to this email. Please open it, put right what "
            "is listed above, save it and reply to this email with the corrected form attached.")


def _sign_off(authority: str) -> str:
    return f"Thank you,\n{authority}"
