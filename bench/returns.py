"""Realistic returned monitoring forms for the benchmarks, each one different, and their answers.

A return is the personalised form the pipeline generates, filled in the way a member fills it:
Word returns through `tests.support.filling.fill_docx` (Word's own edits: split runs, ticked boxes, rows
added with the + button), Excel returns by typing into the named input cells with openpyxl.
Return `i` is for its own partnership and meeting, so no two are duplicates or corrections.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from pipeline.core.definitions import FormDefinition
from pipeline.core.identity import Personalisation
from pipeline.demo.samples import AGENDA, ATTENDANCE, CHALLENGES, ISSUES
from pipeline.generate.forms import form_bytes
from pipeline.ooxml import zipcopy
from tests.support.filling import fill_docx

DOCUMENT = "word/document.xml"
FIRST_MEETING = date(2026, 1, 5)
PLACES = ("Guildhall, Hull", "County Hall, Beverley", "Church Square House", "Wilson Centre")
PARTNERSHIP_COUNT = 60


def partnership(index: int) -> str:
    """One of sixty partnership names; some carry characters XML must escape."""
    number = index % PARTNERSHIP_COUNT
    return f"Hull & East Riding Partnership {number:02d}" if number % 3 == 0 \
        else f"Partnership {number:02d} <North>" if number % 3 == 1 else f"Safer Streets Board {number:02d}"


def meeting(index: int) -> date:
    """Each partnership meets on its own run of days, so (partnership, meeting) never repeats."""
    return FIRST_MEETING + timedelta(days=index // PARTNERSHIP_COUNT)


def person(index: int) -> Personalisation:
    return Personalisation(partnership=partnership(index), member=f"Cllr Member {index % 97}",
                           meeting_title=f"{partnership(index)} board meeting",
                           meeting_date=meeting(index), meeting_place=PLACES[index % len(PLACES)])


def answers(index: int) -> dict[str, Any]:
    """What the member of return `index` types in (the raw shape `fill_docx` takes)."""
    rng = random.Random(index)
    who = person(index)
    issues = rng.sample(ISSUES, 2)
    challenge = rng.choice(CHALLENGES)
    when = meeting(index) + timedelta(days=rng.choice((10, 21, 42)))
    return {
        "partnership": who.partnership,
        "meeting_title": who.meeting_title,
        "meeting_date": meeting(index).isoformat(),
        "meeting_place": who.meeting_place,
        "meeting_length": rng.choice(("1 hour 30 minutes", "2 hours", "2 hours 15 minutes")),
        "member_attending": who.member,
        "police_officer_attending": rng.choice(("Ch Supt M. Hardy", "Supt L. Okafor", "")),
        "pa_issues": [{"issue": i, "decision": d} for i, d in issues],
        "force_issues": [{"issue": issues[0][0], "decision": f"Force to report back ({index})"}],
        "challenges_by_pa": [{"challenge": challenge[0], "action": challenge[1],
                              "by_whom": challenge[2], "by_when": when.isoformat()}],
        "initiatives": [{"initiative": "Safer Streets round 5 bid", "action_required": "Letter of support"}],
        "agenda_rating": [AGENDA[rng.randrange(0, 5)]],
        "attendance_rating": [ATTENDANCE[rng.randrange(0, 5)]],
    }


@dataclass(frozen=True)
class Return:
    """One returned form: its file name, bytes and the answers typed into it."""

    name: str
    data: bytes
    answers: dict[str, Any]


ISSUED: dict[str, tuple[FormDefinition, int]] = {}


def _issued(definition: FormDefinition, index: int, token: str | None) -> None:
    if token:
        ISSUED[token] = (definition, index)


def record_issued(home: Path) -> None:
    """Record every personal copy made so far in `home`'s database, as `pipeline generate` and
    the scheduler do when they make one (the pipeline refuses a token it never issued)."""
    from datetime import UTC, datetime

    from pipeline.core.config import settings_for
    from pipeline.store import Store

    with Store.for_home(settings_for(home)) as store:
        for token, (definition, index) in ISSUED.items():
            who = person(index)
            store.record_token(token, form_id=definition.id, form_version=definition.version,
                               partnership=who.partnership, member=who.member,
                               meeting_date=who.meeting_date, sent_to=None, issued_by="bench",
                               at=datetime.now(UTC))


def docx_return(definition: FormDefinition, index: int) -> Return:
    """Return `index` as a Word file: the personalised copy, filled as Word saves it."""
    blank, identity = form_bytes(definition, "docx", person(index))
    _issued(definition, index, identity.token)
    typed = answers(index)
    return Return(f"monitoring-{index:05d}.docx", _filled(blank, typed), typed)


def _filled(blank: bytes, typed: dict[str, Any]) -> bytes:
    # fill_docx re-zips every part (800 KB of styles); fill a zip of the document alone and put
    # the filled document back into the copy, so building 2,000 returns takes seconds, not minutes.
    document = zipfile.ZipFile(io.BytesIO(blank)).read(DOCUMENT)
    alone = io.BytesIO()
    with zipfile.ZipFile(alone, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT, document)
    filled = zipfile.ZipFile(io.BytesIO(fill_docx(alone.getvalue(), typed))).read(DOCUMENT)
    return zipcopy.rewrite(blank, {DOCUMENT: filled})


def xlsx_return(definition: FormDefinition, index: int) -> Return:
    """Return `index` as an Excel file, typed into the named input cells."""
    blank, identity = form_bytes(definition, "xlsx", person(index))
    _issued(definition, index, identity.token)
    workbook = load_workbook(io.BytesIO(blank))
    typed = answers(index)
    for f in definition.fields:
        value = typed.get(f.id)
        if f.is_table:
            for row_number, row in enumerate(value or []):
                for column, text in row.items():
                    _cells(workbook, f"{f.id}.{column}")[row_number].value = _typed(text)
        elif isinstance(value, list):  # a single choice: the member picks its label
            _cells(workbook, f.id)[0].value = f.choice_label(value[0])
        elif value:
            _cells(workbook, f.id)[0].value = _typed(value)
    out = io.BytesIO()
    workbook.save(out)
    return Return(f"monitoring-{index:05d}.xlsx", out.getvalue(), typed)


def _cells(workbook: Any, name: str) -> list[Any]:
    (sheet, ref), *_ = workbook.defined_names[name].destinations
    min_col, min_row, _, max_row = range_boundaries(ref.replace("$", ""))
    rows = workbook[sheet].iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=min_col)
    return [row[0] for row in rows]


def _typed(text: str) -> object:
    """A date typed into Excel becomes a date cell; anything else stays text."""
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time())
    except ValueError:
        return text


# --- comparing answers -------------------------------------------------------------------------


def same_answers(typed: dict[str, Any], found: dict[str, Any]) -> bool:
    """True when `found` (raw from a reader, or a stored record) holds exactly what was typed.

    Blank cells, blank rows and empty fields are ignored on both sides; a single ticked choice
    equals that choice's value (how validation stores it).
    """
    return _normal(typed) == _normal(found)


def _normal(values: dict[str, Any]) -> dict[str, Any]:
    shown = {}
    for key, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [{k: str(v) for k, v in row.items() if v not in (None, "")} for row in value]
            value = [row for row in value if row]
        elif isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value not in (None, "", []):
            shown[key] = str(value) if not isinstance(value, list) else value
    return shown
