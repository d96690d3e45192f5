"""Partnership registers for tests: a filled register workbook (partnerships, high-risk or not,
and meetings), the simulated cycle's three partnerships, and one partnership put straight on the
register with its contacts."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime

import openpyxl

from pipeline.core.config import Settings
from pipeline.schedule.register import PartnershipType, import_register, write_register_template
from pipeline.store import Store


def register_workbook(
    partnerships: Iterable[tuple[str, bool]], meetings: Iterable[tuple[str, date]]
) -> bytes:
    """(name, high risk by money?) per partnership; (partnership, date) per meeting."""
    book = openpyxl.load_workbook(io.BytesIO(write_register_template()))
    sheet = book["Partnerships"]
    for row, (name, high_risk) in enumerate(partnerships, start=2):
        email = "rep" + str(row) + "@example.gov.uk"
        values = [name, "Collaboration", "Humberside", f"Member {row}", email, "Officer",
                  "officer@example.gov.uk", "Yes" if high_risk else "No", "No", "No", "No", "No", ""]
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    sheet = book["Meetings"]
    for row, (name, day) in enumerate(meetings, start=2):
        for column, value in enumerate([name, datetime.combine(day, datetime.min.time()),
                                        f"{name} board", "Guildhall"], start=1):
            sheet.cell(row, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def load_register(store: Store, partnerships: Iterable[tuple[str, bool]],
                  meetings: Iterable[tuple[str, date]] = (), *, today: date = date(2025, 1, 1)) -> None:
    """Import the register as the clerk would (meetings must be after `today`)."""
    result = import_register(store, register_workbook(partnerships, meetings), today=today)
    assert not result.problems, result.summary()


CYCLE_PARTNERSHIPS = [
    ("Hull Community Safety Partnership", "CDRP", "Cllr Jane Smith", "jane@example.gov.uk", "Yes"),
    ("East Riding LSP", "LSP", "Mr Tom Baker", "tom@example.gov.uk", "No"),
    ("Humberside LCJB", "Local Criminal Justice Board", "Cllr Alan Reed", "alan@example.gov.uk", "No"),
]


def cycle_register_workbook() -> bytes:
    """The three partnerships of the simulated cycle, each meeting on 10 November 2026."""
    book = openpyxl.load_workbook(io.BytesIO(write_register_template()))
    sheet = book["Partnerships"]
    for row, (name, kind, member, email, money) in enumerate(CYCLE_PARTNERSHIPS, start=2):
        values = [name, kind, "Humberside", member, email, "Strategic Development Manager",
                  "sdm@example.gov.uk", money, "No", "No", "No", "No", ""]
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    meetings = book["Meetings"]
    for row, (name, *_rest) in enumerate(CYCLE_PARTNERSHIPS, start=2):
        for column, value in enumerate([name, datetime(2026, 11, 10), f"{name} board", "Guildhall"], 1):
            meetings.cell(row, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def on_the_register(settings: Settings, partnership: str, *emails: str) -> None:
    """`partnership` on the register with these contacts (replies go only to known addresses)."""
    representative, lead = (*emails, None)[:2]
    with Store.for_home(settings) as store:
        store.put_partnership({"name": partnership, "type": PartnershipType.CDRP.value,
                               "representative_email": representative, "lead_officer_email": lead})
