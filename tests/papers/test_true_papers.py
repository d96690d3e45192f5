"""A realistic period, counted by hand: six partnerships on the register (three high-risk), a
committee calendar, returns for only some meetings (one corrected, one late, one from a name not
on the register), checklists complete, incomplete, overdue and not yet due, a survey with
non-respondents. Each paper's tables, sentences and annex are checked against those counts, and
every number in each paper's sentences must be one of its tables' figures."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from pipeline.core.config import Settings, settings_for
from pipeline.core.identity import Personalisation
from pipeline.papers import PaperFiles, PaperRequest, write_paper
from pipeline.schedule import committees
from pipeline.store import NewSentForm, Store
from tests.support.papers import (
    LIBRARY,
    checklist_answers,
    monitoring_answers,
    sheet_rows,
    survey,
    table_rows,
    tables_headed,
    text_of,
)
from tests.support.papers import (
    ingest as ingest_return,
)
from tests.support.register_book import load_register

AS_AT = date(2026, 12, 10)  # the day the papers are written
ALPHA, BETA = "Alpha Community Safety Partnership", "Beta Strategic Partnership"
DELTA = "Delta Business Forum"
EPSILON, GAMMA, ZETA = "Epsilon Children's Trust", "Gamma Criminal Justice Board", "Zeta Prevent Group"
REGISTER = [(ALPHA, True), (BETA, True), (GAMMA, True), (DELTA, False), (EPSILON, False), (ZETA, False)]
MEETINGS = [
    (ALPHA, date(2026, 10, 5)), (ALPHA, date(2026, 11, 2)),
    (BETA, date(2026, 10, 12)), (BETA, date(2026, 11, 9)),
    (GAMMA, date(2026, 10, 20)),
    (DELTA, date(2026, 11, 16)),
    (EPSILON, date(2026, 10, 8)), (EPSILON, date(2026, 11, 25)),
    (ZETA, date(2026, 12, 7)),  # its return is not due until 14 December
]
CALENDAR = """committees:
  - name: Communities and Partnerships Committee
    papers: [monitoring-summary, survey-results]
    meetings: [2026-12-15]
  - name: Scrutiny and Audit Committee
    papers: [risk-register]
    meetings: [2026-12-22]
"""
PERIOD = (date(2026, 10, 1), date(2026, 12, 31))


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def ingest(settings: Settings, store: Store, form_id: str, person: Personalisation,
           answers: dict[str, object], received: datetime) -> None:
    """Generate the form, fill it as Word saves it, and ingest it as arriving at `received`."""
    ingest_return(settings, store, form_id, person, answers, received, arrived=received)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def period(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Settings:
    """The period's returns in a home whose store is its SQLite file, then a PostgreSQL database
    (named in its pipeline.toml): the papers must say the same from either."""
    settings = settings_for(tmp_path_factory.mktemp("period") / "home")
    settings.ensure_folders()
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_cluster").new_database()
        (settings.home / "pipeline.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    (settings.home / "committees.yaml").write_text(CALENDAR, encoding="utf-8")
    with Store.for_home(settings) as store:
        committees.load_yaml(store, settings.home / "committees.yaml")
        load_register(store, REGISTER, MEETINGS, today=date(2026, 1, 1))
        _monitoring_returns(settings, store)
        _checklists(settings, store)
        _surveys(settings, store)
    return settings


def _monitoring_returns(settings: Settings, store: Store) -> None:
    returns = [
        (ALPHA, date(2026, 10, 5), at(date(2026, 10, 7)), "high_value"),
        (ALPHA, date(2026, 11, 2), at(date(2026, 11, 20)), "of_value"),  # late (due 9 November)
        (ALPHA, date(2026, 11, 2), at(date(2026, 11, 21)), "high_value"),  # corrected copy
        (BETA, date(2026, 10, 12), at(date(2026, 10, 13)), "high_value"),
        (GAMMA, date(2026, 10, 20), at(date(2026, 10, 21)), "low_value"),
        (EPSILON, date(2026, 10, 8), at(date(2026, 10, 9)), "of_value"),
        ("Hull Prevent group", date(2026, 11, 3), at(date(2026, 11, 4)), "of_value"),  # not registered
    ]
    for name, meeting, received, attendance in returns:
        person, answers = monitoring_answers(name, meeting, "wholly_relevant", attendance)
        ingest(settings, store, "monitoring", person, answers, received)


def _checklists(settings: Settings, store: Store) -> None:
    complete = checklist_answers(high_risk=True, overrides={
        "assessed_on": "2026-11-01", "q1_answer": "no", "q3_answer": "Alpha City Council"})
    # Beta's screening answers say it is not high-risk (the register says it is), so its open
    # question 12 was accepted: an incomplete checklist.
    incomplete = checklist_answers(high_risk=False, overrides={
        "assessed_on": "2026-11-05", "q12_answer": None, "q3_answer": "Beta District Council"})
    delta = checklist_answers(high_risk=True, overrides={"assessed_on": "2026-10-15"})  # says high-risk
    stranger = checklist_answers(high_risk=False, overrides={"assessed_on": "2026-11-10"})
    for name, answers in ((ALPHA, complete), (BETA, incomplete), (DELTA, delta), ("Goole Forum", stranger)):
        ingest(settings, store, "risk-checklist", Personalisation(partnership=name, member="Member"),
               answers, at(date(2026, 11, 12)))
    partnerships = {p: i for i, (p, _) in enumerate(REGISTER, start=1)}
    for name, sent, due in ((GAMMA, date(2026, 11, 1), date(2026, 11, 29)),
                            (EPSILON, date(2026, 12, 1), date(2026, 12, 29))):
        store.record_sent(NewSentForm(token=f"token-{name}", form_id="risk-checklist",
                                      form_version=1, partnership_id=partnerships[name],
                                      recipient_name="Member", recipient_email="member@example.gov.uk",
                                      meeting_date=None, due_date=due, purpose="checklist",
                                      sent_at=at(sent), message_path="sent.eml"))
    eia = {"title": "Alpha information sharing", "author": "A Officer", "created_on": "2026-10-01",
           "version_no": "1", "partnership": ALPHA, "b1_aims": "Aims", "b2_research": "Research",
           "b3a_internal": "Staff", "b3b_external": "Partners", "b7_monitoring": "Quarterly",
           "b8_answer": "Yes", "b8_impact": ["low"], "b9_answer": "Yes", "b9_impact": ["low"],
           "b10_answer": "Yes", "b10_impact": ["low"]}
    ingest(settings, store, "eia", Personalisation(), eia, at(date(2026, 10, 2)))


def _surveys(settings: Settings, store: Store) -> None:
    given = ((ALPHA, "strongly_agree"), (BETA, "agree"), (GAMMA, "neither"), ("Goole Forum", "agree"))
    for name, first in given:
        answers = {k: str(v) for k, v in survey(2026, first, "agree", "agree").items()}
        answers["respondent"] = f"Chair of {name}"
        ingest(settings, store, "stakeholder-survey", Personalisation(partnership=name, member="Chair"),
               answers, at(date(2026, 11, 30)))


def paper(settings: Settings, kind: str) -> PaperFiles:
    with Store.for_home(settings) as store:
        meeting = committees.meeting_for(store, date(2026, 12, 22 if kind == "risk-register" else 15))
    request = PaperRequest(kind, *PERIOD, meeting.date, meeting.committee)
    return write_paper(settings, LIBRARY, request, settings.outbox / "papers", today=AS_AT)


def sentences(files: PaperFiles) -> list[str]:
    """The numbered paragraphs of the paper (3.1, 3.2 ...), dates taken out."""
    lines = [line for line in text_of(files.docx).splitlines() if re.match(r"^\d+\.\d+\t", line)]
    return [re.sub(r"\d{1,2} [A-Z][a-z]+ \d{4}", "DATE", line.split("\t", 1)[1]) for line in lines]


def numbers_in(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"(?<![\w.])(\d+)(?![\w.%])", text)}


def table_numbers(rows: list[list[str]]) -> set[int]:
    return {int(cell) for row in rows for cell in row if cell.isdigit()}


class TestMonitoringSummary:
    def test_returns_against_the_register_counted_by_hand(self, period: Settings) -> None:
        files = paper(period, "monitoring-summary")
        assert table_rows(files.docx, "Partnership") == [
            # partnership, due, received, on time, late, missing, meetings with no return
            [ALPHA, "2", "2", "1", "1", "0", ""],  # the corrected copy replaced the late one: still late
            [BETA, "2", "1", "1", "0", "1", "9 Nov 2026"],
            [DELTA, "1", "0", "0", "0", "1", "16 Nov 2026"],
            [EPSILON, "2", "1", "1", "0", "1", "25 Nov 2026"],
            [GAMMA, "1", "1", "1", "0", "0", ""],
            [ZETA, "0", "0", "0", "0", "0", ""],  # 7 December: not due until 14 December
            ["Total", "8", "5", "4", "1", "3", ""],
        ]
        text = text_of(files.docx)
        assert (
            "The partnership register lists 8 meetings held between 1 October 2026 and 31 December 2026 "
            "whose return was due by 10 December 2026. 5 returns were received from 4 partnerships on the "
            "register, one for each meeting (a corrected copy replaces the return it corrects); 4 arrived "
            "on time and 1 late." in text
        )
        assert (
            f"3 returns are missing: {BETA} (9 November 2026); {DELTA} (16 November 2026); "
            f"{EPSILON} (25 November 2026)." in text
        )
        assert "1 return came from partnerships not on the register" in text and "Hull Prevent group" in text
        unmatched = tables_headed(files.docx, "Name given on the return")
        assert [row[:2] for row in unmatched[0]] == [["Hull Prevent group", "3 Nov 2026"]]

    def test_the_annex_has_the_same_figures_as_the_paper(self, period: Settings) -> None:
        files = paper(period, "monitoring-summary")
        annex = sheet_rows(files.annex, "Returns by partnership")
        assert [row[:6] for row in annex] == [
            [ALPHA, 2, 2, 1, 1, 0], [BETA, 2, 1, 1, 0, 1], [DELTA, 1, 0, 0, 0, 1],
            [EPSILON, 2, 1, 1, 0, 1], [GAMMA, 1, 1, 1, 0, 0], [ZETA, 0, 0, 0, 0, 0], ["Total", 8, 5, 4, 1, 3],
        ]
        assert [row[0] for row in sheet_rows(files.annex, "Not on the register")] == ["Hull Prevent group"]
        attendance = sheet_rows(files.annex, LIBRARY.get("monitoring").field("attendance_rating").label)
        assert attendance[-1][:2] == ["Total", 6]  # six current returns, the unmatched one included

    def test_every_number_in_the_sentences_is_a_figure_of_the_tables(self, period: Settings) -> None:
        files = paper(period, "monitoring-summary")
        figures = table_numbers(table_rows(files.docx, "Partnership")) | {1}  # 1 unmatched return
        figures |= {LIBRARY.get("monitoring").due.days}
        for line in sentences(files)[:4]:
            assert numbers_in(line) <= figures, line


class TestRiskRegister:
    def test_every_partnership_on_the_register_with_its_checklist_status(self, period: Settings) -> None:
        files = paper(period, "risk-register")
        rows = table_rows(files.docx, "Partnership")
        assert [row[:3] + row[4:] for row in rows] == [
            [ALPHA, "Yes", "Complete", "Alpha City Council", "1 Nov 2026", "Yes"],
            [BETA, "Register: Yes. Checklist: No. They disagree.", "Incomplete", "Beta District Council",
             "5 Nov 2026", "No"],
            [DELTA, "Register: No. Checklist: Yes. They disagree.", "Complete", "Set out in the agreement",
             "15 Oct 2026", "No"],
            [EPSILON, "No (by the register)", "Not yet due (sent 1 Dec 2026, due 29 Dec 2026)",
             "—", "—", "No"],
            [GAMMA, "Yes (by the register)",
             "Not returned: sent 1 Nov 2026, due 29 Nov 2026, 11 days overdue", "—", "—", "No"],
            [ZETA, "No (by the register)", "Not asked for (not high-risk)", "—", "—", "No"],
        ]
        assert [row[3] for row in rows] == ["1", "12", "None", "—", "—", "—"]

    def test_the_sentences_say_only_what_the_figures_make_true(self, period: Settings) -> None:
        files = paper(period, "risk-register")
        text = text_of(files.docx)
        assert (
            "The partnership register lists 6 partnerships, 3 of them high-risk by the register. 4 are "
            "high-risk by the register or by their own checklist. Checklists: 2 complete, 1 incomplete, "
            "1 not yet due and 1 not returned; 1 not asked for (not high-risk)." in text
        )
        assert "Every high-risk partnership’s checklist is complete" not in text
        assert f"2 high-risk partnerships have no complete checklist: {BETA}, {GAMMA}." in text
        assert f"For {BETA}, {DELTA} the register and the checklist’s screening answers disagree" in text
        assert "1 checklist came from partnerships not on the register" in text and "Goole Forum" in text

    def test_the_annex_has_the_same_register(self, period: Settings) -> None:
        files = paper(period, "risk-register")
        annex = {row[0]: row for row in sheet_rows(files.annex, "Risk register")}
        assert set(annex) == {name for name, _ in REGISTER}
        assert annex[GAMMA][1:8] == ["Yes", None, None, "Not returned", datetime(2026, 11, 1),
                                     datetime(2026, 11, 29), 11]
        assert annex[DELTA][1:5] == ["No", "Yes", "The register and the checklist disagree", "Complete"]
        assert [row[0] for row in sheet_rows(files.annex, "Not on the register")] == ["Goole Forum"]

    def test_every_number_in_the_sentences_is_a_figure(self, period: Settings) -> None:
        files = paper(period, "risk-register")
        annex = sheet_rows(files.annex, "Risk register")
        statuses = [row[4] for row in annex]
        high_risk = sum(r[1] == "Yes" or r[2] == "Yes" for r in annex)
        not_complete = sum((r[1] == "Yes" or r[2] == "Yes") and r[4] != "Complete" for r in annex)
        figures = {len(annex), sum(r[1] == "Yes" for r in annex), high_risk, not_complete, 1}
        figures |= {statuses.count(s) for s in ("Complete", "Incomplete", "Not yet due", "Not returned",
                                                 "Not asked for")}
        for line in sentences(files)[2:6]:
            assert numbers_in(line) <= figures, line


class TestSurveyResults:
    def test_the_partnerships_that_did_not_respond_are_named(self, period: Settings) -> None:
        files = paper(period, "survey-results")
        text = text_of(files.docx)
        assert "4 responses were received in 2026." in text
        assert (
            f"3 of the 6 partnerships on the register responded; 3 did not: {DELTA}, {EPSILON}, {ZETA}."
            in text
        )
        assert "1 response came from names not on the register: Goole Forum." in text
        assert [row[0] for row in table_rows(files.docx, "Partnership")] == [DELTA, EPSILON, ZETA]
        assert [row[0] for row in sheet_rows(files.annex, "Did not respond")] == [DELTA, EPSILON, ZETA]
