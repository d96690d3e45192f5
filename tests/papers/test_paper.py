"""Committee papers end to end: returns generated, filled as Word fills them and ingested into a
real SQLite database; each paper written with `write_paper`; its figures read back from the
.docx tables (python-docx) and the .xlsx annex (openpyxl) and checked against the stored records.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pdfplumber
import pytest
from docx import Document
from lxml import etree
from openpyxl import load_workbook

from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError, GenerationError
from pipeline.core.identity import Personalisation
from pipeline.core.marking import highest_marking, marking_rank
from pipeline.ooxml.paperxml import renumber_ids
from pipeline.papers import PAPER_KINDS, PaperFiles, PaperRequest, write_paper
from pipeline.papers.annex import short_sheet_name
from pipeline.papers.convert import to_pdf
from pipeline.papers.render import DEFAULT_TEMPLATES
from pipeline.store import NewIntake, NewSubmission, Record, Store
from tests.support.filling import soffice
from tests.support.papers import (
    LIBRARY,
    NOW,
    checklist_answers,
    ingest,
    monitoring_answers,
    sheet_rows,
    survey,
    table_rows,
    tables_headed,
    text_of,
)
from tests.support.register_book import load_register

TODAY = date(2026, 3, 20)  # the day the paper is written: actions due before it are overdue
MEETING = date(2026, 4, 2)  # the committee meeting the paper goes to
Q1 = (date(2026, 1, 1), date(2026, 3, 31))
needs_soffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")

HULL, EAST = "Hull CDRP", "East Riding LSP"
FORMULA_TEXT = "=SUM(A1) was proposed; +1 from the chair"


# --- making and storing returns ----------------------------------------------------------------


def add_record(
    store: Store,
    form_id: str,
    values: dict[str, object],
    *,
    partnership: str | None,
    key: str,
    marking: str = "NOT PROTECTIVELY MARKED",
    late: bool = False,
) -> None:
    """Store a return directly (for variety and volume the Word round trip adds nothing to)."""
    intake = store.add_intake(NewIntake(f"{key}.docx", f"{key}.docx", None, key, 1, None, None, NOW))
    store.add_submission(
        NewSubmission(form_id, 1, None, None, partnership, key, key, None, NOW, late, None, marking, values),
        intake,
    )


@pytest.fixture
def monitoring(settings: Settings, store: Store) -> Store:
    """Five meetings: Hull twice (one return late, one action overdue), East Riding twice (every
    attendance of low or no value, one return corrected and sent again), and one before the period."""
    returns = [
        (
            monitoring_answers(
                HULL,
                date(2026, 1, 10),
                "wholly_relevant",
                "high_value",
                pa_issues=[{"issue": "Smith & <Sons> contract", "decision": FORMULA_TEXT}],
                challenges_by_pa=[
                    {
                        "challenge": "CCTV delayed",
                        "action": "New timetable",
                        "by_whom": "CCTV manager",
                        "by_when": "2026-02-01",
                    }
                ],
            ),
            datetime(2026, 1, 12, 10, tzinfo=UTC),
        ),
        (
            monitoring_answers(
                HULL,
                date(2026, 2, 14),
                "highly_relevant",
                "of_value",
                challenges_to_pa=[
                    {
                        "challenge": "Asked about PCSO numbers",
                        "action": "Send the figures",
                        "by_whom": "Treasurer",
                        "by_when": "2026-04-30",
                    }
                ],
            ),
            datetime(2026, 2, 28, 10, tzinfo=UTC),
        ),  # due 21 February: late
        (
            monitoring_answers(EAST, date(2026, 2, 3), "little_relevance", "low_value"),
            datetime(2026, 2, 5, 10, tzinfo=UTC),
        ),
        (
            monitoring_answers(EAST, date(2026, 3, 3), "no_value", "low_value"),
            datetime(2026, 3, 4, 10, tzinfo=UTC),
        ),
        (
            monitoring_answers(EAST, date(2026, 3, 3), "no_value", "no_value"),  # corrected copy
            datetime(2026, 3, 6, 10, tzinfo=UTC),
        ),
        (
            monitoring_answers("Goole Business Forum", date(2025, 12, 1), "no_value", "no_value"),
            datetime(2025, 12, 2, 10, tzinfo=UTC),
        ),
    ]
    for (person, answers), received in returns:
        ingest(settings, store, "monitoring", person, answers, received)
    return store


def write(settings: Settings, kind: str, **request: object) -> PaperFiles:
    request.setdefault("meeting_date", MEETING)
    return write_paper(
        settings,
        LIBRARY,
        PaperRequest(kind, **request),
        settings.outbox / "papers",  # type: ignore[arg-type]
        today=TODAY,
    )


def in_q1(record: Record) -> bool:
    return Q1[0].isoformat() <= str(record.values["meeting_date"]) <= Q1[1].isoformat()


# --- reading a paper back ----------------------------------------------------------------------


def bibliography(docx: Path) -> dict[str, str]:
    """The bibliography box as {label: answer}: after its heading, each label's paragraph and then
    its answer's, down to the closing note."""
    texts = [p.text.strip() for p in Document(str(docx)).paragraphs]
    entries = texts[texts.index("Bibliography") + 1:-1]
    return dict(zip(entries[::2], entries[1::2], strict=True))


# --- the monitoring summary --------------------------------------------------------------------


class TestMonitoringSummary:
    def test_returns_table_matches_the_records(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        current = [r for r in monitoring.records("monitoring") if in_q1(r)]
        every = [r for r in monitoring.records("monitoring", status="superseded") if in_q1(r)] + current
        expected = []
        for name in sorted({r.partnership for r in current}):
            mine = [r for r in current if r.partnership == name]
            late = sum(r.late for r in mine)
            expected.append([name, "—", str(len(mine)), str(len(mine) - late), str(late), "—", ""])
        rows = table_rows(files.docx, "Partnership")
        assert rows[:-1] == expected
        assert rows[-1] == ["Total", "—", "4", "3", "1", "—", ""]  # Goole met before the period
        # East Riding sent three copies for two meetings: the corrected copy replaced the first
        assert len([r for r in every if r.partnership == EAST]) == 3
        assert expected == [[EAST, "—", "2", "2", "0", "—", ""], [HULL, "—", "2", "1", "1", "—", ""]]
        text = text_of(files.docx)
        assert "4 returns were received from 2 partnerships, one for each meeting" in text
        assert "once the partnership register is imported" in text

    def test_the_annex_has_the_same_figures(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        docx_rows = table_rows(files.docx, "Partnership")
        annex_rows = sheet_rows(files.annex, "Returns by partnership")
        shown = [[str(v) if v is not None else "—" for v in row[:-1]] + [row[-1] or ""] for row in annex_rows]
        assert shown == docx_rows

    def test_ratings_are_counted_per_level_with_the_definitions_labels(
        self, settings: Settings, monitoring: Store
    ) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        current = [r for r in monitoring.records("monitoring") if in_q1(r)]
        for field_id in ("agenda_rating", "attendance_rating"):
            spec = LIBRARY.get("monitoring").field(field_id)
            given = Counter(r.values[field_id] for r in current)
            rows = table_rows(files.docx, spec.label)
            assert [row[:2] for row in rows] == [
                *([c.label, str(given[c.value])] for c in spec.choices),
                ["Total", str(len(current))],
            ]
            annex = sheet_rows(files.annex, spec.label)
            assert [row[:2] for row in annex] == [[r[0], int(r[1])] for r in rows]
        document = Document(str(files.docx))
        assert len(document.inline_shapes) == 1  # the ratings chart

    def test_overdue_actions_are_called_out(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        overdue = [
            t
            for t in tables_headed(files.docx, "Partnership")
            if t and t[0][-1].isdigit() and "New timetable" in t[0]
        ]
        assert overdue == [[[HULL, "10 Jan 2026", "New timetable", "CCTV manager", "1 Feb 2026", "47"]]]
        assert "1 action agreed at partnership meetings had passed its date by 20 March 2026" in text_of(
            files.docx
        )
        challenges = [t for t in tables_headed(files.docx, "Partnership") if t and "CCTV delayed" in t[0]]
        assert challenges[0][0][-1] == "Overdue"
        not_yet = [t for t in tables_headed(files.docx, "Partnership") if t and "Send the figures" in t[0]]
        assert not_yet[0][0][-1] == ""
        assert sheet_rows(files.annex, "Overdue actions") == [
            [HULL, datetime(2026, 1, 10), "New timetable", "CCTV manager", datetime(2026, 2, 1), 47]
        ]

    def test_a_partnership_of_low_or_no_value_every_time_is_flagged_for_review(
        self, settings: Settings, monitoring: Store
    ) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        review = [
            t
            for t in tables_headed(files.docx, "Partnership")
            if t and t[0][0] == EAST and "value" in t[0][2]
        ]
        assert len(review) == 1 and len(review[0]) == 1
        assert "Attendance of low value to PA objectives/reputation (1)" in review[0][0][2]
        assert f"review the Authority’s involvement in {EAST}." in text_of(files.docx)

    def test_member_text_is_kept_as_text_in_paper_and_annex(
        self, settings: Settings, monitoring: Store
    ) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        issues = [
            t for t in tables_headed(files.docx, "Partnership") if t and "Smith & <Sons> contract" in t[0]
        ]
        assert issues[0][0][3] == FORMULA_TEXT
        label = LIBRARY.get("monitoring").field("pa_issues").label
        sheet = load_workbook(files.annex)[short_sheet_name(label)]
        cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == FORMULA_TEXT]
        assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)

    def test_annex_sheet_names_fit_excel_and_stay_unique_and_readable(
        self, settings: Settings, monitoring: Store
    ) -> None:
        files = write_paper(settings, LIBRARY, PaperRequest("monitoring-summary", *Q1, MEETING),
                            settings.outbox / "papers", today=TODAY)
        names = load_workbook(files.annex).sheetnames
        assert all(len(name) <= 31 for name in names)
        assert len({name.casefold() for name in names}) == len(names)
        assert not any("(2)" in name for name in names)  # distinct titles get distinct names
        assert "Issues decisions Police Force" in names and "Issues-challenges with PA" in names
        assert "Issues decisions PA objectives" in names  # not "Issues decisions Police" beside the Force's
        assert short_sheet_name("Issues and decisions relevant to Police Force objectives") == (
            "Issues decisions Police Force"
        )

    def test_the_period_is_the_meeting_date(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", period_from=date(2026, 3, 1), period_to=Q1[1])
        assert table_rows(files.docx, "Partnership")[:-1] == [[EAST, "—", "1", "1", "0", "—", ""]]
        assert "meetings held between 1 March 2026 and 31 March 2026" in text_of(files.docx)

    def test_missing_returns_come_from_the_register_meetings(
        self, settings: Settings, monitoring: Store
    ) -> None:
        load_register(
            monitoring,
            [(HULL, True), (EAST, False), ("Bridlington Forum", False)],
            [
                (HULL, date(2026, 1, 10)),
                (HULL, date(2026, 2, 20)),
                (HULL, date(2026, 3, 5)),
                (EAST, date(2026, 2, 3)),
                ("Bridlington Forum", date(2026, 1, 20)),
                ("Bridlington Forum", date(2026, 3, 18)),  # its return is not due yet on 20 March
            ],
        )
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        rows = table_rows(files.docx, "Partnership")
        assert rows == [
            ["Bridlington Forum", "1", "0", "0", "0", "1", "20 Jan 2026"],
            [EAST, "1", "2", "2", "0", "0", ""],  # 3 March is on no register meeting: still received
            [HULL, "3", "2", "1", "1", "2", "20 Feb 2026, 5 Mar 2026"],
            ["Total", "5", "4", "3", "1", "3", ""],
        ]
        text = text_of(files.docx)
        assert (
            "The partnership register lists 5 meetings held between 1 January 2026 and 31 March 2026 "
            "whose return was due by 20 March 2026." in text
        )
        assert (
            "3 returns are missing: Bridlington Forum (20 January 2026); "
            f"{HULL} (20 February 2026, 5 March 2026)." in text
        )

    def test_an_empty_period_says_so(self, settings: Settings, monitoring: Store) -> None:
        files = write(
            settings, "monitoring-summary", period_from=date(2020, 1, 1), period_to=date(2020, 3, 31)
        )
        text = text_of(files.docx)
        assert (
            "No monitoring returns were received for meetings between 1 January 2020 and 31 March 2020."
            in text
        )
        assert tables_headed(files.docx, "Partnership") == []
        assert len(Document(str(files.docx)).inline_shapes) == 0  # no chart of nothing

    def test_no_database_yet_is_an_empty_paper(self, settings: Settings) -> None:
        files = write(settings, "monitoring-summary")
        assert "No monitoring returns have been received." in text_of(files.docx)
        assert not settings.database.exists()  # a paper never creates or changes the database


# --- marking, exempt information, the manifest -------------------------------------------------


class TestMarkingAndExemption:
    def test_gpms_order(self) -> None:
        order = [
            "NOT PROTECTIVELY MARKED",
            "OFFICIAL",
            "PROTECT",
            "OFFICIAL-SENSITIVE",
            "RESTRICTED",
            "CONFIDENTIAL",
            "SECRET",
            "TOP SECRET",
        ]
        assert [marking_rank(m) for m in order] == list(range(8))
        assert (
            highest_marking("NOT PROTECTIVELY MARKED", ["protect - personal", None, "OFFICIAL"])
            == "PROTECT - PERSONAL"
        )
        assert highest_marking("RESTRICTED", ["PROTECT", "official-sensitive"]) == "RESTRICTED"
        assert highest_marking(None, ["TOP SECRET", "SECRET"]) == "TOP SECRET"

    def test_a_paper_carries_the_highest_marking_of_its_records(
        self, settings: Settings, monitoring: Store
    ) -> None:
        values = {
            "partnership": HULL,
            "meeting_date": "2026-03-10",
            "agenda_rating": "wholly_relevant",
            "attendance_rating": "high_value",
        }
        add_record(monitoring, "monitoring", values, partnership=HULL, key="restricted", marking="RESTRICTED")
        add_record(
            monitoring,
            "monitoring",
            {**values, "meeting_date": "2025-06-01"},
            partnership=HULL,
            key="secret-but-outside-the-period",
            marking="SECRET",
        )
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        section = Document(str(files.docx)).sections[0]
        assert section.header.paragraphs[0].text == "RESTRICTED"
        assert section.footer.paragraphs[0].text == "RESTRICTED"
        assert json.loads(files.manifest.read_text())["marking"] == "RESTRICTED"
        assert load_workbook(files.annex)["About"].oddHeader.center.text == "RESTRICTED"

    def test_the_authoritys_own_marking_is_the_floor(self, settings: Settings, monitoring: Store) -> None:
        (settings.home / "pipeline.toml").write_text('[authority]\nmarking = "PROTECT"\n', encoding="utf-8")
        files = write(settings, "monitoring-summary")
        assert Document(str(files.docx)).sections[0].header.paragraphs[0].text == "PROTECT"

    def test_an_exempt_paper(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", exempt_paragraph=7)
        manifest = json.loads(files.manifest.read_text())
        assert manifest["exempt"] is True and manifest["exempt_paragraph"] == 7
        box = bibliography(files.docx)
        question = [label for label in box if label.startswith("Is it considered")][0]
        assert box[question] == "Yes"
        clause = [label for label in box if label.startswith("If the answer is")][0]
        assert box[clause] == (
            "Paragraph 7: Information relating to any action taken or to be taken in connection "
            "with the prevention, investigation or prosecution of crime."
        )
        assert "NOT FOR PUBLICATION" in text_of(files.docx)

    def test_a_public_paper(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", committee="Police Authority", author="Treasurer")
        manifest = json.loads(files.manifest.read_text())
        assert manifest["exempt"] is False and manifest["exempt_paragraph"] is None
        box = bibliography(files.docx)
        assert box[[k for k in box if k.startswith("Is it considered")][0]] == "No"
        assert box["Submitted on"] == "20 March 2026"
        assert "NOT FOR PUBLICATION" not in text_of(files.docx)
        text = text_of(files.docx)
        assert (
            "To:\tPolice Authority" in text and "From:\tTreasurer" in text and "Date:\t2 April 2026" in text
        )

    def test_the_manifest_names_the_files_beside_it(self, settings: Settings, monitoring: Store) -> None:
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        assert files.docx == settings.outbox / "papers" / "2026-04-02" / "monitoring-summary-2026-04-02.docx"
        manifest = json.loads(files.manifest.read_text())
        assert manifest | {"generated_at": "", "figures_digest": ""} == {
            "kind": "monitoring-summary",
            "title": "Partnership Monitoring Summary",
            "committee": "Communities and Partnerships Committee",
            "meeting_date": "2026-04-02",
            "period_from": "2026-01-01",
            "period_to": "2026-03-31",
            "exempt": False,
            "exempt_paragraph": None,
            "marking": "NOT PROTECTIVELY MARKED",
            "docx": files.docx.name,
            "pdf": None,
            "annex": files.annex.name,
            "generated_at": "",
            "figures_digest": "",
        }
        again = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        assert json.loads(again.manifest.read_text())["figures_digest"] == manifest["figures_digest"]
        assert sorted(p.name for p in files.docx.parent.iterdir()) == sorted(
            [files.docx.name, files.annex.name, files.manifest.name]
        )  # replaced, no temp files left

    def test_bad_requests_are_explained(self) -> None:
        with pytest.raises(ConfigError, match="number from 1 to 7"):
            PaperRequest("monitoring-summary", exempt_paragraph=8)
        with pytest.raises(ConfigError, match="There is no paper called 'minutes'"):
            PaperRequest("minutes")
        with pytest.raises(ConfigError, match="swap the dates"):
            PaperRequest("risk-register", period_from=date(2026, 3, 1), period_to=date(2026, 1, 1))
        assert PaperRequest("risk-register").committee_name == "Scrutiny and Audit Committee"
        assert PAPER_KINDS == ("monitoring-summary", "risk-register", "survey-results")


# --- the risk register -------------------------------------------------------------------------


@pytest.fixture
def checklists(settings: Settings, store: Store) -> Store:
    hull = Personalisation(partnership=HULL, member="Cllr Jane Smith")
    ingest(
        settings,
        store,
        "risk-checklist",
        hull,
        checklist_answers(
            high_risk=True,
            overrides={"q1_answer": "no", "q2d": "not_known", "q3_answer": "Hull City Council"},
        ),
        datetime(2026, 2, 11, tzinfo=UTC),
    )
    east = Personalisation(partnership=EAST, member="Mr Tom Baker")
    ingest(
        settings,
        store,
        "risk-checklist",
        east,
        checklist_answers(
            high_risk=False, overrides={"q12_answer": None, "q3_answer": None, "assessed_on": "2025-11-30"}
        ),
        datetime(2025, 12, 1, tzinfo=UTC),
    )
    eia = {
        "title": "CDRP information sharing",
        "author": "A Officer",
        "created_on": "2026-01-05",
        "version_no": "1",
        "partnership": "HULL  cdrp",
        "b1_aims": "Aims",
        "b2_research": "Research",
        "b3a_internal": "Staff",
        "b3b_external": "Partners",
        "b7_monitoring": "Quarterly",
        "b8_answer": "Yes",
        "b8_impact": ["low"],
        "b9_answer": "Yes",
        "b9_impact": ["low"],
        "b10_answer": "Yes",
        "b10_impact": ["medium"],
    }
    ingest(settings, store, "eia", Personalisation(), eia, datetime(2026, 1, 6, tzinfo=UTC))
    return store


class TestRiskRegister:
    def test_register_matches_the_checklists(self, settings: Settings, checklists: Store) -> None:
        files = write(settings, "risk-register")
        rows = table_rows(files.docx, "Partnership")
        assert rows == [  # the register is empty: the checklists received, by name
            [EAST, "No", "Incomplete", "3, 12", "—", "30 Nov 2025", "No"],
            [HULL, "Yes", "Complete", "1, 2d", "Hull City Council", "10 Feb 2026", "Yes"],
        ]
        annex = sheet_rows(files.annex, "Risk register")
        assert [row[:5] + row[8:11] + row[12:] for row in annex] == [
            [EAST, None, "No", None, "Incomplete", "3, 12", 2, None, "No"],
            [HULL, None, "Yes", None, "Complete", "1, 2d", 2, "Hull City Council", "Yes"],
        ]
        assert [row[11] for row in annex] == [datetime(2025, 11, 30), datetime(2026, 2, 10)]
        text = text_of(files.docx)
        assert (
            "The partnership register is empty; 2 partnerships returned a checklist. 1 is high-risk by "
            "the register or by its own checklist. Checklists: 1 complete, 1 incomplete, 0 not yet due "
            "and 0 not returned." in text
        )
        assert "Every high-risk partnership’s checklist is complete." in text
        assert f"No equality impact assessment is held for {EAST}." in text

    def test_questions_needing_attention_carry_the_definitions_wording(
        self, settings: Settings, checklists: Store
    ) -> None:
        files = write(settings, "risk-register")
        rows = tables_headed(files.docx, "Partnership")[1]
        assert rows == [
            [EAST, "3", "Which agency is the accountable body?", "Not answered"],
            [EAST, "12", "Are arrangements in place for auditing accounts?", "Not answered"],
            [HULL, "1", "Is there a Partnership Agreement between the members of the Partnership?", "No"],
            [
                HULL,
                "2d",
                "Does the Partnership Agreement cover the following issues: Information sharing "
                "agreements (MoPI compliant)?",
                "Not known yet",
            ],
        ]  # question 16's "No" (no accommodation needed) is no concern: the definition says so
        assert sheet_rows(files.annex, "Questions needing attention") == rows

    def test_the_period_is_the_date_of_assessment(self, settings: Settings, checklists: Store) -> None:
        files = write(settings, "risk-register", period_from=date(2026, 1, 1))
        assert [row[0] for row in table_rows(files.docx, "Partnership")] == [HULL]
        empty = write(settings, "risk-register", period_from=date(2027, 1, 1), meeting_date=date(2027, 2, 1))
        assert (
            "No partnership is on the register and no checklists were completed on or after 1 January 2027."
            in text_of(empty.docx)
        )


# --- the survey --------------------------------------------------------------------------------


SCALE = ("strongly_agree", "agree", "neither", "disagree", "strongly_disagree")


@pytest.fixture
def surveys(settings: Settings, store: Store) -> Store:
    """2024 sets the baseline; 2025 and 2026 follow. Pledge 1 improves, 2 declines, 3 holds."""
    given = {
        2024: [("neither", "agree", "agree"), ("agree", "agree", "agree")],
        2025: [("agree", "strongly_agree", "agree"), ("agree", "strongly_agree", "agree")],
        2026: [("strongly_agree", "neither", "agree")],
    }
    for year, answers in given.items():
        for index, (first, second, third) in enumerate(answers):
            name = f"Partnership {index}"
            add_record(
                store,
                "stakeholder-survey",
                {"partnership": name, **survey(year, first, second, third)},
                partnership=name,
                key=f"survey-{year}-{index}",
            )
    person = Personalisation(partnership="Partnership 1", member="Chair")
    ingest(
        settings,
        store,
        "stakeholder-survey",
        person,
        {
            "respondent": "Chair",
            **{k: str(v) for k, v in survey(2026, "strongly_agree", "agree", "agree").items()},
        },
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    return store


class TestSurveyResults:
    def test_means_agreement_and_movement_match_the_records(self, settings: Settings, surveys: Store) -> None:
        files = write(settings, "survey-results", period_to=date(2026, 12, 31))
        records = surveys.records("stakeholder-survey")
        scores = {value: 5 - index for index, value in enumerate(SCALE)}

        def mean(year: int, pledge: str) -> float:
            found = [
                scores[str(r.values[pledge])] for r in records if int(str(r.values["survey_year"])) == year
            ]
            return round(sum(found) / len(found), 2)

        rows = table_rows(files.docx, "No.")
        pledge = LIBRARY.get("stakeholder-survey").field("pledge_01")
        assert rows[0][:6] == [
            "1",
            pledge.label,
            f"{mean(2024, 'pledge_01'):.2f}",
            f"{mean(2025, 'pledge_01'):.2f}",
            f"{mean(2026, 'pledge_01'):.2f}",
            "100%",
        ]
        assert [row[6:] for row in rows[:3]] == [
            ["↑ 1.00", "↑ 1.50"],
            ["↓ 1.50", "↓ 0.50"],
            ["→ 0.00", "→ 0.00"],
        ]
        assert rows[1][5] == "50%"
        annex = sheet_rows(files.annex, "Results by pledge item")
        assert [row[2:5] for row in annex[:3]] == [[3.5, 4.0, 5.0], [4.0, 5.0, 3.5], [4.0, 4.0, 4.0]]
        assert [row[6:] for row in annex[:3]] == [[1.0, 1.5], [-1.5, -0.5], [0.0, 0.0]]
        assert table_rows(files.docx, "Survey year") == [
            ["2024", "Baseline", "2"],
            ["2025", "Last year", "2"],
            ["2026", "This year", "2"],
        ]
        assert "Pledge item 2 declined since last year." in text_of(files.docx)

    def test_this_year_is_the_latest_year_in_the_period(self, settings: Settings, surveys: Store) -> None:
        files = write(settings, "survey-results", period_from=date(2025, 1, 1), period_to=date(2025, 12, 31))
        assert table_rows(files.docx, "Survey year") == [
            ["2024", "Baseline and Last year", "2"],
            ["2025", "This year", "2"],
        ]
        empty = write(
            settings,
            "survey-results",
            period_from=date(2030, 1, 1),
            period_to=date(2030, 12, 31),
            meeting_date=date(2030, 2, 1),
        )
        assert "No stakeholder survey returns were received for the survey year 2030." in text_of(empty.docx)


# --- templates, Word internals and charts -------------------------------------------------------


class TestTemplates:
    def test_changing_the_wording_needs_no_code(self, settings: Settings, monitoring: Store) -> None:
        own = settings.templates_dir / "monitoring-summary.docx"
        own.parent.mkdir(parents=True)
        shutil.copy(DEFAULT_TEMPLATES / "monitoring-summary.docx", own)
        document = Document(str(own))
        purpose = [p for p in document.paragraphs if p.text.startswith("1.1\t")][0]
        for run in purpose.runs[1:]:
            run.text = ""
        purpose.runs[
            0
        ].text = "1.1\tTo tell the Committee how its partnerships fared ({{ meetings }} meetings)."
        document.core_properties.title = "Partnership Returns Review"
        document.save(str(own))
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        text = text_of(files.docx)
        assert "To tell the Committee how its partnerships fared (4 meetings)." in text
        assert "PARTNERSHIP RETURNS REVIEW" in text
        assert json.loads(files.manifest.read_text())["title"] == "Partnership Returns Review"

    def test_a_broken_tag_is_explained(self, settings: Settings, monitoring: Store) -> None:
        own = settings.templates_dir / "risk-register.docx"
        own.parent.mkdir(parents=True)
        document = Document(str(DEFAULT_TEMPLATES / "risk-register.docx"))
        document.add_paragraph("{{ partnershipz }}")
        document.save(str(own))
        with pytest.raises(GenerationError, match="uses a name the paper does not provide"):
            write(settings, "risk-register")

    def test_every_default_template_renders_with_unique_ids(
        self, settings: Settings, monitoring: Store
    ) -> None:
        for kind in PAPER_KINDS:
            files = write(settings, kind)
            with zipfile.ZipFile(files.docx) as package:
                root = etree.fromstring(package.read("word/document.xml"))
            ids = [el.get("id") for el in root.iter("{*}docPr")]
            assert len(ids) == len(set(ids))
            assert "{{" not in text_of(files.docx) and "{%" not in text_of(files.docx)

    def test_repeated_ids_are_renumbered_and_bookmarks_stay_paired(self) -> None:
        w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        body = etree.fromstring(
            f'<w:body xmlns:w="{w}">'
            + '<w:p><w:bookmarkStart w:id="1" w:name="_GoBack"/><w:bookmarkEnd w:id="1"/></w:p>' * 2
            + '<w:sdt><w:sdtPr><w:id w:val="7"/></w:sdtPr></w:sdt>' * 2
            + "</w:body>"
        )
        assert renumber_ids(body) == 3
        starts = [el.get(f"{{{w}}}id") for el in body.iter(f"{{{w}}}bookmarkStart")]
        ends = [el.get(f"{{{w}}}id") for el in body.iter(f"{{{w}}}bookmarkEnd")]
        assert starts == ends and len(set(starts)) == 2
        assert len({el.get(f"{{{w}}}val") for el in body.iter(f"{{{w}}}id")}) == 2
        assert [el.get(f"{{{w}}}name") for el in body.iter(f"{{{w}}}bookmarkStart")] == [
            "_GoBack",
            "_GoBack_2",
        ]

    def test_the_chart_is_the_same_image_for_the_same_figures(
        self, settings: Settings, monitoring: Store
    ) -> None:
        first = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        png = zipfile.ZipFile(first.docx).read(
            next(n for n in zipfile.ZipFile(first.docx).namelist() if n.endswith(".png"))
        )
        second = write(
            settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1], meeting_date=date(2026, 5, 1)
        )
        again = zipfile.ZipFile(second.docx).read(
            next(n for n in zipfile.ZipFile(second.docx).namelist() if n.endswith(".png"))
        )
        assert png == again and b"Software" not in png


class TestLongLists:
    def test_the_paper_shows_thirty_rows_and_the_annex_all(self, settings: Settings, store: Store) -> None:
        for day in range(40):
            meeting = date(2026, 1, 1) + timedelta(days=day)
            values = {
                "partnership": HULL,
                "meeting_date": meeting.isoformat(),
                "agenda_rating": "wholly_relevant",
                "attendance_rating": "of_value",
                "pa_issues": [{"issue": f"Issue {day}", "decision": f"Decision {day}"}],
            }
            add_record(store, "monitoring", values, partnership=HULL, key=f"bulk-{day}")
        files = write(settings, "monitoring-summary", period_from=Q1[0], period_to=Q1[1])
        issues = [t for t in tables_headed(files.docx, "Partnership") if t and t[0][2].startswith("Issue ")][
            0
        ]
        assert len(issues) == 30
        assert "The table shows the first 30 of 40; the annex lists the rest." in text_of(files.docx)
        label = short_sheet_name(LIBRARY.get("monitoring").field("pa_issues").label)
        assert len(sheet_rows(files.annex, label)) == 40


# --- the PDF -----------------------------------------------------------------------------------


class TestPdf:
    @needs_soffice
    @pytest.mark.libreoffice
    def test_each_paper_is_converted_to_pdf(self, settings: Settings, monitoring: Store) -> None:
        from pypdf import PdfReader

        files = write_paper(
            settings,
            LIBRARY,
            PaperRequest("monitoring-summary", *Q1, MEETING),
            settings.outbox / "papers",
            to_pdf=to_pdf,
            today=TODAY,
        )
        assert files.pdf is not None and files.pdf.is_file() and files.pdf_note is None
        text = "".join(page.extract_text() for page in PdfReader(files.pdf).pages)
        assert "NOT PROTECTIVELY MARKED" in text and "Bibliography" in text
        assert json.loads(files.manifest.read_text())["pdf"] == files.pdf.name

    @needs_soffice
    @pytest.mark.libreoffice
    def test_the_paper_is_accessible_in_word_and_as_a_tagged_pdf(
        self, settings: Settings, monitoring: Store
    ) -> None:
        from tests.support.pdf_checks import pdfua_errors, structure_problems

        files = write_paper(
            settings,
            LIBRARY,
            PaperRequest("monitoring-summary", *Q1, MEETING),
            settings.outbox / "papers",
            to_pdf=to_pdf,
            today=TODAY,
        )
        # Word: a title, en-GB, real headings, header rows, the chart described
        word = Document(str(files.docx))
        assert word.core_properties.title and word.core_properties.language == "en-GB"
        styles = etree.tostring(word.styles.element).decode()
        assert 'w:val="en-GB"' in styles and "en-US" not in styles
        headings = [p.style.name for p in word.paragraphs if p.style.name.startswith("Heading")]
        assert headings[0] == "Heading 1" and headings.count("Heading 2") >= 8
        body = etree.tostring(word.element.body).decode()
        assert body.count("<w:tblHeader") >= len(word.tables)
        # no layout tables: each table is a captioned data table whose first row is its header
        # (the bibliography box is headed paragraphs in a border, not a table)
        for table in word.tables:
            first_row = etree.tostring(table.rows[0]._tr).decode()
            assert "<w:tblCaption" in etree.tostring(table._tbl).decode() and "<w:tblHeader" in first_row
        cells = [cell.text for table in word.tables for row in table.rows for cell in row.cells]
        assert not any("Bibliography" in text or "Submitted on" in text for text in cells)
        alts = [d.get("descr") for d in word.element.body.iter(
            "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr")]
        assert alts and all("Bar chart: Ratings given" in alt and "meetings" in alt for alt in alts)
        # PDF: tagged, en-GB, title shown, bookmarks, every page in the structure tree, PDF/UA checker clean
        assert files.pdf is not None
        assert structure_problems(files.pdf) == []
        assert pdfua_errors(files.pdf) == []
        # the footer's "Paper page 2 of 6": the digits the same size as the words
        with pdfplumber.open(files.pdf) as pdf:
            footer = [c for c in pdf.pages[1].chars if c["top"] > pdf.pages[1].height - 60]
        line = [c for c in footer if c["top"] >= max(c["top"] for c in footer) - 2]
        assert "".join(c["text"] for c in line).replace(" ", "").startswith("Paperpage2of")
        assert {round(c["size"], 1) for c in line} == {8.0}

    def test_without_libreoffice_the_word_paper_is_still_written(
        self, settings: Settings, monitoring: Store
    ) -> None:
        def missing(paths: list[Path], out_dir: Path) -> dict[Path, Path]:
            return to_pdf(paths, out_dir, soffice="/nonexistent/soffice")

        files = write_paper(
            settings,
            LIBRARY,
            PaperRequest("risk-register", meeting_date=MEETING),
            settings.outbox / "papers",
            to_pdf=missing,
            today=TODAY,
        )
        assert files.pdf is None and files.docx.is_file() and files.annex.is_file()
        assert files.pdf_note is not None and files.pdf_note.startswith(
            "PDF skipped: LibreOffice was not found"
        )
        assert json.loads(files.manifest.read_text())["pdf"] is None
