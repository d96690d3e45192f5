"""Returned forms for the ingest tests: personalised forms made by the generator, filled the way
Word saves them (and Excel, by typing into named cells), placed as arriving at a time, and a
pipeline home driven through `pipeline` commands in-process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.core.config import Settings
from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import StoreError
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.store import Store
from tests.support.filling import fill_docx, soffice
from tests.support.workbooks import type_into
from tests.support.zips import read_parts, zipped

LIBRARY = FormLibrary.load()
MONITORING = LIBRARY.get("monitoring")
MEETING = date(2026, 3, 14)
LONDON = ZoneInfo("Europe/London")
ON_TIME = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)  # two days after the meeting
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
HULL = Personalisation(partnership="Hull CDRP", member="Cllr Jane Smith",
                       meeting_title="Hull CDRP Strategic Board", meeting_date=MEETING,
                       meeting_place="Guildhall, Hull")


# What the member types into the rest of the monitoring form (raw shape, as in pipeline.core.values).
ANSWERS: dict[str, object] = {
    "meeting_length": "2 hours",
    "police_officer_attending": "Insp. R Jones & PC Lee",
    "pa_issues": [{"issue": "Knife crime in the city centre", "decision": "Extra patrols funded"},
                  {"issue": "Budget & precept review", "decision": ""}],
    "challenges_by_pa": [{"challenge": "CCTV upgrade delayed", "action": "Report a new timetable",
                          "by_whom": "Council CCTV manager", "by_when": "2026-04-01"}],
    "agenda_rating": ["highly_relevant"],
    "attendance_rating": ["of_value"],
}


# What `pipeline records monitoring --json` must show for it: every field, empty ones null or [].
HULL_RECORD: dict[str, object] = {
    "partnership": "Hull CDRP",
    "meeting_title": "Hull CDRP Strategic Board",
    "meeting_date": "2026-03-14",
    "meeting_place": "Guildhall, Hull",
    "meeting_length": "2 hours",
    "member_attending": "Cllr Jane Smith",
    "police_officer_attending": "Insp. R Jones & PC Lee",
    "pa_issues": [{"issue": "Knife crime in the city centre", "decision": "Extra patrols funded"},
                  {"issue": "Budget & precept review", "decision": None}],
    "force_issues": [],
    "challenges_by_pa": [{"challenge": "CCTV upgrade delayed", "action": "Report a new timetable",
                          "by_whom": "Council CCTV manager", "by_when": "2026-04-01"}],
    "challenges_to_pa": [],
    "initiatives": [],
    "agenda_rating": "highly_relevant",
    "attendance_rating": "of_value",
}


needs_soffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")


def blank_form(person: Personalisation = HULL, definition: FormDefinition = MONITORING,
               fmt: str = "docx") -> bytes:
    """A personalised form as the clerk sends it out (its token noted as issued, see `issue`)."""
    data, identity = form_bytes(definition, fmt, person)
    if identity.token:
        ISSUED[identity.token] = (definition, person)
    return data


ISSUED: dict[str, tuple[FormDefinition, Personalisation]] = {}


def issue(settings: Settings) -> None:
    """Record every personal copy made so far in the home's database, as `pipeline generate`
    and the scheduler do when they make one (a token never recorded is refused)."""
    try:
        store = Store.for_home(settings)
    except StoreError:
        return  # a test of a broken database: nothing to record
    with store:
        for token, (definition, person) in ISSUED.items():
            store.record_token(token, form_id=definition.id, form_version=definition.version,
                               partnership=person.partnership, member=person.member,
                               meeting_date=person.meeting_date, sent_to=None,
                               issued_by="test", at=ON_TIME)


def word_return(person: Personalisation = HULL, answers: dict[str, object] | None = None,
                definition: FormDefinition = MONITORING) -> bytes:
    """A monitoring form filled in the way Word saves it (runs split, glyphs changed)."""
    return fill_docx(blank_form(person, definition), ANSWERS if answers is None else answers)


def place(folder: Path, name: str, data: bytes, received: datetime = ON_TIME) -> Path:
    """Save `data` as `folder/name`, last changed at `received` (what ingest takes as arrival)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (received.timestamp(), received.timestamp()))
    return path


def arrived(paths: tuple[Path, ...] | list[Path]) -> str:
    """When the last of `paths` was placed (see `place`), as `--now` takes it (London time)."""
    latest = max((p.stat().st_mtime for p in paths if p.exists()), default=ON_TIME.timestamp())
    return datetime.fromtimestamp(latest, UTC).astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def without_identity(data: bytes) -> bytes:
    """The document with its custom properties gone: part, relationship and content type."""
    parts = read_parts(data)
    del parts["docProps/custom.xml"]
    parts["_rels/.rels"] = re.sub(rb"<Relationship [^>]*custom-properties[^>]*/>", b"",
                                  parts["_rels/.rels"])
    parts["[Content_Types].xml"] = re.sub(rb"<Override [^>]*docProps/custom.xml[^>]*/>", b"",
                                          parts["[Content_Types].xml"])
    assert b"custom" not in parts["_rels/.rels"]
    return zipped(parts)


def without_control(data: bytes, index: int) -> bytes:
    """The document with its `index`-th answer box (content control) deleted, as someone might."""
    parts = read_parts(data)
    root = etree.fromstring(parts["word/document.xml"])
    leaves = [sdt for sdt in root.iter(f"{{{W}}}sdt") if sdt.find(f".//{{{W}}}sdt") is None]
    leaves[index].getparent().remove(leaves[index])
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                                standalone=True)
    return zipped(parts)


def email_with(attachments: list[tuple[str, bytes]], *, sender: str = "jane.smith@example.gov.uk",
               sent: datetime = ON_TIME, subject: str = "RE: Partnership Monitoring Form") -> bytes:
    message = EmailMessage()
    message["From"] = f"Cllr Jane Smith <{sender}>"
    message["To"] = "partnerships@example.gov.uk"
    message["Subject"] = subject
    message["Date"] = format_datetime(sent)
    message.set_content("Please find my form attached.\n\nJane")
    for name, data in attachments:
        maintype, subtype = DOCX_TYPE.split("/") if name.endswith(".docx") else ("text", "plain")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)


@dataclass
class Home:
    """A pipeline home in a temporary folder, driven through `pipeline` commands in-process."""

    settings: Settings
    capsys: pytest.CaptureFixture[str]
    errors: str = ""

    @property
    def path(self) -> Path:
        return self.settings.home

    def cli(self, *args: str) -> tuple[int, str]:
        """Run `pipeline ARGS --home HOME`; returns the exit status and what it printed."""
        self.capsys.readouterr()
        if args and args[0] in ("ingest", "watch"):
            issue(self.settings)
        status = main([*args, "--home", str(self.path)])
        printed = self.capsys.readouterr()
        self.errors = printed.err
        return status, printed.out

    def ingest(self, *paths: Path) -> list[dict]:
        """`pipeline ingest PATHS --json`, run at the moment the last of them arrived (arrival
        is the pipeline's own clock, never the file's time)."""
        status, out = self.cli("ingest", *map(str, paths), "--json", "--now", arrived(paths))
        assert status == 0, out
        return [json.loads(line) for line in out.splitlines()]

    def ingest_one(self, path: Path) -> dict:
        (result,) = self.ingest(path)
        return result

    def records(self, form_id: str = "monitoring") -> list[dict]:
        status, out = self.cli("records", form_id, "--json")
        assert status == 0, out
        return json.loads(out)

    def files(self, folder: str) -> list[Path]:
        return sorted(p for p in (self.path / folder).rglob("*") if p.is_file())


def the_record(home: Home, form_id: str = "monitoring") -> dict:
    (record,) = home.records(form_id)
    return record


def excel_return() -> bytes:
    workbook = load_workbook(io.BytesIO(blank_form(fmt="xlsx")))
    type_into(workbook, "meeting_length", "2 hours")
    type_into(workbook, "police_officer_attending", "Insp. R Jones & PC Lee")
    type_into(workbook, "pa_issues.issue", "Knife crime in the city centre")
    type_into(workbook, "pa_issues.decision", "Extra patrols funded")
    type_into(workbook, "pa_issues.issue", "Budget & precept review", row=1)
    type_into(workbook, "challenges_by_pa.challenge", "CCTV upgrade delayed")
    type_into(workbook, "challenges_by_pa.action", "Report a new timetable")
    type_into(workbook, "challenges_by_pa.by_whom", "Council CCTV manager")
    type_into(workbook, "challenges_by_pa.by_when", datetime(2026, 4, 1))
    type_into(workbook, "agenda_rating", "Meeting was highly relevant to PA partnership objectives")
    type_into(workbook, "attendance_rating", "Attendance of value to PA objectives/reputation")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


EAST = Personalisation(partnership="East Riding LSP", member="Cllr Jane Smith",
                       meeting_title="LSP Board", meeting_date=MEETING, meeting_place="County Hall")
