"""Papers and packs belong to meetings on the calendar; returns from names not on the register are
held as "not matched" until the clerk matches them. Through the real CLI, on a real database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import Settings, settings_for
from pipeline.schedule.committees import load_yaml
from pipeline.store import Store
from tests.support.filling import soffice
from tests.support.papers import ingest, monitoring_answers, table_rows, text_of
from tests.support.register_book import load_register

COMMUNITIES, SCRUTINY = "Communities and Partnerships Committee", "Scrutiny and Audit Committee"
CALENDAR = f"""committees:
  - name: {COMMUNITIES}
    papers: [monitoring-summary, survey-results]
    meetings: [2026-12-15, 2027-01-12]
  - name: {SCRUTINY}
    papers: [risk-register]
    meetings: [2026-12-22, 2027-01-12]
"""
HULL = "Hull Community Safety Partnership"


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = settings_for(tmp_path / "home")
    settings.ensure_folders()
    (settings.home / "committees.yaml").write_text(CALENDAR, encoding="utf-8")
    with Store.for_home(settings) as store:
        load_yaml(store, settings.home / "committees.yaml")
        load_register(store, [(HULL, True), ("Hull PREVENT Partnership Group", False)],
                      [(HULL, date(2026, 11, 2))])
    return settings


def run(settings: Settings, *argv: str) -> int:
    return main([*argv, "--home", str(settings.home)])


def papers_under(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.home.rglob("*.docx") if "papers" in p.parts or "elsewhere" in p.parts)


class TestPapersBelongToMeetings:
    def test_a_misspelt_committee_is_refused_with_did_you_mean(self, home: Settings, capsys) -> None:
        status = run(home, "paper", "monitoring-summary", "--meeting-date", "2026-12-15",
                     "--committee", "Comunities and Partnerships Committee")
        err = capsys.readouterr().err
        assert status == 2
        assert len(err.strip().splitlines()) == 1
        assert f'did you mean "{COMMUNITIES}"?' in err
        assert papers_under(home) == []

    def test_a_day_with_no_meeting_names_the_nearest_meetings(self, home: Settings, capsys) -> None:
        status = run(home, "paper", "risk-register", "--meeting-date", "2026-12-16", "--exempt", "3")
        err = capsys.readouterr().err
        assert status == 2
        assert "The calendar has no committee meeting on Wednesday 16 December 2026." in err
        assert f"{COMMUNITIES} on Tuesday 15 December 2026" in err
        assert f"{SCRUTINY} on Tuesday 22 December 2026" in err
        assert run(home, "pack", "--meeting-date", "2026-12-16") == 2
        assert not (home.outbox / "packs").exists() or list((home.outbox / "packs").iterdir()) == []
        assert papers_under(home) == []

    def test_a_committee_that_does_not_meet_that_day_is_refused(self, home: Settings, capsys) -> None:
        status = run(home, "paper", "risk-register", "--meeting-date", "2026-12-15")
        assert status == 0  # the one meeting that day: the paper goes to it, whatever its kind
        capsys.readouterr()
        status = run(home, "paper", "risk-register", "--meeting-date", "2026-12-15", "--committee", SCRUTINY)
        err = capsys.readouterr().err
        assert status == 2
        assert f'"{SCRUTINY}" does not meet on Tuesday 15 December 2026' in err

    def test_the_committee_comes_from_the_calendar_ignoring_capitals(self, home: Settings, capsys) -> None:
        assert run(home, "paper", "risk-register", "--meeting-date", "2026-12-22") == 0
        docx = Path(capsys.readouterr().out.splitlines()[0])
        assert f"To:\t{SCRUTINY}" in text_of(docx)
        assert run(home, "paper", "monitoring-summary", "--meeting-date", "2027-01-12") == 2
        assert "say which with --committee" in capsys.readouterr().err
        assert run(home, "paper", "monitoring-summary", "--meeting-date", "2027-01-12",
                   "--committee", COMMUNITIES.upper()) == 0
        docx = Path(capsys.readouterr().out.splitlines()[0])
        assert f"To:\t{COMMUNITIES}" in text_of(docx)  # the calendar's spelling, not the typed one

    def test_calendar_shows_each_paper_against_its_meeting(self, home: Settings, capsys) -> None:
        elsewhere = home.home / "elsewhere"
        assert run(home, "paper", "monitoring-summary", "--meeting-date", "2026-12-15",
                   "--out", str(elsewhere)) == 0
        capsys.readouterr()
        assert run(home, "calendar") == 0
        lines = capsys.readouterr().out.splitlines()
        first = next(i for i, line in enumerate(lines) if "15 Dec 2026" in line)
        assert "written: monitoring-summary" in lines[first + 1]
        assert str(elsewhere) in lines[first + 1]
        assert not any("written" in line for line in lines[first + 2:first + 3])

    @pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is needed for the papers' PDFs")
    def test_pack_finds_a_paper_written_to_another_folder(self, home: Settings, capsys) -> None:
        elsewhere = home.home / "elsewhere"
        assert run(home, "paper", "monitoring-summary", "--meeting-date", "2026-12-15",
                   "--out", str(elsewhere)) == 0
        capsys.readouterr()
        assert run(home, "pack", "--meeting-date", "2026-12-15") == 0
        packs = [Path(line) for line in capsys.readouterr().out.splitlines()]
        assert [p.name for p in packs] == ["communities-and-partnerships-committee-2026-12-15-part1.pdf"]


class TestReturnsNotOnTheRegister:
    def test_held_shown_by_status_named_in_the_paper_then_matched(self, home: Settings, capsys) -> None:
        with Store.for_home(home) as store:
            for name, meeting in ((HULL, date(2026, 11, 2)), ("Hull Prevent group", date(2026, 11, 20))):
                person, answers = monitoring_answers(name, meeting, "wholly_relevant", "high_value")
                ingest(home, store, "monitoring", person, answers, datetime(2026, 11, 23, tzinfo=UTC))
            unmatched = store.unmatched()
        assert [(u.form_id, u.partnership) for u in unmatched] == [("monitoring", "Hull Prevent group")]
        number = unmatched[0].submission_id

        assert run(home, "status") == 0
        out = capsys.readouterr().out
        assert "Returns from partnerships not on the register (1)" in out
        assert f'#{number:<5} monitoring' in out and '"Hull Prevent group"' in out

        assert run(home, "paper", "monitoring-summary", "--meeting-date", "2026-12-15",
                   "--from", "2026-11-01", "--to", "2026-12-01") == 0
        docx = Path(capsys.readouterr().out.splitlines()[0])
        text = text_of(docx)
        assert "1 return came from partnerships not on the register" in text
        assert "Hull Prevent group" in text
        rows = table_rows(docx, "Partnership")
        assert rows[:2] == [[HULL, "1", "1", "1", "0", "0", ""],
                            ["Hull PREVENT Partnership Group", "0", "0", "0", "0", "0", ""]]

        assert run(home, "match", str(number), "Hull Prevent Partnership Grop") == 2
        assert 'Did you mean "Hull PREVENT Partnership Group"?' in capsys.readouterr().err
        assert run(home, "match", str(number), "hull prevent partnership group") == 0
        assert "now counted under Hull PREVENT Partnership Group" in capsys.readouterr().out

        assert run(home, "paper", "monitoring-summary", "--meeting-date", "2026-12-15",
                   "--from", "2026-11-01", "--to", "2026-12-01") == 0
        docx = Path(capsys.readouterr().out.splitlines()[0])
        assert "not on the register" not in text_of(docx)
        prevent = table_rows(docx, "Partnership")[1]
        assert prevent == ["Hull PREVENT Partnership Group", "0", "1", "1", "0", "0", ""]
        assert run(home, "status") == 0
        assert "not on the register" not in capsys.readouterr().out


def test_a_return_from_a_name_not_on_the_register_is_accepted_as_not_matched(home: Settings) -> None:
    from pipeline.generate.forms import form_bytes
    from pipeline.ingest.steps import Ingest
    from tests.support.filling import fill_docx
    from tests.support.papers import LIBRARY

    person, answers = monitoring_answers("Hull Prevent group", date(2026, 11, 20), "wholly_relevant",
                                         "high_value")
    blank, identity = form_bytes(LIBRARY.get("monitoring"), "docx", person)
    path = home.home / "return.docx"
    path.write_bytes(fill_docx(blank, answers))
    with Store.for_home(home) as store:
        store.record_token(identity.token, form_id="monitoring", form_version=identity.version,
                           partnership=person.partnership, member=person.member,
                           meeting_date=person.meeting_date, sent_to=None,
                           issued_by="pipeline generate", at=datetime(2026, 11, 1, tzinfo=UTC))
        [result] = Ingest(home, LIBRARY, store).ingest_path(path)
    assert result.outcome.value == "accepted"
    assert '"Hull Prevent group" is not on the partnership register' in result.message
    assert f"pipeline match {result.submission_id}" in result.message


def test_a_paper_without_a_meeting_still_names_a_committee_on_the_calendar(home: Settings, capsys) -> None:
    assert run(home, "paper", "survey-results", "--committee", "Comunities and Partnerships Committee") == 2
    assert f'Did you mean "{COMMUNITIES}"?' in capsys.readouterr().err
    assert run(home, "paper", "survey-results", "--committee", COMMUNITIES.lower()) == 0
    docx = Path(capsys.readouterr().out.splitlines()[0])
    assert f"To:\t{COMMUNITIES}" in text_of(docx)
