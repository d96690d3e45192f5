"""Generated Word forms, read back independently (zipfile + lxml) and checked against the
definitions: control kinds and tags, protection, marking, identity, personalisation."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from pipeline.cli import main
from pipeline.core.definitions import FieldType, FormDefinition, FormLibrary
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes
from tests.support.filling import resave_in_libreoffice, soffice
from tests.support.zips import read_parts

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
NS = {"w": W, "w14": W14, "w15": W15, "vt": VT,
      "cp": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"}
LIBRARY = FormLibrary.load()
DEFINITIONS = LIBRARY.latest()
PERSON = Personalisation(partnership="Hull CDRP", member="Cllr Jane Smith",
                         meeting_title="Hull CDRP Strategic Board", meeting_date=date(2026, 11, 2))


def custom_properties(data: bytes) -> dict[str, str]:
    root = etree.fromstring(read_parts(data)["docProps/custom.xml"])
    return {p.get("name"): p[0].text for p in root.findall("cp:property", NS)}


def controls(data: bytes) -> dict[str, str]:
    """tag -> kind of every leaf control, read straight from document.xml."""
    root = etree.fromstring(read_parts(data)["word/document.xml"])
    found = {}
    for sdt in root.iter(f"{{{W}}}sdt"):
        pr = sdt.find("w:sdtPr", NS)
        tag = pr.find("w:tag", NS)
        if tag is None:
            continue
        kinds = [k for k, path in (("text", "w:text"), ("date", "w:date"),
                                   ("dropdown", "w:dropDownList"), ("checkbox", "w14:checkbox"),
                                   ("rows", "w15:repeatingSection")) if pr.find(path, NS) is not None]
        found.setdefault(tag.get(f"{{{W}}}val"), kinds[0] if kinds else "rich text")
    return found


def expected_controls(definition) -> dict[str, str]:
    # A long text is an inline rich-text control (no w:text): its line breaks survive a
    # LibreOffice re-save, a plain-text control's do not.
    kind = {FieldType.TEXT: "text", FieldType.LONG_TEXT: "rich text", FieldType.NUMBER: "text",
            FieldType.DATE: "date", FieldType.CHOICE: "dropdown", FieldType.YES_NO: "dropdown"}
    expected = {}
    for f in definition.fields:
        if f.is_table:
            expected[f.id] = "rows"
            expected.update({f"{f.id}.{c.id}": kind[c.type] for c in f.columns})
        elif f.shown_as_ticks:
            expected.update({f"{f.id}.{c.value}": "checkbox" for c in f.choices})
        else:
            expected[f.id] = kind[f.type]
    return expected


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.id)
def test_every_field_has_a_control_of_the_right_kind_tagged_with_its_id(definition):
    data, _ = form_bytes(definition, "docx", Personalisation())
    assert controls(data) == expected_controls(definition)


def drop_down_fields(definition: FormDefinition) -> list:
    """The fields the Word form offers as a drop-down list (choices, not ticks, not in a table)."""
    return [f for f in definition.fields if f.choices and not f.is_table and not f.shown_as_ticks]


WITH_DROP_DOWNS = [d for d in DEFINITIONS if drop_down_fields(d)]


def test_the_forms_answered_from_lists_have_drop_downs():
    """So the test below runs on them (the checklist's yes/no answers, the survey's agreement scale)."""
    assert {"risk-checklist", "stakeholder-survey"} <= {d.id for d in WITH_DROP_DOWNS}


@pytest.mark.parametrize("definition", WITH_DROP_DOWNS, ids=lambda d: d.id)
def test_drop_downs_offer_exactly_the_definitions_choices(definition):
    data, _ = form_bytes(definition, "docx", Personalisation())
    root = etree.fromstring(read_parts(data)["word/document.xml"])
    lists = {s.find("w:sdtPr/w:tag", NS).get(f"{{{W}}}val"): s for s in root.iter(f"{{{W}}}sdt")
             if s.find("w:sdtPr/w:dropDownList", NS) is not None}
    fields = drop_down_fields(definition)
    assert sorted(lists) == sorted(f.id for f in fields)  # one drop-down per such field, no other
    for f in fields:
        items = [(i.get(f"{{{W}}}value"), i.get(f"{{{W}}}displayText"))
                 for i in lists[f.id].iterfind(".//w:listItem", NS)]
        assert items == [(c.value, c.label) for c in f.choices], f.id


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.id)
def test_document_is_protected_so_only_the_inputs_can_be_filled(definition):
    data, _ = form_bytes(definition, "docx", Personalisation())
    settings = etree.fromstring(read_parts(data)["word/settings.xml"])
    protection = settings.find("w:documentProtection", NS)
    assert protection is not None
    assert protection.get(f"{{{W}}}edit") == "forms"
    assert protection.get(f"{{{W}}}enforcement") == "1"


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.id)
def test_marking_is_in_header_and_footer(definition):
    data, _ = form_bytes(definition, "docx", Personalisation())
    files = read_parts(data)
    for kind in ("header", "footer"):
        texts = ["".join(etree.fromstring(content).itertext())
                 for name, content in files.items() if name.startswith(f"word/{kind}")]
        assert any(definition.marking in text for text in texts), kind


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.id)
def test_identity_is_in_custom_properties(definition):
    data, identity = form_bytes(definition, "docx", PERSON)
    props = custom_properties(data)
    assert props["PipelineFormId"] == definition.id
    assert props["PipelineFormVersion"] == str(definition.version)
    assert props["PipelineFormHash"] == definition.hash
    assert props["PipelineToken"] == identity.token and len(identity.token) == 16
    assert props["PipelinePartnership"] == "Hull CDRP"


def test_blank_copy_has_no_token_and_each_personal_copy_its_own():
    definition = LIBRARY.get("monitoring")
    blank, _ = form_bytes(definition, "docx", Personalisation())
    first, _ = form_bytes(definition, "docx", PERSON)
    second, _ = form_bytes(definition, "docx", PERSON)
    assert "PipelineToken" not in custom_properties(blank)
    assert custom_properties(first)["PipelineToken"] != custom_properties(second)["PipelineToken"]


def test_personalised_copy_is_prefilled_with_what_we_know():
    data, _ = form_bytes(LIBRARY.get("monitoring"), "docx", PERSON)
    root = etree.fromstring(read_parts(data)["word/document.xml"])
    shown = {}
    for sdt in root.iter(f"{{{W}}}sdt"):
        tag = sdt.find("w:sdtPr/w:tag", NS)
        if tag is not None:
            shown[tag.get(f"{{{W}}}val")] = ("".join(sdt.find("w:sdtContent", NS).itertext()),
                                             sdt.find("w:sdtPr/w:showingPlcHdr", NS) is None)
    assert shown["partnership"] == ("Hull CDRP", True)
    assert shown["member_attending"] == ("Cllr Jane Smith", True)
    assert shown["meeting_title"] == ("Hull CDRP Strategic Board", True)
    assert shown["meeting_date"] == ("02/11/2026", True)
    full_date = next(s for s in root.iter(f"{{{W}}}date"))
    assert full_date.get(f"{{{W}}}fullDate") == "2026-11-02T00:00:00Z"
    assert shown["meeting_length"][1] is False  # still showing its placeholder


def test_user_text_is_escaped_not_broken():
    person = Personalisation(partnership="Smith & <Sons> \"Ltd\"", member="O'Brien")
    data, _ = form_bytes(LIBRARY.get("monitoring"), "docx", person)
    text = "".join(etree.fromstring(read_parts(data)["word/document.xml"]).itertext())
    assert "Smith & <Sons> \"Ltd\"" in text


def test_table_rows_sit_in_a_repeating_section_a_person_can_add_to():
    definition = LIBRARY.get("monitoring")
    data, _ = form_bytes(definition, "docx", Personalisation())
    root = etree.fromstring(read_parts(data)["word/document.xml"])
    for f in (f for f in definition.fields if f.is_table):
        section = next(s for s in root.iter(f"{{{W}}}sdt")
                       if s.find("w:sdtPr/w:tag", NS) is not None
                       and s.find("w:sdtPr/w:tag", NS).get(f"{{{W}}}val") == f.id)
        assert section.getparent().tag == f"{{{W}}}tbl"
        items = section.findall("w:sdtContent/w:sdt", NS)
        assert len(items) == f.rows
        assert all(i.find("w:sdtPr/w15:repeatingSectionItem", NS) is not None for i in items)
        assert all(i.find("w:sdtContent/w:tr", NS) is not None for i in items)


def test_ratings_offer_five_tick_boxes_each():
    data, _ = form_bytes(LIBRARY.get("monitoring"), "docx", Personalisation())
    found = controls(data)
    for rating in ("agenda_rating", "attendance_rating"):
        boxes = [tag for tag, kind in found.items() if tag.startswith(rating + ".")]
        assert len(boxes) == 5 and all(found[b] == "checkbox" for b in boxes)


def test_generate_command_writes_file_and_prints_path(tmp_path, capsys):
    status = main(["generate", "monitoring", "--format", "docx", "--partnership", "Hull CDRP",
                   "--meeting-date", "2026-11-02", "--out", str(tmp_path)])
    printed = capsys.readouterr().out.strip()
    assert status == 0
    assert Path(printed).exists() and Path(printed).parent == tmp_path
    assert custom_properties(Path(printed).read_bytes())["PipelineFormId"] == "monitoring"


def test_generate_never_overwrites(tmp_path, capsys):
    for _ in range(2):
        main(["generate", "eia", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eia-blank-2.docx", "eia-blank.docx"]


@pytest.mark.parametrize("argv", [
    ["generate", "no-such-form"],
    ["generate", "monitoring", "--format", "odt"],
    ["generate", "monitoring", "--meeting-date", "2 Nov"],
    ["forms", "show", "no-such-form", "--json"],
])
def test_bad_arguments_one_line_on_stderr_exit_2_nothing_written(argv, tmp_path, capsys):
    status = main([*argv, "--home", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_forms_show_json_has_the_public_shape(capsys):
    assert main(["forms", "show", "monitoring", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {"id", "version", "title", "fields"} <= shown.keys()
    by_id = {f["id"]: f for f in shown["fields"]}
    assert by_id["agenda_rating"]["choices"][0] == {
        "value": "wholly_relevant", "label": "Agenda wholly relevant to PA partnership objectives"}
    assert [c["id"] for c in by_id["challenges_by_pa"]["columns"]] == [
        "challenge", "action", "by_whom", "by_when"]


def commands_of(parser: argparse.ArgumentParser, path: str = "pipeline"):
    """(`pipeline NAME ...`, its line in the parent's list, its own parser) for every command, at
    every level (`pipeline mail fetch` too)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, command in action.choices.items():
                yield f"{path} {name}", listed.get(name), command
                yield from commands_of(command, f"{path} {name}")


def test_every_command_has_help_text():
    from pipeline.cli import build_parser

    found = list(commands_of(build_parser()))
    assert len(found) > 10 and "pipeline mail fetch" in [name for name, _, _ in found]
    for name, listed, command in found:
        assert listed, f"'{name}' has no line in its parent's --help"
        own = command.format_help()
        description = (command.description or "").strip()
        assert description, f"'{name} --help' does not say what the command does"
        assert description in " ".join(own.split()), f"'{name} --help' does not show its description"


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_every_form_opens_in_libreoffice_and_converts_to_pdf(tmp_path):
    from pypdf import PdfReader

    for definition in DEFINITIONS:
        source = tmp_path / f"{definition.id}.docx"
        source.write_bytes(form_bytes(definition, "docx", PERSON)[0])
        pdf = resave_in_libreoffice(source, tmp_path / "pdf", "pdf:writer_pdf_Export")
        text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
        assert definition.title in text
        assert definition.marking in text
