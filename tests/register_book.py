"""A filled partnership register workbook for tests: partnerships (high-risk or not) and meetings."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime

import openpyxl

from pipeline.schedule.register import import_register, write_register_template
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
