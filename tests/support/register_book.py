"""Partnership registers for tests: a filled register workbook (partnerships, high-risk or not,
and meetings), the simulated cycle's three partnerships, and one partnership put straight on the
register with its contacts."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl

from pipeline.core.config import Settings
from pipeline.schedule.register import PartnershipType, import_register, write_register_template
from pipeline.store import Store


@dataclass(frozen=True)
class Partner:
    """One row of the register's Partnerships sheet as a clerk types it (row-numbered defaults)."""

    name: str
    high_risk: bool = False  # the "handles money" column, which makes a partnership high-risk
    kind: str = "Collaboration"
    member: str | None = None  # else "Member <row>"
    email: str | None = None  # else "rep<row>@example.gov.uk"
    lead_role: str = "Officer"
    lead_email: str = "officer@example.gov.uk"

    def cells(self, row: int) -> list[str]:
        return [self.name, self.kind, "Humberside", self.member or f"Member {row}",
                self.email or f"rep{row}@example.gov.uk", self.lead_role, self.lead_email,
                "Yes" if self.high_risk else "No", "No", "No", "No", "No", ""]


# A row the import refuses (no name, a bad address, "Maybe" for yes or no).
REFUSED_ROW = ["", "CDRP", "", "Nobody", "not-an-address", "", "", "Maybe", "", "", "", "", ""]


def register_workbook(
    partnerships: Iterable[Partner | tuple[str, bool]], meetings: Iterable[tuple[str, date]] = (),
    *, refused_rows: int = 0,
) -> bytes:
    """The register template filled in: a Partner (or (name, high risk?)) per partnership, then
    `refused_rows` rows the import refuses; (partnership, date) per meeting."""
    book = openpyxl.load_workbook(io.BytesIO(write_register_template()))
    sheet = book["Partnerships"]
    rows = [(p if isinstance(p, Partner) else Partner(*p)).cells(row)
            for row, p in enumerate(partnerships, start=2)]
    rows += [REFUSED_ROW] * refused_rows
    for row, values in enumerate(rows, start=2):
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


# The simulated cycle's three partnerships: one officer leads all three; Hull is high-risk.
CYCLE_PARTNERS = [
    Partner("Hull Community Safety Partnership", True, "CDRP", "Cllr Jane Smith", "jane@example.gov.uk",
            "Strategic Development Manager", "sdm@example.gov.uk"),
    Partner("East Riding LSP", False, "LSP", "Mr Tom Baker", "tom@example.gov.uk",
            "Strategic Development Manager", "sdm@example.gov.uk"),
    Partner("Humberside LCJB", False, "Local Criminal Justice Board", "Cllr Alan Reed",
            "alan@example.gov.uk", "Strategic Development Manager", "sdm@example.gov.uk"),
]


def cycle_register_workbook() -> bytes:
    """The three partnerships of the simulated cycle, each meeting on 10 November 2026."""
    return register_workbook(CYCLE_PARTNERS, [(p.name, date(2026, 11, 10)) for p in CYCLE_PARTNERS])


def on_the_register(settings: Settings, partnership: str, *emails: str) -> None:
    """`partnership` on the register with these contacts (replies go only to known addresses)."""
    representative, lead = (*emails, None)[:2]
    with Store.for_home(settings) as store:
        store.put_partnership({"name": partnership, "type": PartnershipType.CDRP.value,
                               "representative_email": representative, "lead_officer_email": lead})
