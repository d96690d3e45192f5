"""The benchmarks: the one command runs (tiny sizes) and writes well-formed results, and what
they build and check is right. No timings are asserted: these are not timed tests.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bench.bulk import build, stored_values
from bench.measure import Result, table
from bench.returns import answers, docx_return, same_answers
from pipeline.core.definitions import FormLibrary
from pipeline.generate.word import _master, control_values
from pipeline.ingest.readers import read_form
from pipeline.ingest.steps import record_key
from pipeline.ooxml.wordml import fill_controls
from pipeline.ooxml.xml import parse_xml, to_bytes
from pipeline.store import NewSubmission, Store

REPO = Path(__file__).resolve().parent.parent
LIBRARY = FormLibrary.load()
MONITORING = LIBRARY.get("monitoring")
SCHEMA = {"name", "baseline", "median_s", "spread_s", "baseline_median_s", "ratio", "target", "met",
          "per_second", "correct", "notes"}


@pytest.mark.slow
def test_the_quick_run_measures_everything_and_writes_well_formed_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out),
                           "--work", str(tmp_path / "work")],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report["machine"]) >= {"cpu_count", "python", "platform"}
    assert datetime.strptime(report["run_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)
    names = [row["name"] for row in report["results"]]
    for expected in ("parse-docx", "ingest-docx", "ingest-xlsx", "generate-docx-10", "paper-50",
                     "paper-200", "paper-200-memory", "watch-burst-6-events", "watch-burst-6-polling",
                     "inbox-wait-alone-events", "inbox-wait-alone-polling", "workers-sqlite-1"):
        assert expected in names
    for row in report["results"]:
        assert set(row) >= SCHEMA, row["name"]
        assert row["correct"] is True, (row["name"], row["notes"])
        assert row["met"] in (True, False, None)
        if row["median_s"] is not None:
            low, high = row["spread_s"]
            assert 0 < low <= row["median_s"] <= high
        if row["ratio"] is not None:
            assert row["ratio"] > 0
    assert "parse-docx" in done.stdout and "Written to" in done.stdout


def test_a_wrong_answer_is_noticed_and_printed_as_wrong() -> None:
    typed = answers(4)
    read = read_form(docx_return(MONITORING, 4).data, "return.docx", LIBRARY).raw
    assert same_answers(typed, read)
    changed = {**read, "pa_issues": [{"issue": "Something else", "decision": ""}]}
    assert not same_answers(typed, changed)
    assert not same_answers(typed, {**read, "agenda_rating": ["no_value", "wholly_relevant"]})
    wrong = Result(name="x", baseline="-", median_s=0.5, spread_s=(0.4, 0.6), baseline_median_s=1.0,
                   ratio=0.5, target="< 1.0x", met=True, per_second=2.0, correct=False)
    assert "WRONG" in table([wrong], {})


def test_the_bulk_built_returns_are_the_rows_the_store_writes(tmp_path: Path) -> None:
    expected = build(tmp_path / "bulk.sqlite3", MONITORING, 45)
    with Store.open(tmp_path / "store.sqlite3") as store:
        for index in range(expected.meetings):
            values = stored_values(index)
            store.add_submission(NewSubmission(
                form_id="monitoring", form_version=MONITORING.version, form_hash=MONITORING.hash,
                token=None, partnership=values["partnership"], record_key=record_key(MONITORING, values),
                sha256=f"{index:064x}", sender=None, received_at=datetime(2026, 3, 1, tzinfo=UTC),
                late=False, due_date=date(2026, 3, 1), marking=MONITORING.marking, values=values),
                intake_id=None)
    assert _current_answers(tmp_path / "bulk.sqlite3") == _current_answers(tmp_path / "store.sqlite3")
    assert expected.received == 45 and expected.meetings == 42  # returns 0, 20 and 40 were corrected
    assert sum(expected.agenda.values()) == expected.meetings


def _current_answers(database: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT s.record_key, a.field_id, a.row_index, a.column_id, a.item, a.value"
                          " FROM answers a JOIN submissions s ON s.id = a.submission_id"
                          " WHERE s.status = 'current' ORDER BY 1, 2, 3, 4, 5").fetchall()
    found: dict[str, list[tuple[object, ...]]] = {}
    for key, *answer in rows:
        found.setdefault(key, []).append(tuple(answer))
    return found


# The personalisation fast path the generation benchmark times (pipeline/ooxml/worddoc.py) must
# write exactly the document that filling the controls one by one writes.

TEXTS = ["Hull CDRP", 'Smith & <Sons> "Ltd" O\'Brien ]]>', "Ünïcödé — dash 😀", "a  b",
         "\ue0000\ue001", "1801-01-01", " padded ", "two\nlines", "tab\there", ""]


@pytest.mark.parametrize("definition", LIBRARY.latest(), ids=lambda d: d.id)
def test_a_personal_copy_is_the_document_filling_each_control_gives(definition) -> None:
    master = _master(definition)
    prefilled = [f for f in definition.fields if f.prefill]
    for number, text in enumerate(TEXTS):
        day = date(2026, 11, 2) if number % 2 else date(1999, 1, 31)
        raw = {f.id: (day if f.type.value == "date" else text) for f in prefilled[: 1 + number % 5]}
        values = control_values(definition, raw)
        root = parse_xml(master.document, "word/document.xml")
        fill_controls(root, values)
        assert master.filled(values) == to_bytes(root), (definition.id, text)
