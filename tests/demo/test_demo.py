"""The README's demo writes papers that are true for its own sample data: every high-risk
partnership on its register is in the risk register paper, and the monitoring summary's
sentences say what its table says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.core.config import settings_for
from pipeline.core.definitions import FormLibrary
from pipeline.demo.run import run_demo
from pipeline.demo.samples import UNREGISTERED
from pipeline.schedule import register
from pipeline.store import Store
from tests.support.papers import table_rows, text_of


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = settings_for(tmp_path_factory.mktemp("demo") / "home")
    run_demo(settings, FormLibrary.load(), say=lambda line: None)
    return settings.home


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.slow
def test_every_high_risk_partnership_on_the_register_is_in_the_risk_register(demo: Path) -> None:
    with Store.open(demo / "pipeline.sqlite3") as store:
        on_register = register.partnerships(store)
    high_risk = [p.name for p in on_register if p.high_risk]
    assert len(high_risk) == 3
    docx = only(demo / "outbox" / "papers", "*/risk-register-*.docx")
    rows = {row[0]: row for row in table_rows(docx, "Partnership")}
    assert set(rows) == {p.name for p in on_register}
    for name in high_risk:
        assert rows[name][1].startswith("Yes"), rows[name]
    text = text_of(docx)
    assert "Every high-risk partnership’s checklist is complete" not in text  # one was not returned
    assert "Humberside Local Criminal Justice Board" in text


@pytest.mark.slow
def test_the_monitoring_summarys_sentences_and_table_agree(demo: Path) -> None:
    docx = only(demo / "outbox" / "papers", "*/monitoring-summary-*.docx")
    rows = table_rows(docx, "Partnership")
    total = dict(zip(("due", "received", "on_time", "late", "missing"), map(int, rows[-1][1:6]), strict=True))
    text = text_of(docx)
    said = re.search(
        r"lists (\d+) meetings? held .*?(\d+) returns? (?:was|were) received from (\d+) partnerships?.*?"
        r"(\d+) arrived on time and (\d+) late", text)
    assert said is not None, text
    sending = sum(1 for r in rows[:-1] if r[2] != "0")
    assert [int(n) for n in said.groups()] == [
        total["due"], total["received"], sending, total["on_time"], total["late"]
    ]
    missing = re.search(r"(\d+) returns? (?:is|are) missing: (.*)\.", text)
    assert missing is not None and int(missing.group(1)) == total["missing"] == 1
    assert "Hull PREVENT Partnership Group" in missing.group(2)
    assert "came from partnerships not on the register" in text and UNREGISTERED in text
