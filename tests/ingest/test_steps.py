"""Returned forms end to end: files made by the generator, filled the way people fill them (Word,
LibreOffice for real, Excel), ingested with `pipeline ingest`, and read back with
`pipeline records` from a real SQLite database in a temporary home, and again on PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from pipeline.core.definitions import FormDefinition
from pipeline.core.identity import Personalisation
from pipeline.generate.layout import input_slots
from pipeline.ingest.steps import Ingest
from pipeline.store import Store
from tests.support.filling import resave_in_libreoffice, soffice
from tests.support.lo_fill import Fill, fill_forms_in_libreoffice, inputs_for, missing_reason
from tests.support.msgwriter import MsgAttachment, MsgMessage, build_msg
from tests.support.returns import (
    ANSWERS,
    DOCX_TYPE,
    EAST,
    HULL,
    HULL_RECORD,
    LIBRARY,
    MONITORING,
    ON_TIME,
    Home,
    blank_form,
    email_with,
    excel_return,
    issue,
    needs_soffice,
    place,
    sha256,
    the_record,
    without_control,
    without_identity,
    word_return,
)
from tests.support.zips import read_parts

BUILTIN_FORMS = Path(__file__).resolve().parents[2] / "pipeline" / "forms"


# --- readers: each kind of file, filled the way people fill it -----------------------------------


class TestWordReturns:
    def test_a_form_filled_in_word_shows_exactly_the_typed_values(self, home: Home, drop) -> None:
        result = home.ingest_one(drop("monitoring.docx", word_return()))
        assert (result["outcome"], result["form"], result["problems"]) == ("accepted", "monitoring", [])
        record = the_record(home)
        assert record["fields"] == HULL_RECORD
        assert (record["submission_id"], record["version"], record["late"]) == (
            result["submission_id"], 1, False)
        assert record["received"].startswith("2026-03-16")

    def test_rows_added_in_word_are_all_stored(self, home: Home, drop) -> None:
        challenges = [{"challenge": f"Challenge {n}", "action": f"Action {n}", "by_whom": f"Officer {n}",
                       "by_when": f"2026-04-{n + 1:02d}"} for n in range(8)]  # the form has 5 rows
        home.ingest_one(drop("monitoring.docx", word_return(answers={**ANSWERS,
                                                                     "challenges_by_pa": challenges})))
        assert the_record(home)["fields"]["challenges_by_pa"] == challenges


@dataclass(frozen=True)
class FilledInLibreOffice:
    files: dict[str, Path]  # form id -> the file LibreOffice saved
    controls: dict[str, list[str]]  # form id -> the kinds of control LibreOffice showed, in order


@pytest.fixture(scope="module")
def libreoffice_returns(tmp_path_factory: pytest.TempPathFactory) -> FilledInLibreOffice:
    """Forms typed into by real LibreOffice over UNO (one soffice for all of them)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("libreoffice")
    statement = LIBRARY.get("statement-of-intent")
    jobs = {"monitoring": (MONITORING, HULL, ANSWERS),
            "statement-of-intent": (statement, Personalisation(partnership="Hull CDRP",
                                                               member="Cllr Jane Smith"),
                                    STATEMENT_ANSWERS)}
    fills, made = [], {}
    for form_id, (definition, person, answers) in jobs.items():
        src = folder / f"{form_id}-sent.docx"
        src.write_bytes(blank_form(person, definition))
        inputs = inputs_for(definition, answers)
        made[form_id] = folder / f"{form_id}-filled-in-libreoffice.docx"
        fills.append(Fill(src, made[form_id], inputs.texts, inputs.ticks, inputs.controls))
    found = fill_forms_in_libreoffice(fills)
    return FilledInLibreOffice(made, {form_id: [c["kind"] for c in controls]
                                      for form_id, controls in zip(jobs, found, strict=True)})


def control_kinds(definition: FormDefinition) -> list[str]:
    """The kinds of control the generated form holds in document order, table cells row by row."""
    # A long text is an inline rich-text control: LibreOffice shows it as a content control.
    kinds = {"date": "date", "choice": "dropdown", "yes_no": "dropdown", "long_text": "rich"}
    found: list[str] = []
    for slot in input_slots(definition):
        if slot.kind == "table":
            columns = [kinds.get(c.type.value, "text") for c in slot.field.columns]
            found += columns * max(slot.field.rows, 1)
        else:
            found.append("rich" if slot.field.type.value == "long_text" else slot.kind)
    return found


STATEMENT_ANSWERS: dict[str, object] = {
    "partnership_type": "cdrp",
    "date_agreed": "2026-02-27",
    "purpose": "To reduce crime & disorder in Hull, with the council as lead partner",
    "issues": [{"issue": "Night-time economy violence"}, {"issue": "Anti-social behaviour"}],
    "objectives": [{"objective": "Fewer violent incidents in the city centre"}],
}
STATEMENT_RECORD: dict[str, object] = {
    "partnership": "Hull CDRP",
    "partnership_type": "cdrp",
    "date_agreed": "2026-02-27",
    "purpose": "To reduce crime & disorder in Hull, with the council as lead partner",
    "issues": [{"issue": "Night-time economy violence"}, {"issue": "Anti-social behaviour"}],
    "objectives": [{"objective": "Fewer violent incidents in the city centre"}],
    "lead": "Cllr Jane Smith",
    "commitments": [],
}


class TestLibreOfficeReturns:
    @pytest.mark.parametrize("form_id", ["monitoring", "statement-of-intent"])
    def test_libreoffice_shows_the_controls_in_the_order_the_form_was_generated(
            self, libreoffice_returns: FilledInLibreOffice, form_id: str) -> None:
        assert libreoffice_returns.controls[form_id] == control_kinds(LIBRARY.get(form_id))

    def test_a_form_filled_in_libreoffice_shows_exactly_the_values_typed(
            self, home: Home, drop, libreoffice_returns: FilledInLibreOffice) -> None:
        data = libreoffice_returns.files["monitoring"].read_bytes()
        assert b"<w:tag " not in read_parts(data)["word/document.xml"]  # LibreOffice dropped them
        result = home.ingest_one(drop("monitoring.docx", data))
        assert result["outcome"] == "accepted", result["message"]
        assert the_record(home)["fields"] == HULL_RECORD

    def test_drop_down_date_and_table_typed_in_libreoffice(
            self, home: Home, drop, libreoffice_returns: FilledInLibreOffice) -> None:
        data = libreoffice_returns.files["statement-of-intent"].read_bytes()
        result = home.ingest_one(drop("statement.docx", data))
        assert result["outcome"] == "accepted", result["message"]
        assert the_record(home, "statement-of-intent")["fields"] == STATEMENT_RECORD


@pytest.fixture(scope="module")
def word_return_resaved(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A Word-filled return opened and saved again in real LibreOffice (tags gone)."""
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("resaved")
    source = place(folder, "monitoring.docx", word_return())
    return resave_in_libreoffice(source, folder / "out").read_bytes()


@needs_soffice
class TestResavedInLibreOffice:
    def test_a_word_return_saved_again_in_libreoffice_reads_the_same(
            self, home: Home, drop, word_return_resaved: bytes) -> None:
        assert b"<w:tag " not in read_parts(word_return_resaved)["word/document.xml"]
        result = home.ingest_one(drop("monitoring.docx", word_return_resaved))
        assert result["outcome"] == "accepted", result["message"]
        assert the_record(home)["fields"] == HULL_RECORD

    def test_a_pdf_saved_by_libreoffice_from_the_filled_form_reads_the_same(
            self, home: Home, drop, tmp_path: Path) -> None:
        source = place(tmp_path / "pdf", "monitoring.docx", word_return())
        pdf = resave_in_libreoffice(source, tmp_path / "pdf" / "out", "pdf:writer_pdf_Export")
        result = home.ingest_one(drop("monitoring.pdf", pdf.read_bytes()))
        assert (result["outcome"], result["form"]) == ("accepted", "monitoring"), result["message"]
        assert the_record(home)["fields"] == HULL_RECORD


# --- Excel ---------------------------------------------------------------------------------------


class TestExcelReturns:
    def test_a_workbook_filled_in_shows_exactly_the_typed_values(self, home: Home, drop) -> None:
        result = home.ingest_one(drop("monitoring.xlsx", excel_return()))
        assert result["outcome"] == "accepted", result["message"]
        assert the_record(home)["fields"] == HULL_RECORD

    @needs_soffice
    def test_a_workbook_saved_again_in_libreoffice_calc_reads_the_same(
            self, home: Home, drop, tmp_path: Path) -> None:
        source = place(tmp_path / "calc", "monitoring.xlsx", excel_return())
        resaved = resave_in_libreoffice(source, tmp_path / "calc" / "out",
                                        "xlsx:Calc MS Excel 2007 XML")
        result = home.ingest_one(drop("monitoring.xlsx", resaved.read_bytes()))
        assert result["outcome"] == "accepted", result["message"]
        assert the_record(home)["fields"] == HULL_RECORD


# --- saved emails ----------------------------------------------------------------------------------


class TestEmails:
    def test_every_form_attached_to_an_email_is_stored_with_the_sender(self, home: Home, drop) -> None:
        mail = email_with([("Hull.docx", word_return()), ("East Riding.docx", word_return(EAST))])
        results = home.ingest(drop("RE Monitoring forms.eml", mail))
        assert [(r["outcome"], r["form"], r["sender"]) for r in results] == [
            ("accepted", "monitoring", "jane.smith@example.gov.uk")] * 2
        records = {r["partnership"]: r for r in home.records()}
        assert set(records) == {"Hull CDRP", "East Riding LSP"}
        assert {r["sender"] for r in records.values()} == {"jane.smith@example.gov.uk"}
        assert records["Hull CDRP"]["fields"] == HULL_RECORD
        assert records["Hull CDRP"]["received"].startswith("2026-03-16")
        assert [p.read_bytes() for p in home.files("archive/emails")] == [mail]

    def test_an_outlook_message_with_a_form_is_stored_with_the_sender(self, home: Home, drop) -> None:
        message = MsgMessage(subject="RE: Monitoring form", sender_name="Cllr Jane Smith",
                             sender_smtp="jane.smith@example.gov.uk", body="Form attached.",
                             sent_at=ON_TIME, attachments=[MsgAttachment("Monitoring.docx", word_return(),
                                                                         DOCX_TYPE)])
        (result,) = home.ingest(drop("RE Monitoring form.msg", build_msg(message)))
        assert (result["outcome"], result["sender"]) == ("accepted", "jane.smith@example.gov.uk")
        record = the_record(home)
        assert (record["sender"], record["fields"]) == ("jane.smith@example.gov.uk", HULL_RECORD)

    def test_an_email_without_a_form_is_rejected_and_kept(self, home: Home, drop) -> None:
        mail = email_with([("notes.txt", b"Minutes to follow.")], subject="Meeting notes")
        (result,) = home.ingest(drop("Meeting notes.eml", mail))
        assert result["outcome"] == "rejected"
        assert "no form attached" in result["message"] and "notes.txt" in result["message"]
        assert Path(result["stored_at"]).read_bytes() == mail
        assert Path(result["stored_at"]).parent == home.path / "rejected"
        assert "no form attached" in Path(result["report"]).read_text()
        assert home.records() == []


# --- identity: which form, which version ------------------------------------------------------------


class TestIdentity:
    def test_a_form_whose_properties_were_removed_is_recognised_from_its_layout(
            self, home: Home, drop) -> None:
        result = home.ingest_one(drop("monitoring.docx", without_identity(word_return())))
        assert (result["outcome"], result["form"]) == ("accepted", "monitoring"), result["message"]
        assert the_record(home)["fields"] == HULL_RECORD

    @needs_soffice
    def test_without_tags_or_properties_it_is_recognised_by_the_place_of_each_box(
            self, home: Home, drop, word_return_resaved: bytes) -> None:
        result = home.ingest_one(drop("monitoring.docx", without_identity(word_return_resaved)))
        assert (result["outcome"], result["form"]) == ("accepted", "monitoring"), result["message"]
        assert the_record(home)["fields"] == HULL_RECORD

    @needs_soffice
    def test_a_box_deleted_from_an_untagged_form_is_rejected_for_its_layout(
            self, home: Home, drop, word_return_resaved: bytes) -> None:
        changed = without_control(word_return_resaved, 3)  # "Place of meeting"
        result = home.ingest_one(drop("monitoring.docx", changed))
        assert result["outcome"] == "rejected"
        assert "layout of this form has been changed" in result["message"]
        assert "Place of meeting" in result["message"]
        assert Path(result["stored_at"]).read_bytes() == changed

    @needs_soffice
    def test_a_changed_layout_without_identity_is_rejected_not_guessed(
            self, home: Home, drop, word_return_resaved: bytes) -> None:
        changed = without_identity(without_control(word_return_resaved, 3))
        result = home.ingest_one(drop("monitoring.docx", changed))
        assert result["outcome"] == "rejected"
        assert "could not tell which form this is" in result["message"]
        assert Path(result["stored_at"]).read_bytes() == changed
        assert home.records() == []

    def test_an_older_version_is_read_as_that_version(self, home: Home, drop) -> None:
        old_return = word_return()  # generated from version 1, before the home's version 2
        write_monitoring_v2(home.settings.forms_dir)
        result = home.ingest_one(drop("monitoring.docx", old_return))
        assert result["outcome"] == "accepted", result["message"]
        record = the_record(home)
        assert (record["version"], record["fields"]) == (1, HULL_RECORD)
        status, out = home.cli("generate", "monitoring", "--partnership", "Hull CDRP",
                               "--out", str(home.path / "new"))
        assert status == 0
        assert b"<vt:lpwstr>2</vt:lpwstr>" in read_parts(Path(out.strip()).read_bytes())[
            "docProps/custom.xml"]


def write_monitoring_v2(forms_dir: Path) -> None:
    """The home's own version 2 of the monitoring form: one more question."""
    definition = yaml.safe_load((BUILTIN_FORMS / "monitoring.yaml").read_text(encoding="utf-8"))
    definition["version"] = 2
    definition["sections"][0]["items"].append(
        {"id": "apologies", "label": "Apologies received from", "type": "text"})
    forms_dir.mkdir(parents=True, exist_ok=True)
    (forms_dir / "monitoring.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")


# --- validation -----------------------------------------------------------------------------------


class TestValidation:
    def test_three_mistakes_give_one_rejection_listing_all_three(self, home: Home, drop) -> None:
        person = Personalisation(partnership="Hull CDRP", member="Cllr Jane Smith",
                                 meeting_title="Board", meeting_place="Guildhall")
        answers = {**ANSWERS, "meeting_length": "", "meeting_date": "31/02/2026",
                   "agenda_rating": ["wholly_relevant", "highly_relevant"]}
        result = home.ingest_one(drop("monitoring.docx", word_return(person, answers)))
        assert result["outcome"] == "rejected"
        assert {p["field"] for p in result["problems"]} == {"meeting_date", "meeting_length",
                                                             "agenda_rating"}
        report = Path(result["report"]).read_text()
        assert Path(result["report"]).parent == home.path / "rejected"
        for label in ("Date of meeting", "Length of meeting", "Agenda Rating"):
            assert label in report
        assert "3 problems" in report and "no such date as 31 February 2026" in report
        assert home.records() == []

    def test_a_late_monitoring_form_is_accepted_and_marked_late(self, home: Home, drop) -> None:
        ten_days_on = datetime(2026, 3, 24, 10, tzinfo=UTC)
        result = home.ingest_one(drop("monitoring.docx", word_return(), received=ten_days_on))
        assert (result["outcome"], result["late"]) == ("accepted", True)
        record = the_record(home)
        assert (record["late"], record["fields"]) == (True, HULL_RECORD)

    def test_an_on_time_form_is_not_late(self, home: Home, drop) -> None:
        home.ingest_one(drop("monitoring.docx", word_return()))
        assert the_record(home)["late"] is False


# --- duplicates and resubmissions -------------------------------------------------------------------


class TestDuplicates:
    def test_the_same_file_twice_is_stored_once_and_both_copies_kept(self, home: Home, drop,
                                                                      tmp_path: Path) -> None:
        data = word_return()
        first = home.ingest_one(drop("monitoring.docx", data))
        again = home.ingest_one(place(tmp_path / "later", "monitoring (2).docx", data))
        assert (again["outcome"], again["submission_id"]) == ("duplicate", first["submission_id"])
        assert len(home.records()) == 1
        assert Path(first["stored_at"]).read_bytes() == data
        assert Path(again["stored_at"]).read_bytes() == data
        assert Path(again["stored_at"]).parent == home.path / "archive" / "duplicates"

    def test_a_corrected_return_supersedes_and_both_are_in_the_history(self, home: Home,
                                                                        tmp_path: Path) -> None:
        corrected = word_return(answers={**ANSWERS, "meeting_length": "3 hours"})
        first, second = home.ingest(place(tmp_path / "a", "monitoring.docx", word_return()),
                                    place(tmp_path / "b", "monitoring.docx", corrected))
        assert (first["outcome"], second["outcome"]) == ("accepted", "superseded")
        record = the_record(home)
        assert record["submission_id"] == second["submission_id"]
        assert record["fields"] == {**HULL_RECORD, "meeting_length": "3 hours"}
        with Store.for_home(home.settings) as store:
            (current,) = store.records("monitoring")
            history = store.history("monitoring", current.record_key)
        assert [(r.submission_id, r.values["meeting_length"], r.status.value) for r in history] == [
            (first["submission_id"], "2 hours", "superseded"),
            (second["submission_id"], "3 hours", "current")]


# --- archive ----------------------------------------------------------------------------------------


class TestArchive:
    def test_the_original_is_archived_byte_for_byte_and_leaves_the_inbox(self, home: Home) -> None:
        data = word_return()
        in_inbox = place(home.settings.inbox, "Monitoring form.docx", data)
        result = home.ingest_one(in_inbox)
        archived = Path(result["stored_at"])
        assert sha256(archived.read_bytes()) == sha256(data)
        assert archived.parent == home.path / "archive" / "2026-03"
        assert archived.name.startswith("2026-03-16-monitoring-hull-cdrp")
        assert not in_inbox.exists()
        assert home.files("inbox") == []

    def test_files_with_the_same_name_never_overwrite_each_other(self, home: Home,
                                                                  tmp_path: Path) -> None:
        forms = [word_return(), word_return(answers={**ANSWERS, "meeting_length": "3 hours"})]
        notes = [b"First note.", b"Second note."]
        results = home.ingest(*(place(tmp_path / str(n), "return.docx", d) for n, d in enumerate(forms)),
                              *(place(tmp_path / f"n{n}", "notes.txt", d) for n, d in enumerate(notes)))
        kept = [Path(r["stored_at"]) for r in results]
        assert len(set(kept)) == 4
        assert [p.read_bytes() for p in kept] == [*forms, *notes]
        assert len({Path(r["report"]) for r in results[2:]}) == 2


def test_a_second_run_in_the_same_second_never_mistakes_a_new_file_for_a_finished_one(
        home: Home) -> None:
    at_noon = lambda: datetime(2026, 3, 16, 12, tzinfo=UTC)  # noqa: E731  both runs, same second
    corrected = word_return(answers={**ANSWERS, "meeting_length": "3 hours"})
    results = []
    for data in (word_return(), corrected):
        issue(home.settings)
        dropped = place(home.settings.inbox, "monitoring.docx", data)
        with Store.for_home(home.settings) as store:
            results += Ingest(home.settings, LIBRARY, store, clock=at_noon).ingest_path(dropped)
    assert [r.outcome for r in results] == ["accepted", "superseded"]
    archived = [p.read_bytes() for p in home.files("archive")]
    assert len(archived) == 2 and corrected in archived


# --- the command line -------------------------------------------------------------------------------


class TestCommandLine:
    def test_ingest_prints_one_json_object_per_file(self, home: Home, drop) -> None:
        person = Personalisation(partnership="Hull CDRP", member="Cllr Jane Smith",
                                 meeting_title="Board", meeting_place="Guildhall")
        paths = [drop("a.docx", word_return()), drop("b.txt", b"Minutes to follow."),
                 drop("c.docx", word_return(person, {**ANSWERS, "meeting_length": ""}))]
        status, out = home.cli("ingest", *map(str, paths), "--json")
        assert status == 0
        results = [json.loads(line) for line in out.splitlines()]
        assert [(r["path"], r["outcome"]) for r in results] == [
            (str(paths[0]), "accepted"), (str(paths[1]), "rejected"), (str(paths[2]), "rejected")]
        for r in results:
            assert {"path", "outcome", "form", "submission_id", "problems"} <= set(r)
        assert (results[0]["form"], results[0]["submission_id"]) == ("monitoring", 1)
        assert results[1]["problems"] == [] and "not a form" in results[1]["message"]
        problems = {p["field"]: p["message"] for p in results[2]["problems"]}
        assert set(problems) == {"meeting_length", "meeting_date"}
        assert all(isinstance(m, str) and m for m in problems.values())

    def test_a_failure_of_the_pipeline_itself_exits_with_status_1(self, home: Home, drop, backend,
                                                                     monkeypatch) -> None:
        if backend == "sqlite":
            home.settings.database.write_bytes(b"this is not a database" * 100)
        else:  # a server that is not there
            monkeypatch.setenv("PIPELINE_DATABASE_URL", "postgresql://clerk@/pipeline?host=/no/such/folder")
        path = drop("a.docx", word_return())
        status, _ = home.cli("ingest", str(path), "--json")
        assert status == 1
        assert "database" in home.errors
        assert path.exists()

