"""The cycle that runs by itself: `tick` does whatever is due at a moment, once.

    reply to senders -> match returns to what was sent -> send monitoring forms before meetings
    -> send checklists to high-risk partnerships -> send the annual survey -> chase the overdue
    -> write papers and packs on the right working day before each committee

Every action is recorded in the database before `tick` moves on, and checked before it is done,
so running `tick` twice (or after downtime, with `--now`) sends nothing twice and writes no
paper twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from pipeline.core.config import Config, Settings
from pipeline.core.dates import LONDON, long_date
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import PipelineError, SendError, StoreError
from pipeline.core.files import slug
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.ingest.about import ReturnAbout, about_return
from pipeline.ingest.emails import Thread, thread_of
from pipeline.schedule import committees, messages, register
from pipeline.schedule.contacts import as_sent, contact_for
from pipeline.schedule.mailer import Mailer, SendMode
from pipeline.store import Store
from pipeline.store.rows import IntakeOutcome, IntakeRow, NewSentForm, ReplyDue, SentForm

log = logging.getLogger("pipeline.cycle")
CHECKLIST_VALID_DAYS = 365  # a risk checklist is "current" for a year
CHECKLIST_DUE_DAYS = 28
SURVEY_DUE_DAYS = 28
PERIOD_WHEN_NO_EARLIER_MEETING = timedelta(days=91)
MAX_ATTEMPTS = 3  # a tick action that fails this many times is given up and shown in status


@dataclass
class TickReport:
    """What one tick did, in the clerk's words."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    papers: list[Path] = field(default_factory=list)

    def add(self, line: str) -> None:
        log.info(line)
        self.done.append(line)

    def to_json(self) -> dict[str, object]:
        return {"done": self.done, "problems": self.problems, "papers": [str(p) for p in self.papers]}


def _said_once(problems: list[str]) -> list[str]:
    """The same failure for several people ("refused the connection") is one line naming them all."""
    import re

    pattern = re.compile(r"sending the (.+?) to (\S+) failed \(try (\d+) of (\d+)\): Could not send to "
                         r"\S+: (.+)")
    by_reason: dict[str, list[str]] = {}
    lines: list[str] = []
    for problem in problems:
        found = pattern.fullmatch(problem)
        if not found:
            lines.append(problem)
            continue
        reason = f"(try {found.group(3)} of {found.group(4)}): {found.group(5)}"
        if reason not in by_reason:
            lines.append(reason)  # stands in, in first-seen order, for the line made below
        by_reason.setdefault(reason, []).append(found.group(2))
    said = []
    for line in lines:
        who = by_reason.get(line)
        if who is None:
            said.append(line)
        else:
            emails = "an email" if len(who) == 1 else f"{len(who)} emails"
            said.append(f"Could not send {emails} (to {', '.join(who)}) {line}")
    return said


def _kept_file(path: str | None) -> Path | None:
    """A file the ingest kept (archived or rejected copy), when it is still there as itself."""
    kept = Path(path) if path else None
    return kept if kept is not None and kept.is_file() and not kept.is_symlink() else None


def _partnership_contact(partnership: register.Partnership) -> tuple[str | None, str | None]:
    """Who answers the stakeholder survey: the partnership's own lead, else our representative."""
    if partnership.lead_officer_email:
        return partnership.lead_officer, partnership.lead_officer_email
    return partnership.representative, partnership.representative_email


@dataclass(frozen=True)
class _DueForm:
    """A personal form due to go out in this tick; sent with the others due to the same person."""

    key: str  # the action's key, for bounded retries
    form_id: str
    purpose: str
    partnership: register.Partnership
    person: Personalisation
    due: date
    name_to: str | None
    email_to: str


class Cycle:
    """One tick's work. In `SendMode.PREVIEW` it runs on a copy of the store and writes no paper."""

    def __init__(self, settings: Settings, config: Config, library: FormLibrary, store: Store,
                 mailer: Mailer, now: datetime, mode: SendMode = SendMode.SEND) -> None:
        self.settings, self.config, self.library = settings, config, library
        self.store, self.mailer, self.now, self.mode = store, mailer, now, mode
        self.letterhead = messages.Letterhead.of(config)
        self.today = now.astimezone(LONDON).date()
        self._due_forms: list[_DueForm] = []

    def tick(self) -> TickReport:
        report = TickReport()
        with self.mailer:
            for step in (self.reply_to_senders, self.match_returns, self.send_monitoring_forms,
                         self.send_checklists, self.send_surveys, self.send_due_forms, self.chase,
                         self.write_papers):
                try:
                    step(report)
                except Exception as exc:  # one failing step never stops the others
                    report.problems.append(f"{step.__name__.replace('_', ' ')}: {exc}")
                    log.error("%s failed: %s", step.__name__, exc,
                              exc_info=not isinstance(exc, PipelineError))
        report.problems = _said_once(report.problems)
        return report

    def _attempt(self, key: str, what: str, report: TickReport, action: Callable[[], None]) -> None:
        """Do one action; a failure is reported and counted, and after MAX_ATTEMPTS it is given
        up (shown in `pipeline status`) instead of being tried at every tick for ever."""
        if self.store.given_up(key):
            return
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - one action never stops the others
            try:
                attempts = self.store.action_failed(key, str(exc), self.now, limit=MAX_ATTEMPTS)
            except StoreError:  # the database is busy or broken: tried again at the next tick
                log.error("%s failed: %s", what, exc)
                report.problems.append(f"{what} failed: {exc}")
                return
            log.error("%s failed (attempt %d): %s", what, attempts, exc,
                      exc_info=not isinstance(exc, PipelineError))
            if attempts >= MAX_ATTEMPTS:
                report.problems.append(f"Gave up on {what} after {attempts} tries: {exc}")
            else:
                report.problems.append(f"{what} failed (try {attempts} of {MAX_ATTEMPTS}): {exc}")

    # --- replies to members ------------------------------------------------------------------

    def reply_to_senders(self, report: TickReport) -> None:
        """A receipt for each accepted return, what-to-fix for each rejected one; once each,
        and only to an address the pipeline knows for that return."""
        for due in self.store.replies_due():
            intake = due.intake
            self._attempt(f"reply:{intake.id}", f"the reply to {intake.sender} about "
                          f"{intake.original_name}", report, lambda due=due: self._reply(due, report))

    def _reply(self, due: ReplyDue, report: TickReport) -> None:
        intake = due.intake
        refusal = self._why_not_answer(due)
        if refusal is not None:
            self.store.record_reply(intake.id, "not-answered", refusal, self.now)
            report.add(f"Did not answer {intake.sender} about {intake.original_name}: {refusal}")
            return
        message = self._threaded(self._reply_for(due), intake)
        where = self._send(message, report, key=f"reply:{intake.id}") if message is not None \
            else "not needed"
        if where is None:
            return  # not sent: tried again at the next tick (a bounded number of times)
        self.store.record_reply(intake.id, intake.outcome.value, where, self.now)
        if message is not None:
            report.add(self.mode.said(
                f"a reply to {intake.sender} about {intake.original_name} ({intake.outcome.value})"))

    def _threaded(self, message: EmailMessage | None, intake: IntakeRow) -> EmailMessage | None:
        """A reply to an emailed return goes in the member's thread: one fetched from the mailbox
        (issue 16) or a saved email dropped into inbox/ (.eml or .msg)."""
        thread = self._thread_of(intake) if message is not None else None
        if message is None or thread is None:
            return message
        return messages.thread_reply(message, message_id=thread.message_id,
                                     references=thread.references, subject=thread.subject)

    def _thread_of(self, intake: IntakeRow) -> Thread | None:
        mail = self.store.mail_thread(intake.id)
        if mail is not None and mail.message_id:
            return Thread(mail.message_id, mail.refs, mail.subject)
        email = self.store.intake(intake.parent_intake_id) if intake.parent_intake_id else None
        kept = _kept_file(email.archived_path if email else None)
        return thread_of(kept.read_bytes()) if kept else None

    def _about(self, intake: IntakeRow) -> ReturnAbout:
        """The form, partnership and meeting the return was for, read from its kept copy."""
        kept = _kept_file(intake.archived_path)
        return about_return(kept.read_bytes(), intake.original_name, self.library) if kept \
            else ReturnAbout()

    def _why_not_answer(self, due: ReplyDue) -> str | None:
        """Why the sender of this file must not be answered, or None when they may be."""
        flags = ",".join(filter(None, (due.intake.flags, due.parent_flags)))
        failed = sorted({f.split(":", 1)[1].upper() for f in flags.split(",")
                         if f.startswith("auth-failed:")})
        if failed:
            return (f"the receiving mail server says the message failed {'/'.join(failed)}, so "
                    "it may not be from who it says")
        partnership = due.partnership if due.intake.submission_id is not None else None
        sender = (due.intake.sender or "").strip().lower()
        if sender in self.store.known_addresses(partnership):
            return None
        whose = f" for {partnership}" if partnership else ""
        return f"{sender} is not an address the pipeline knows{whose} (the register's contacts, " \
               "or where a form was sent)"

    def _send(self, message: EmailMessage, report: TickReport, key: str | None = None) -> str | None:
        """Send one message; a refusal is reported and skipped, never blocking the others (and
        with `key`, counted: after MAX_ATTEMPTS refusals it is given up)."""
        try:
            return self.mailer.send(message)
        except SendError as exc:
            if key is not None:
                raise
            report.problems.append(str(exc))
            log.error("%s", exc)
            return None

    def _reply_for(self, due: ReplyDue) -> EmailMessage | None:
        intake = due.intake
        sender = intake.sender or ""
        if intake.outcome is IntakeOutcome.REJECTED:
            problems = len(intake.problems)
            about = self._about(intake)
            return messages.rejection_reply(
                to=sender, form_title=about.form_title, report=intake.reason or "",
                problem_count=problems, original=self._own_form(intake, problems),
                letterhead=self.letterhead, partnership=about.partnership,
                meeting_date=about.meeting_date, now=self.now)
        if not self.config.schedule.send_receipts or due.form_id is None:
            return None
        title = self.library.get(due.form_id).title
        about = self._about(intake)
        return messages.receipt(to=sender, form_title=title,
                                partnership=due.partnership or about.partnership or "",
                                late=due.late, letterhead=self.letterhead,
                                meeting_date=about.meeting_date, now=self.now)

    @staticmethod
    def _own_form(intake: IntakeRow, problems: int) -> tuple[str, bytes] | None:
        """The member's own form, to correct and send back: only a file that was read as one of
        our forms (its answers were checked). Never the email, nor anything else it carried."""
        kept = _kept_file(intake.archived_path)
        if not problems or kept is None:
            return None
        return intake.original_name, kept.read_bytes()

    # --- what came back ------------------------------------------------------------------------

    def match_returns(self, report: TickReport) -> None:
        for sent in self.store.outstanding():
            submission = self.store.match_return(sent)
            if submission is not None:
                self.store.mark_returned(sent.id, submission)
                report.add(f"{sent.partnership}: {sent.form_id} returned (submission {submission})")

    # --- sending forms out --------------------------------------------------------------------

    def send_monitoring_forms(self, report: TickReport) -> None:
        """Each representative gets a personal monitoring form before each meeting."""
        ahead = self.config.schedule.monitoring_send_days_before
        definition = self.library.get("monitoring")
        days = definition.due.days if definition.due else 7
        for meeting in register.meetings_between(self.store, self.today, self.today + timedelta(ahead)):
            partnership = register.partnership(self.store, meeting.partnership)
            if partnership is None or not partnership.representative_email:
                continue
            if self.store.was_sent(partnership.id, "monitoring", meeting_date=meeting.meeting_date):
                continue
            person = Personalisation(partnership=partnership.name, member=partnership.representative,
                                     meeting_title=meeting.title, meeting_date=meeting.meeting_date,
                                     meeting_place=meeting.place)
            due = meeting.meeting_date + timedelta(days=days)
            self._queue_form(f"send:monitoring:{partnership.id}:{meeting.meeting_date}",
                             "monitoring", "monitoring", partnership, person, due)

    def send_checklists(self, report: TickReport) -> None:
        """Each high-risk partnership without a current checklist gets one (once a year)."""
        year_ago = self.now - timedelta(days=CHECKLIST_VALID_DAYS)
        for partnership in register.partnerships(self.store):
            if not partnership.high_risk or not partnership.representative_email:
                continue
            if self._has_current_checklist(partnership.name, year_ago):
                continue
            if self.store.was_sent(partnership.id, "checklist", since=year_ago):
                continue
            person = Personalisation(partnership=partnership.name, member=partnership.representative)
            self._queue_form(f"send:checklist:{partnership.id}:{self.today.year}",
                             "risk-checklist", "checklist", partnership, person,
                             self.today + timedelta(days=CHECKLIST_DUE_DAYS))

    def _has_current_checklist(self, name: str, since: datetime) -> bool:
        return self.store.has_current_return("risk-checklist", name, since)

    def send_surveys(self, report: TickReport) -> None:
        """The annual stakeholder survey, to every partnership contact, once a year."""
        if self.today.month < self.config.schedule.survey_month:
            return
        start_of_year = datetime(self.today.year, 1, 1, tzinfo=LONDON)
        for partnership in register.partnerships(self.store):
            contact, email = _partnership_contact(partnership)
            if not email:
                continue
            if self.store.was_sent(partnership.id, "survey", since=start_of_year):
                continue
            person = Personalisation(partnership=partnership.name, member=contact)
            self._queue_form(f"send:survey:{partnership.id}:{self.today.year}",
                             "stakeholder-survey", "survey", partnership, person,
                             self.today + timedelta(days=SURVEY_DUE_DAYS), to=(contact, email))

    def _queue_form(self, key: str, form_id: str, purpose: str, partnership: register.Partnership,
                    person: Personalisation, due: date,
                    to: tuple[str | None, str | None] | None = None) -> None:
        """A personal copy to go out: to the Authority's representative unless `to` says otherwise."""
        name_to, email_to = to or (partnership.representative, partnership.representative_email)
        if email_to and not self.store.given_up(key):
            self._due_forms.append(_DueForm(key, form_id, purpose, partnership, person, due,
                                            name_to, email_to))

    def send_due_forms(self, report: TickReport) -> None:
        """One email per person, listing and attaching every form due from them, each with its token."""
        by_person: dict[str, list[_DueForm]] = {}
        for item in self._due_forms:
            by_person.setdefault(item.email_to.strip().lower(), []).append(item)
        self._due_forms = []
        for items in by_person.values():
            titles = ", ".join(dict.fromkeys(self.library.get(i.form_id).title for i in items))
            self._attempt("+".join(i.key for i in items), f"sending the {titles} to {items[0].email_to}",
                          report, lambda items=items: self._send_forms_to(items, report))

    def _send_forms_to(self, items: list[_DueForm], report: TickReport) -> None:
        copies = []
        for item in items:
            definition = self.library.get(item.form_id)
            sent = as_sent(definition, self.config, contact_for(self.config, item.partnership))
            data, identity = form_bytes(sent, "docx", item.person)
            copies.append((item, definition, messages.FormSent(
                form_title=definition.title, partnership=item.partnership.name, due=item.due,
                meeting_date=item.person.meeting_date, meeting_title=item.person.meeting_title,
                attachment=(f"{item.form_id}-{slug(item.partnership.name)}.docx", data),
                token=identity.token)))
            if identity.token:  # recorded at issue, before it can come back
                self.store.record_token(identity.token, form_id=item.form_id,
                                        form_version=definition.version,
                                        partnership=item.partnership.name, member=item.name_to,
                                        meeting_date=item.person.meeting_date, sent_to=item.email_to,
                                        issued_by="scheduler", at=self.now)
        first = items[0]
        message = messages.forms_request(
            to=first.email_to, member=first.name_to or "", forms=[c[2] for c in copies],
            letterhead=self.letterhead, now=self.now)
        where = self._send(message, report, key="send")
        if where is None:
            return
        with self.store.writing("record the forms sent"):
            for item, definition, copy in copies:
                self.store.record_sent(NewSentForm(
                    token=copy.token or "", form_id=item.form_id,
                    form_version=definition.version, partnership_id=item.partnership.id,
                    recipient_name=item.name_to, recipient_email=item.email_to,
                    meeting_date=item.person.meeting_date, due_date=item.due, purpose=item.purpose,
                    sent_at=self.now, message_path=where))
        for item, definition, _ in copies:
            report.add(self.mode.said(f"the {definition.title} to {item.email_to} "
                                      f"({item.partnership.name}), due {long_date(item.due)}"))

    # --- chasing ------------------------------------------------------------------------------

    def chase(self, report: TickReport) -> None:
        """A reminder to whoever is overdue: at most once per interval, never twice in a day."""
        interval = timedelta(days=self.config.schedule.chase_interval_days)
        for sent in self.store.outstanding():
            if sent.due_date is None or not sent.overdue(self.today) or not self._chase_due(sent, interval):
                continue
            if sent.chase_count >= self.config.schedule.max_chasers or self.store.replaced(sent):
                continue
            definition = self.library.get(sent.form_id)
            person = self._person_for(sent)
            on_register = register.partnership(self.store, sent.partnership) if sent.partnership else None
            copy = as_sent(definition, self.config, contact_for(self.config, on_register))
            data, _ = form_bytes(copy, "docx", person)
            form = messages.FormSent(
                form_title=definition.title, partnership=sent.partnership or "", due=sent.due_date,
                meeting_date=sent.meeting_date, meeting_title=person.meeting_title,
                attachment=(f"{sent.form_id}-{slug(sent.partnership or 'form')}.docx", data),
                token=sent.token)
            message = messages.chaser(to=sent.recipient_email, member=sent.recipient_name or "",
                                      form=form, letterhead=self.letterhead, today=self.today,
                                      now=self.now)
            if self._send(message, report) is None:
                continue
            self.store.mark_chased(sent.id, self.now)
            report.add(self.mode.said(
                f"a reminder to {sent.recipient_email} for the {definition.title} "
                f"({sent.partnership}), due {long_date(sent.due_date)}"))

    def _chase_due(self, sent: SentForm, interval: timedelta) -> bool:
        if sent.chased_at is None:
            return True
        last = datetime.fromisoformat(sent.chased_at.replace("Z", "+00:00"))
        if last.astimezone(LONDON).date() == self.today:
            return False
        return self.now - last >= interval

    def _person_for(self, sent: SentForm) -> Personalisation:
        """The same personal copy again, with the same token, so the return still matches."""
        title = place = None
        if sent.meeting_date and sent.partnership_id:
            title, place = self.store.partnership_meeting(sent.partnership_id, sent.meeting_date) \
                or (None, None)
        return Personalisation(partnership=sent.partnership, member=sent.recipient_name,
                               meeting_title=title, meeting_date=sent.meeting_date, meeting_place=place,
                               token=sent.token)

    # --- committee papers ------------------------------------------------------------------

    def write_papers(self, report: TickReport) -> None:
        """On the configured working day before each publication deadline: papers, then pack."""
        from pipeline import papers
        from pipeline.papers import pack
        from pipeline.papers.convert import to_pdf

        lead = self.config.schedule.papers_lead_days
        for meeting in committees.meetings(self.store, from_date=self.today):
            if not meeting.papers or not meeting.papers_due(lead) <= self.today <= meeting.date:
                continue
            if self.mode is SendMode.PREVIEW:
                self._say_papers_due(meeting, report)
                continue
            written = []
            for kind in meeting.papers:
                if self._paper_written(kind, meeting):
                    continue
                start = (self.today - timedelta(days=CHECKLIST_VALID_DAYS) if kind == "risk-register"
                         else self._period_start(meeting))  # the annual review covers a year
                request = papers.PaperRequest(kind=kind, period_from=start,
                                              period_to=self.today, meeting_date=meeting.date,
                                              committee=meeting.committee)
                files = papers.write_paper(self.settings, self.library, request, self._papers_dir(),
                                           to_pdf=to_pdf, today=self.today)
                # write_paper recorded it (papers_written) with its files
                written.append(files.docx)
                report.papers.append(files.docx)
                note = f" ({files.pdf_note})" if files.pdf_note else ""
                report.add(f"Wrote the {kind} paper for {meeting.committee} on "
                           f"{long_date(meeting.date)}{note}")
            if written or not self._pack_written(meeting):
                packs = pack.build_packs(meeting.date, self._papers_dir(),
                                         self.settings.outbox / "packs", committee=meeting.committee,
                                         authority=self.config.authority.name,
                                         standing_items=tuple(self.config.publish.standing_items))
                self._record_pack(meeting, packs)
                report.papers += packs
                report.add(f"Built the agenda pack for {meeting.committee} "
                           f"on {long_date(meeting.date)}")
                self._tell_clerk(meeting, [*written, *packs], report)

    def _say_papers_due(self, meeting: committees.Meeting, report: TickReport) -> None:
        """A rehearsal writes no paper: it says which papers and pack a real tick would write."""
        due = [kind for kind in meeting.papers if not self._paper_written(kind, meeting)]
        for kind in due:
            report.add(f"Would write the {kind} paper for {meeting.committee} on "
                       f"{long_date(meeting.date)}")
        if due or not self._pack_written(meeting):
            report.add(f"Would build the agenda pack for {meeting.committee} "
                       f"on {long_date(meeting.date)}")

    def _papers_dir(self) -> Path:
        return self.settings.outbox / "papers"

    def _period_start(self, meeting: committees.Meeting) -> date:
        earlier = self.store.last_meeting_before(meeting.committee, meeting.date)
        return earlier or meeting.date - PERIOD_WHEN_NO_EARLIER_MEETING

    def _paper_written(self, kind: str, meeting: committees.Meeting) -> bool:
        return self.store.paper_written(kind, meeting.committee, meeting.date)

    def _pack_written(self, meeting: committees.Meeting) -> bool:
        return self.store.pack_written(meeting.committee, meeting.date)

    def _record_pack(self, meeting: committees.Meeting, packs: list[Path]) -> None:
        self.store.record_pack(meeting.committee, meeting.date, packs, self.now)

    def _tell_clerk(self, meeting: committees.Meeting, paths: list[Path], report: TickReport) -> None:
        clerk = self.config.schedule.clerk_email or self.config.smtp.reply_to or self.config.smtp.sender
        self._send(messages.paper_notice(
            to=clerk, committee=meeting.committee, meeting_date=meeting.date,
            deadline=meeting.publication_deadline, papers=paths, letterhead=self.letterhead,
            now=self.now), report)
