"""The forms name today's people: who they go back to and the source line come from the settings
(and the register's own contact for a partnership), never from the 2009 source documents."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.core.config import Config, FormsConfig, SmtpConfig
from pipeline.core.definitions import FormLibrary
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.schedule.contacts import as_sent, contact_for
from pipeline.schedule.register import Partnership, PartnershipType

LIBRARY = FormLibrary.load()


def docx_text(data: bytes) -> str:
    with zipfile.ZipFile(BytesIO(data)) as package:
        xml = package.read("word/document.xml").decode("utf-8")
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def test_definitions_name_no_one_from_the_sources() -> None:
    for definition in LIBRARY.latest():
        assert "Cheeseman" not in definition.return_to and "Victoria Wise" not in definition.return_to


def test_the_settings_name_the_contact_and_hide_the_source_line_by_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pipeline.toml").write_text(
        '[forms]\nreturn_name = "Sam Clerk"\nreturn_role = "Partnerships Officer"\n'
        'return_email = "sam.clerk@example.gov.uk"\n', encoding="utf-8")
    assert main(["generate", "monitoring", "--home", str(home), "--out", str(tmp_path / "out")]) == 0
    written = next((tmp_path / "out").glob("*.docx")).read_bytes()
    text = docx_text(written)
    assert (
        "returned within 7 days of the meeting. To return it, email it to Sam Clerk, Partnerships Officer "
        "(sam.clerk@example.gov.uk)." in text
    )
    assert "Cheeseman" not in text and "Victoria Wise" not in text
    assert "Source:" not in text and "(May 2009)" not in text


def test_the_source_line_shows_when_the_settings_ask() -> None:
    config = Config(forms=FormsConfig(show_source=True))
    data, _ = form_bytes(as_sent(LIBRARY.get("monitoring"), config), "docx", Personalisation())
    assert "Source: Humberside Police Authority" in docx_text(data)
    xlsx, _ = form_bytes(as_sent(LIBRARY.get("monitoring"), Config()), "xlsx", Personalisation())
    cells = [c.value for row in load_workbook(BytesIO(xlsx)).active.iter_rows() for c in row if c.value]
    wanted = "To return it, email it to the Partnerships Officer (partnerships@localhost)."
    assert any(wanted in str(v) for v in cells)


def test_a_partnership_with_its_own_contact_on_the_register_names_it() -> None:
    config = Config(smtp=SmtpConfig(reply_to="team@example.gov.uk"))
    assert contact_for(config).sentence() == (
        "To return it, email it to the Partnerships Officer (team@example.gov.uk).")
    own = Partnership(1, "Hull CSP", PartnershipType.CDRP, lead_officer="Ann Lead",
                      lead_officer_email="ann.lead@example.gov.uk")
    assert contact_for(config, own).sentence() == (
        "To return it, email it to Ann Lead (ann.lead@example.gov.uk).")


def test_a_form_sent_with_a_contact_line_keeps_the_definitions_identity() -> None:
    definition = LIBRARY.get("risk-checklist")
    _, identity = form_bytes(as_sent(definition, Config()), "docx", Personalisation(partnership="Hull CSP"))
    assert (identity.form_id, identity.version, identity.hash) == (definition.id, definition.version,
                                                                  definition.hash)
