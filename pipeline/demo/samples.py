"""Realistic sample returns for the demo: what a round of partnership meetings sends back.

Everything is derived from a fixed seed and a reference date, so a demo run is repeatable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from pipeline.core.dates import day_month_year
from pipeline.core.definitions import FormLibrary
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.generate.word import fill_docx_form
from pipeline.store import Store

PARTNERSHIPS = (
    ("Hull Community Safety Partnership", "Cllr Jane Smith", "jane.smith@example.gov.uk"),
    ("East Riding Local Strategic Partnership", "Mr Tom Baker", "tom.baker@example.gov.uk"),
    ("North Lincolnshire Children's Trust", "Mrs Asha Patel", "asha.patel@example.gov.uk"),
    ("Humberside Local Criminal Justice Board", "Cllr Alan Reed", "alan.reed@example.gov.uk"),
    ("Hull PREVENT Partnership Group", "Ms Claire Dunn", "claire.dunn@example.gov.uk"),
    ("Hull & Humber Chamber of Commerce", "Mr Raj Singh", "raj.singh@example.gov.uk"),
)
AGENDA = ("wholly_relevant", "highly_relevant", "partially_relevant", "little_relevance", "no_value")
ATTENDANCE = ("significant_value", "high_value", "of_value", "low_value", "no_value")
ISSUES = (
    ("Night-time economy violence in the city centre", "Extra patrols funded for December"),
    ("Anti-social behaviour on the Orchard Park estate", "Joint problem-solving group set up"),
    ("Domestic abuse referrals up 12% on last year", "MARAC capacity to be reviewed"),
    ("Local Area Agreement target NI 21 off track", "Action plan to be brought to next meeting"),
    ("Youth diversion funding ends in March", "Partners to explore match funding"),
)
CHALLENGES = (
    ("Asked for victim satisfaction figures by ward", "Provide ward breakdown", "Insp. K. Lowe"),
    ("Challenged delay in CCTV upgrade", "Report revised timetable", "Council CCTV manager"),
    ("Questioned police share of pooled budget", "Circulate budget breakdown", "Treasurer"),
)


@dataclass(frozen=True)
class SampleFile:
    name: str
    data: bytes
    what: str  # a line for the demo's narration


def sample_returns(library: FormLibrary, today: date, *, seed: int = 2009) -> list[SampleFile]:
    """A round of returns as members would send them, some with mistakes, one late, one by email."""
    rng = random.Random(seed)
    files: list[SampleFile] = []
    for index, (partnership, member, email) in enumerate(PARTNERSHIPS):
        meeting = past_meeting(today, index)
        values = _monitoring_values(rng, partnership, member, meeting, low_value=index == 4)
        data = _filled(library, "monitoring", values, partnership, member, meeting)
        what = f"monitoring form for {partnership}'s meeting on {day_month_year(meeting)}"
        if index == 1:
            files.append(SampleFile(f"monitoring-{index}.eml", _email(email, member, data, meeting),
                                    what + ", as a saved email"))
        else:
            files.append(SampleFile(f"monitoring-{index}.docx", data, what))
    files += _corrected_and_unregistered(library, rng, today)
    broken = _monitoring_values(rng, PARTNERSHIPS[0][0], PARTNERSHIPS[0][1], today - timedelta(2))
    broken.update({"meeting_length": "", "agenda_rating": ["wholly_relevant", "highly_relevant"],
                   "meeting_date": "31/02/2026"})
    files.append(SampleFile("monitoring-with-mistakes.docx",
                            _filled(library, "monitoring", broken, PARTNERSHIPS[0][0],
                                    PARTNERSHIPS[0][1], None),
                            "monitoring form with three mistakes (to be rejected)"))
    files += _checklists(library, rng, today)
    files += _surveys(library, rng, today)
    files.append(SampleFile("notes-from-meeting.txt", b"Minutes to follow.\n",
                            "a stray text file (not a form)"))
    return files


def past_meeting(today: date, index: int) -> date:
    """The meeting of the `index`th sample partnership that its sample return is about."""
    return today - timedelta(days=5 + 9 * index)


MISSED_MEETING_DAYS = 20  # the PREVENT group also met this many days ago and sent nothing back
UNREGISTERED = "Hull Prevent group"  # a member's own wording, not the register's name


def _corrected_and_unregistered(library: FormLibrary, rng: random.Random, today: date) -> list[SampleFile]:
    """A corrected copy of one return (it replaces the first), and a return under a name the
    register does not know (held as "not matched" until the clerk matches it)."""
    name, member, _ = PARTNERSHIPS[2]
    meeting = past_meeting(today, 2)
    corrected = _monitoring_values(rng, name, member, meeting)
    unregistered = _monitoring_values(rng, UNREGISTERED, PARTNERSHIPS[4][1], today - timedelta(days=3))
    return [
        SampleFile("monitoring-2-corrected.docx",
                   _filled(library, "monitoring", corrected, name, member, meeting),
                   f"a corrected copy of {name}'s monitoring form"),
        SampleFile("monitoring-unregistered.docx",
                   _filled(library, "monitoring", unregistered, UNREGISTERED, PARTNERSHIPS[4][1],
                           today - timedelta(days=3)),
                   f'a monitoring form for "{UNREGISTERED}", a name not on the register'),
    ]


def _filled(library: FormLibrary, form_id: str, values: dict[str, object], partnership: str,
            member: str, meeting: date | None) -> bytes:
    definition = library.get(form_id)
    person = Personalisation(partnership=partnership, member=member, meeting_date=meeting)
    blank, identity = form_bytes(definition, "docx", person)
    if identity.token:
        ISSUED[identity.token] = (form_id, definition.version, person)
    return fill_docx_form(blank, definition, values)


# The personal copies the sample returns were made from, as if the pipeline had sent them.
ISSUED: dict[str, tuple[str, int, Personalisation]] = {}


def record_sample_tokens(store: Store, at: datetime) -> None:
    """Record the sample returns' copies as issued (as `pipeline generate` would have), so the
    demo's returns are trusted like ones the scheduler sent."""
    for token, (form_id, version, person) in ISSUED.items():
        store.record_token(token, form_id=form_id, form_version=version,
                           partnership=person.partnership, member=person.member,
                           meeting_date=person.meeting_date, sent_to=None,
                           issued_by="demo", at=at)


def _monitoring_values(rng: random.Random, partnership: str, member: str, meeting: date,
                       *, low_value: bool = False) -> dict[str, object]:
    issues = rng.sample(ISSUES, 2)
    challenge = rng.choice(CHALLENGES)
    return {
        "partnership": partnership,
        "meeting_title": f"{partnership} board meeting",
        "meeting_date": meeting.isoformat(),
        "meeting_place": rng.choice(("Guildhall, Hull", "County Hall, Beverley", "Church Square House")),
        "meeting_length": rng.choice(("1 hour 30 minutes", "2 hours", "2 hours 15 minutes")),
        "member_attending": member,
        "police_officer_attending": rng.choice(("Ch Supt M. Hardy", "Supt L. Okafor", "")),
        "pa_issues": [{"issue": i, "decision": d} for i, d in issues],
        "force_issues": [{"issue": issues[0][0], "decision": "Force to report back in January"}],
        "challenges_by_pa": [{"challenge": challenge[0], "action": challenge[1],
                              "by_whom": challenge[2],
                              "by_when": (meeting + timedelta(days=rng.choice((10, 21, 42)))).isoformat()}],
        "initiatives": [{"initiative": "Safer Streets round 5 bid", "action_required": "Letter of support"}],
        "agenda_rating": [AGENDA[4 if low_value else rng.randrange(0, 3)]],
        "attendance_rating": [ATTENDANCE[3 if low_value else rng.randrange(0, 3)]],
    }


def _email(sender: str, member: str, attachment: bytes, meeting: date) -> bytes:
    message = EmailMessage()
    message["From"] = f"{member} <{sender}>"
    message["To"] = "partnerships@example.gov.uk"
    message["Subject"] = f"RE: Partnership Monitoring Form - meeting on {day_month_year(meeting)}"
    sent = datetime.combine(meeting + timedelta(days=3), time(9, 30), tzinfo=UTC)
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid(domain="example.gov.uk")
    message.set_content("Please find my monitoring form attached.\n\nRegards\n" + member)
    message.add_attachment(attachment, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="Monitoring form.docx")
    return bytes(message)


def _checklists(library: FormLibrary, rng: random.Random, today: date) -> list[SampleFile]:
    definition = library.get("risk-checklist")
    files = []
    for index, (partnership, member, _) in enumerate(PARTNERSHIPS[:3]):
        values: dict[str, object] = {"partnership_name": partnership, "assessed_by": member,
                                     "assessed_on": (today - timedelta(days=30 * (index + 1))).isoformat()}
        # Hull and East Riding involve money; North Lincolnshire's answers say it has joint
        # targets, which the register does not record: the risk register flags the disagreement.
        screens = ("money", "resources", "targets", "property_staff", "contracts")
        says_yes = {0: "money", 1: "money", 2: "targets"}[index]
        values.update({f"screen_{k}": "yes" if k == says_yes else "no" for k in screens})
        for f in definition.fields:
            if f.id in values or f.id.endswith("_comment"):
                continue
            if f.type.value == "yes_no":
                values[f.id] = rng.choice(("yes", "yes", "yes", "no", "not_known"))
            elif f.id == "q3_answer":
                values[f.id] = "Hull City Council"
            elif f.type.value in ("text", "long_text") and f.id != "q16_agency":
                values[f.id] = "Set out in the partnership agreement, section 4"
        if values.get("q16_answer") == "yes":
            values["q16_agency"] = "Hull City Council (Estates)"
        if index == 1:
            values["q3_answer"] = "East Riding of Yorkshire Council"
        files.append(SampleFile(f"risk-checklist-{index}.docx",
                                _filled(library, "risk-checklist", values, partnership, member, None),
                                f"risk assessment checklist for {partnership}"))
    return files


def _surveys(library: FormLibrary, rng: random.Random, today: date) -> list[SampleFile]:
    scale = ("strongly_agree", "agree", "neither", "disagree", "strongly_disagree")
    files = []
    for year, bias in ((today.year - 1, 2), (today.year, 1)):
        for index, (partnership, _, _) in enumerate(PARTNERSHIPS[:4]):
            values: dict[str, object] = {"partnership": partnership, "respondent": f"Chair of {partnership}",
                                         "survey_year": str(year)}
            for item in range(1, 13):
                values[f"pledge_{item:02d}"] = scale[min(4, max(0, bias + rng.randrange(-1, 2)))]
            files.append(SampleFile(f"survey-{year}-{index}.docx",
                                    _filled(library, "stakeholder-survey", values, partnership, "", None),
                                    f"stakeholder survey {year} from {partnership}"))
    return files


def sample_register(today: date) -> bytes:
    """The register workbook a clerk would keep: the sample partnerships, the meetings the sample
    returns are about (and one the PREVENT group sent nothing back for), and their next meetings.
    Import it with `today` at least 60 days back: the past meetings are the sample's history."""
    import io

    import openpyxl

    from pipeline.schedule.register import write_register_template

    kinds = ("CDRP", "LSP", "Children's Trust / Board", "Local Criminal Justice Board",
             "PREVENT group", "Business partnership")
    book = openpyxl.load_workbook(io.BytesIO(write_register_template()))
    sheet, meetings = book["Partnerships"], book["Meetings"]
    for row, ((name, member, email), kind) in enumerate(zip(PARTNERSHIPS, kinds, strict=True), 2):
        money = "Yes" if row in (2, 3, 5) else "No"
        values = [name, kind, "Humberside", member, email, "Strategic Development Manager",
                  "sdm@example.gov.uk", money, "No", "No", "No", "No", ""]
        for column, value in enumerate(values, 1):
            sheet.cell(row, column, value)
    line = 2
    for index, (name, _, _) in enumerate(PARTNERSHIPS):
        days = [past_meeting(today, index), today + timedelta(days=3 + index % 3)]
        if index == 4:
            days.insert(0, today - timedelta(days=MISSED_MEETING_DAYS))
        for day in days:
            when = datetime.combine(day, time(0))
            for column, value in enumerate([name, when, f"{name} board meeting", "Guildhall, Hull"], 1):
                meetings.cell(line, column, value)
            line += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sample_committees(today: date) -> str:
    """committees.yaml: the two committees that take the papers, meeting in the coming weeks."""
    first = today + timedelta(days=14)
    second = today + timedelta(days=21)
    return (
        "committees:\n"
        "  - name: Communities and Partnerships Committee\n"
        "    papers: [monitoring-summary, survey-results]\n"
        f"    meetings: [{first.isoformat()}]\n"
        "  - name: Scrutiny and Audit Committee\n"
        "    papers: [risk-register]\n"
        f"    meetings: [{second.isoformat()}]\n"
    )
