"""Committee papers for tests: returns generated, filled as Word fills them and ingested into a
store, and a written paper read back (its tables and text with python-docx, its annex with openpyxl)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from pipeline.core.config import Settings
from pipeline.core.definitions import FormLibrary
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.ingest.steps import Ingest, Outcome
from pipeline.store import Store
from tests.support.filling import fill_docx

LIBRARY = FormLibrary.load()
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def ingest(
    settings: Settings,
    store: Store,
    form_id: str,
    person: Personalisation,
    answers: dict[str, object],
    received: datetime,
    *,
    arrived: datetime | None = None,
) -> None:
    """Generate the form, fill it as Word saves it, leave it as arriving at `received`, ingest it."""
    definition = LIBRARY.get(form_id)
    blank, identity = form_bytes(definition, "docx", person)
    if identity.token:  # recorded as issued, as `pipeline generate` and the scheduler do
        store.record_token(identity.token, form_id=form_id, form_version=definition.version,
                           partnership=person.partnership, member=person.member,
                           meeting_date=person.meeting_date, sent_to=None, issued_by="test",
                           at=received)
    folder = settings.home / "returned"
    folder.mkdir(exist_ok=True)
    path = folder / f"{form_id}-{len(list(folder.iterdir()))}.docx"
    path.write_bytes(fill_docx(blank, answers))
    os.utime(path, (received.timestamp(), received.timestamp()))
    if arrived is None:
        arrived = min(received, NOW)  # when it reached the pipeline, by its own clock
    results = Ingest(settings, LIBRARY, store, clock=lambda: arrived).ingest_path(path)
    assert [r.outcome for r in results] in ([Outcome.ACCEPTED], [Outcome.SUPERSEDED]), results[0].message


def monitoring_answers(
    partnership: str, meeting: date, agenda: str, attendance: str, **tables: list[dict[str, str]]
) -> tuple[Personalisation, dict[str, object]]:
    person = Personalisation(
        partnership=partnership,
        member="Cllr Jane Smith",
        meeting_title=f"{partnership} board",
        meeting_date=meeting,
        meeting_place="Guildhall, Hull",
    )
    answers: dict[str, object] = {
        "meeting_length": "2 hours",
        "agenda_rating": [agenda],
        "attendance_rating": [attendance],
        **tables,
    }
    return person, answers


def table_rows(docx: Path, first_heading: str) -> list[list[str]]:
    """The rows (without the header) of the table whose first heading cell is `first_heading`."""
    found = [t for t in Document(str(docx)).tables if t.rows[0].cells[0].text.strip() == first_heading]
    assert found, f"no table headed {first_heading!r}"
    return [[cell.text.strip() for cell in row.cells] for row in found[0].rows[1:]]


def tables_headed(docx: Path, heading: str) -> list[list[list[str]]]:
    return [
        [[c.text.strip() for c in row.cells] for row in t.rows[1:]]
        for t in Document(str(docx)).tables
        if t.rows[0].cells[0].text.strip() == heading
    ]


def text_of(docx: Path) -> str:
    document = Document(str(docx))
    return "\n".join(p.text for p in document.paragraphs)


def sheet_rows(annex: Path, title: str) -> list[list[object]]:
    sheet = load_workbook(annex)[title]
    rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    return [row for row in rows if any(value is not None for value in row)]


def checklist_answers(*, high_risk: bool, overrides: dict[str, object]) -> dict[str, object]:
    definition = LIBRARY.get("risk-checklist")
    answers: dict[str, object] = {"assessed_on": "2026-02-10"}
    for f in definition.fields:
        if f.id.startswith("screen_"):
            answers[f.id] = "yes" if high_risk and f.id == "screen_money" else "no"
        elif f.type.value == "yes_no":
            answers[f.id] = "yes"
        elif f.required_when == "high_risk":
            answers[f.id] = "Set out in the agreement"
    answers["q16_answer"] = "no"
    answers.update(overrides)
    return {k: v for k, v in answers.items() if v is not None}


def survey(year: int, first: str, second: str, third: str) -> dict[str, object]:
    values: dict[str, object] = {
        "survey_year": year,
        "pledge_01": first,
        "pledge_02": second,
        "pledge_03": third,
    }
    values |= {f"pledge_{n:02d}": "agree" for n in range(4, 13)}
    return values
