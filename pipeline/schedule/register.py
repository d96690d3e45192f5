"""The partnership register: the Excel workbook the clerk keeps, and its copy in the database.

`write_register_template()` makes an empty workbook to fill in (sheets Instructions, Partnerships,
Meetings); `import_register()` reads a filled one back. Every row that does not make sense is
reported with its sheet and row number, and the good rows are still imported. Partnerships are
matched by name (ignoring capitals), so importing again updates and never duplicates; nothing is
deleted by leaving it out of the workbook. Tables: `partnerships`, `partnership_meetings`
(migration 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core.dates import day_from_words
from pipeline.core.errors import ConfigError
from pipeline.ooxml.package import Package
from pipeline.ooxml.sheetml import set_text
from pipeline.store import Store
from pipeline.store.rows import PartnershipRow

PARTNERSHIPS_SHEET, MEETINGS_SHEET, INSTRUCTIONS_SHEET = "Partnerships", "Meetings", "Instructions"
TEMPLATE_ROWS = 500  # rows given drop-downs and date checks in the template
DATE_FORMAT = "dd/mm/yyyy"
HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
YES = frozenset({"yes", "y", "x", "true", "1", "✓", "✔"})
NO = frozenset({"no", "n", "false", "0", "-"})
TEXT_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y")  # and "5 March 2026"


class PartnershipType(StrEnum):
    """The kinds of partnership the Authority is represented on (the register's drop-down)."""

    LSP = "Local Strategic Partnership (LSP)"
    CDRP = "Crime and Disorder Reduction Partnership (CDRP)"
    CHILDRENS_TRUST = "Children's Trust / Board"
    LCJB = "Local Criminal Justice Board"
    PREVENT = "PREVENT group"
    BUSINESS = "Business partnership"
    COLLABORATION = "Collaboration"

    @classmethod
    def from_text(cls, text: str) -> PartnershipType | None:
        """The type a person wrote: the full name, its short form (CDRP), any capitals."""
        return _TYPE_NAMES.get(_fold(text))


def _fold(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


_TYPE_NAMES = {_fold(t.value): t for t in PartnershipType} | {
    "lsp": PartnershipType.LSP,
    "local strategic partnership": PartnershipType.LSP,
    "cdrp": PartnershipType.CDRP,
    "crime and disorder reduction partnership": PartnershipType.CDRP,
    "community safety partnership": PartnershipType.CDRP,
    "csp": PartnershipType.CDRP,
    "children's trust": PartnershipType.CHILDRENS_TRUST,
    "children's board": PartnershipType.CHILDRENS_TRUST,
    "children's trust board": PartnershipType.CHILDRENS_TRUST,
    "lcjb": PartnershipType.LCJB,
    "prevent": PartnershipType.PREVENT,
    "business": PartnershipType.BUSINESS,
}

# The five criteria that make a partnership high risk: (column, what the register calls it)
RISK_CRITERIA: tuple[tuple[str, str], ...] = (
    ("risk_money", "money"),
    ("risk_resources", "allocation of resources"),
    ("risk_targets", "joint performance targets"),
    ("risk_property_staff", "property or staff owned by the partnership"),
    ("risk_contracts", "contracts"),
)


# --- what the register holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Partnership:
    id: int
    name: str
    type: PartnershipType
    area: str | None = None
    representative: str | None = None
    representative_email: str | None = None
    lead_officer: str | None = None
    lead_officer_email: str | None = None
    risk_money: bool = False
    risk_resources: bool = False
    risk_targets: bool = False
    risk_property_staff: bool = False
    risk_contracts: bool = False
    notes: str | None = None
    updated_at: str = ""

    @property
    def high_risk(self) -> bool:
        """True when any of the five high-risk criteria applies."""
        return bool(self.risk_criteria)

    @property
    def risk_criteria(self) -> tuple[str, ...]:
        """The high-risk criteria that apply, in the register's words."""
        return tuple(words for column, words in RISK_CRITERIA if getattr(self, column))


@dataclass(frozen=True)
class PartnershipMeeting:
    """One meeting of a partnership; `partnership(store, meeting.partnership)` gives its details."""

    partnership: str  # the partnership's name
    meeting_date: date
    title: str | None
    place: str | None
    partnership_id: int


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one row of the register workbook (row 1 is the header row)."""

    sheet: str
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.sheet} sheet, row {self.row}"
        return f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class RegisterImport:
    """What an import did; each row with a problem was left out and is listed in `problems`."""

    partnerships_added: int = 0
    partnerships_updated: int = 0
    meetings_added: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    partnerships_unchanged: int = 0
    meetings_updated: int = 0
    meetings_unchanged: int = 0

    def summary(self) -> str:
        lines = [
            f"Partnerships: {self.partnerships_added} added, {self.partnerships_updated} updated,"
            f" {self.partnerships_unchanged} unchanged.",
            f"Meetings: {self.meetings_added} added, {self.meetings_updated} updated,"
            f" {self.meetings_unchanged} unchanged.",
        ]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s); those rows were not imported:")
            lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines)


# --- the workbook's columns ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    key: str
    header: str
    width: int
    kind: str = "text"  # text, email, type, yes-no, date


PARTNERSHIP_COLUMNS = (
    _Column("name", "Partnership name", 40),
    _Column("type", "Type", 40, "type"),
    _Column("area", "Area", 24),
    _Column("representative", "Representative name", 26),
    _Column("representative_email", "Representative email", 32, "email"),
    _Column("lead_officer", "Lead officer", 26),
    _Column("lead_officer_email", "Lead officer email", 32, "email"),
    *(_Column(key, f"High risk: {words}", 18, "yes-no") for key, words in RISK_CRITERIA),
    _Column("notes", "Notes", 40),
)
MEETING_COLUMNS = (
    _Column("partnership", "Partnership name", 40),
    _Column("date", "Meeting date", 16, "date"),
    _Column("title", "Title", 36),
    _Column("place", "Place", 30),
)

INSTRUCTIONS = (
    "The partnership register",
    "",
    "Keep one row for each partnership on the Partnerships sheet, and one row for each of its"
    " meetings on the Meetings sheet. Leave the first row (the column headings) as it is.",
    "When you have finished, import the workbook with:  pipeline register import FILE.xlsx",
    "",
    "Partnerships sheet",
    "Partnership name: the name as it should appear on forms and committee papers. Required.",
    "Type: choose from the drop-down list. Required.",
    "Representative name and email: the member who represents the Authority on the partnership."
    " Forms for the partnership are emailed to this address.",
    "Lead officer and email: the officer who supports the representative.",
    "High risk: answer Yes or No in each of the five columns. A partnership with any Yes is high"
    " risk and is sent the risk checklist. A blank counts as No.",
    "",
    "Meetings sheet",
    "Partnership name: exactly as on the Partnerships sheet.",
    "Meeting date: as a date, for example 31/12/2026. Only meetings still to come can be added.",
    "Title and place: optional; they are printed on the representative's monitoring form.",
    "",
    "Importing",
    "A row with a mistake is listed with its sheet and row number, and the other rows are still"
    " imported. Correct the row and import the workbook again.",
    "Importing again updates each partnership (matched by its name) and never makes a copy."
    " Deleting a row here does not delete the partnership or meeting from the register.",
)


# --- writing the empty template ------------------------------------------------------------------


def write_register_template() -> bytes:
    """An empty register workbook, with drop-downs, date checks and plain instructions."""
    workbook = Workbook()
    _write_instructions(workbook.active)
    partnerships = workbook.create_sheet(PARTNERSHIPS_SHEET)
    _write_headers(partnerships, PARTNERSHIP_COLUMNS, freeze="B2")
    meetings = workbook.create_sheet(MEETINGS_SHEET)
    _write_headers(meetings, MEETING_COLUMNS, freeze="A2")
    for sheet, columns in ((partnerships, PARTNERSHIP_COLUMNS), (meetings, MEETING_COLUMNS)):
        _add_checks(sheet, columns)
    workbook.properties.title = "Partnership register"
    workbook.properties.creator = "Partnership forms pipeline"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_instructions(sheet: Worksheet) -> None:
    sheet.title = INSTRUCTIONS_SHEET
    sheet.column_dimensions["A"].width = 110
    for number, line in enumerate(INSTRUCTIONS, start=1):
        cell = sheet.cell(row=number, column=1)
        set_text(cell, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        heading = number == 1 or line in ("Partnerships sheet", "Meetings sheet", "Importing")
        cell.font = Font(bold=heading, size=14 if number == 1 else 11)


def _write_headers(sheet: Worksheet, columns: tuple[_Column, ...], *, freeze: str) -> None:
    for number, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=number)
        set_text(cell, column.header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[cell.column_letter].width = column.width
    sheet.freeze_panes = freeze


def _add_checks(sheet: Worksheet, columns: tuple[_Column, ...]) -> None:
    """A drop-down or date check on every input row of each column that has one."""
    for number, column in enumerate(columns, start=1):
        rule = _rule(column.kind)
        if rule is None:
            continue
        letter = sheet.cell(row=1, column=number).column_letter
        rule.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(rule)
        if column.kind == "date":
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=number).number_format = DATE_FORMAT


def _rule(kind: str) -> DataValidation | None:
    if kind == "type":
        choices = ",".join(t.value for t in PartnershipType)
        return DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True,
                              showErrorMessage=True, errorTitle="Type",
                              error="Choose the type of partnership from the list.")
    if kind == "yes-no":
        return DataValidation(type="list", formula1='"Yes,No"', allow_blank=True,
                              showErrorMessage=True, errorTitle="Yes or No", error="Choose Yes or No.")
    if kind == "date":
        return DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True,
                              showErrorMessage=True, errorTitle="Meeting date",
                              error="Enter the meeting date as a date, for example 31/12/2026.",
                              showInputMessage=True, prompt="For example 31/12/2026")
    return None


# --- reading a filled register -------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    number: int
    values: dict[str, Any]


def import_register(
    store: Store, data: bytes, *, today: date, source_name: str = "the register"
) -> RegisterImport:
    """Store the partnerships and meetings of a filled register workbook; see `RegisterImport`."""
    workbook = _open_register(data, source_name)
    result = RegisterImport()
    partnership_rows = _sheet_rows(workbook, PARTNERSHIPS_SHEET, PARTNERSHIP_COLUMNS, result.problems)
    meeting_rows = _sheet_rows(workbook, MEETINGS_SHEET, MEETING_COLUMNS, result.problems)
    good, rejected = _check_partnerships(partnership_rows, result.problems)
    with store.writing(f"import {source_name}"):
        for row in good:
            _store_partnership(store, row, result)
        for row in _check_meetings(store, meeting_rows, rejected, today, result.problems):
            _store_meeting(store, row, result)
    result.problems.sort(key=lambda p: (p.sheet != PARTNERSHIPS_SHEET, p.row))
    return result


def _open_register(data: bytes, source_name: str) -> Workbook:
    try:
        Package.open(data, source_name=source_name)  # the size, zip-bomb and macro checks
        return load_workbook(BytesIO(data), data_only=True, keep_vba=False, keep_links=False)
    except Exception as exc:  # RejectedFile, or one of openpyxl's many kinds (zip, XML, KeyError...)
        raise ConfigError(
            f"The register could not be imported: {source_name} is not an Excel workbook (.xlsx),"
            " or it is damaged or contains macros. Save it again as an Excel workbook (.xlsx) and"
            " import that."
        ) from exc


def _sheet_rows(
    workbook: Workbook, name: str, columns: tuple[_Column, ...], problems: list[RowProblem]
) -> list[_Row]:
    """The sheet's non-blank rows as {column key: cell value}, found by their headings."""
    sheet = next((s for s in workbook.worksheets if s.title.casefold() == name.casefold()), None)
    if sheet is None:
        problems.append(RowProblem(name, 1, None, f'The workbook has no sheet called "{name}".'))
        return []
    headings = {_fold(str(c.value)): c.column - 1 for c in sheet[1] if c.value is not None}
    missing = [c.header for c in columns if _fold(c.header) not in headings]
    if missing:
        message = ("This sheet has no column headed " + ", ".join(f'"{h}"' for h in missing)
                   + ". Put the heading back (the template shows them) and import again.")
        problems.append(RowProblem(name, 1, None, message))
        return []
    places = {c.key: headings[_fold(c.header)] for c in columns}
    rows = []
    for number, cells in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        values = {key: _clean(cells[i]) if i < len(cells) else None for key, i in places.items()}
        if any(value is not None for value in values.values()):
            rows.append(_Row(number, values))
    return rows


def _clean(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


# --- checking partnership rows --------------------------------------------------------------------


@dataclass(frozen=True)
class _PartnershipRow:
    number: int
    details: dict[str, Any]  # the partnerships table's columns, checked


def _check_partnerships(
    rows: list[_Row], problems: list[RowProblem]
) -> tuple[list[_PartnershipRow], dict[str, int]]:
    """The rows that make sense, and the names of those that don't (folded) with their row."""
    good: list[_PartnershipRow] = []
    rejected: dict[str, int] = {}
    seen: dict[str, int] = {}
    for row in rows:
        found: list[RowProblem] = []
        details = _partnership_details(row, found)
        name = details.get("name")
        if name and _fold(name) in seen:
            found.append(_problem(PARTNERSHIPS_SHEET, row, "name",
                                  f'"{name}" is already on row {seen[_fold(name)]}; give each'
                                  " partnership one row only."))
        elif name:
            seen[_fold(name)] = row.number
        problems.extend(found)
        if found:
            rejected.setdefault(_fold(name or ""), row.number)
        else:
            good.append(_PartnershipRow(row.number, details))
    return good, rejected


def _partnership_details(row: _Row, found: list[RowProblem]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for column in PARTNERSHIP_COLUMNS:
        value = row.values[column.key]
        checked, message = _CHECKS[column.kind](value)
        if message:
            found.append(_problem(PARTNERSHIPS_SHEET, row, column.key, message))
        details[column.key] = checked
    if not details["name"]:
        found.append(_problem(PARTNERSHIPS_SHEET, row, "name", "The partnership has no name."))
    if details["type"] is None and row.values["type"] is None:
        found.append(_problem(PARTNERSHIPS_SHEET, row, "type", "Choose the type of partnership."))
    return details


def _text(value: object) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return value.date().isoformat(), None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None, None


def _email(value: object) -> tuple[str | None, str | None]:
    text, _ = _text(value)
    if text is None or EMAIL.match(text):
        return text, None
    return None, f'"{text}" is not an email address (write just the address, e.g. jo.bloggs@council.gov.uk).'


def _type(value: object) -> tuple[PartnershipType | None, str | None]:
    text, _ = _text(value)
    if text is None:
        return None, None
    kind = PartnershipType.from_text(text)
    if kind is None:
        return None, f'"{text}" is not a type of partnership the register knows; choose one from the list.'
    return kind, None


def _yes_no(value: object) -> tuple[bool, str | None]:
    if value is None or isinstance(value, bool):
        return bool(value), None
    text = _fold(str(value))
    if text in YES or text in NO:
        return text in YES, None
    return False, f'"{value}" is not Yes or No.'


def _date(value: object) -> tuple[date | None, str | None]:
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if value is None:
        return None, None
    for pattern in TEXT_DATE_FORMATS:
        try:
            return datetime.strptime(str(value).strip(), pattern).date(), None
        except ValueError:
            continue
    if (day := day_from_words(str(value))) is not None:
        return day, None
    return None, f'"{value}" is not a date; write it as a date, for example 31/12/2026.'


_CHECKS = {"text": _text, "email": _email, "type": _type, "yes-no": _yes_no, "date": _date}


def _problem(sheet: str, row: _Row, key: str, message: str) -> RowProblem:
    columns = PARTNERSHIP_COLUMNS if sheet == PARTNERSHIPS_SHEET else MEETING_COLUMNS
    header = next(c.header for c in columns if c.key == key)
    return RowProblem(sheet, row.number, header, message)


# --- checking meeting rows ------------------------------------------------------------------------


@dataclass(frozen=True)
class _MeetingRow:
    partnership_id: int
    date: date
    title: str | None
    place: str | None
    known: tuple[str | None, str | None] | None  # the stored (title, place), when already stored


def _check_meetings(
    store: Store, rows: list[_Row], rejected: dict[str, int], today: date,
    problems: list[RowProblem],
) -> list[_MeetingRow]:
    """The meeting rows that make sense (their partnerships already stored by now)."""
    ids = {_fold(p.name): p.id for p in store.partnership_rows()}
    good: list[_MeetingRow] = []
    seen: dict[tuple[int, date], int] = {}
    for row in rows:
        found: list[RowProblem] = []
        meeting = _meeting_row(store, row, ids, rejected, today, found)
        if meeting is not None and (meeting.partnership_id, meeting.date) in seen:
            earlier = seen[(meeting.partnership_id, meeting.date)]
            message = f"This meeting is already on row {earlier}; give each meeting one row only."
            found.append(_problem(MEETINGS_SHEET, row, "date", message))
        problems.extend(found)
        if meeting is not None and not found:
            seen[(meeting.partnership_id, meeting.date)] = row.number
            good.append(meeting)
    return good


def _meeting_row(
    store: Store, row: _Row, ids: dict[str, int], rejected: dict[str, int], today: date,
    found: list[RowProblem],
) -> _MeetingRow | None:
    name, _ = _text(row.values["partnership"])
    day, date_problem = _date(row.values["date"])
    partnership_id = _meeting_partnership(row, name, ids, rejected, found)
    if date_problem or day is None:
        found.append(_problem(MEETINGS_SHEET, row, "date", date_problem or "The meeting has no date."))
    if partnership_id is None or day is None or date_problem:
        return None
    known = store.partnership_meeting(partnership_id, day)
    if known is None and day < today:
        found.append(_problem(MEETINGS_SHEET, row, "date",
                              f"{day:%d/%m/%Y} is in the past; only meetings still to come can be added."))
        return None
    title, _ = _text(row.values["title"])
    place, _ = _text(row.values["place"])
    return _MeetingRow(partnership_id, day, title, place, known)


def _meeting_partnership(
    row: _Row, name: str | None, ids: dict[str, int], rejected: dict[str, int], found: list[RowProblem]
) -> int | None:
    if name is None:
        found.append(_problem(MEETINGS_SHEET, row, "partnership", "Say which partnership meets."))
        return None
    if _fold(name) in ids:
        return ids[_fold(name)]
    if _fold(name) in rejected:
        message = (f'"{name}" was not imported (see row {rejected[_fold(name)]} of the Partnerships'
                   " sheet), so neither was its meeting.")
    else:
        message = f'"{name}" is not on the Partnerships sheet or in the register; add it there first.'
    found.append(_problem(MEETINGS_SHEET, row, "partnership", message))
    return None


# --- storing ---------------------------------------------------------------------------------------

_STORED = [f.name for f in fields(Partnership) if f.name not in ("id", "updated_at")]


def _store_partnership(store: Store, row: _PartnershipRow, result: RegisterImport) -> None:
    outcome = store.put_partnership({key: _db_value(row.details[key]) for key in _STORED})
    if outcome == "added":
        result.partnerships_added += 1
    elif outcome == "updated":
        result.partnerships_updated += 1
    else:
        result.partnerships_unchanged += 1


def _db_value(value: object) -> str | int | float | bool | None:
    if isinstance(value, StrEnum):
        return str(value)
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError(f"a register value the database cannot keep: {value!r}")


def _store_meeting(store: Store, row: _MeetingRow, result: RegisterImport) -> None:
    if row.known == (row.title, row.place):
        result.meetings_unchanged += 1
        return
    store.put_partnership_meeting(row.partnership_id, row.date, row.title, row.place)
    if row.known is None:
        result.meetings_added += 1
    else:
        result.meetings_updated += 1


# --- queries -------------------------------------------------------------------------------------


def partnerships(store: Store) -> list[Partnership]:
    """Every partnership in the register, by name."""
    return [_partnership(row) for row in store.partnership_rows()]


def partnership(store: Store, name: str) -> Partnership | None:
    """The partnership called `name` (capitals ignored), or None."""
    row = store.partnership_row(name)
    return None if row is None else _partnership(row)


def meetings_between(store: Store, start: date, end: date) -> list[PartnershipMeeting]:
    """Partnership meetings from `start` to `end` (both included), by date then partnership."""
    return [PartnershipMeeting(row.partnership, row.meeting_date, row.title, row.place, row.partnership_id)
            for row in store.partnership_meetings_between(start, end)]


def _partnership(row: PartnershipRow) -> Partnership:
    values = {f.name: getattr(row, f.name) for f in fields(Partnership)}
    values["type"] = PartnershipType(values["type"])
    return Partnership(**values)
