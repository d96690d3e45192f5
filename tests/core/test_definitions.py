"""The built-in form definitions say what the source papers say, and bad definitions are refused."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.core.definitions import (
    BUILTIN_FORMS,
    FieldType,
    FormDefinition,
    FormLibrary,
    Group,
    parse_definition,
)
from pipeline.core.errors import DefinitionError

BUILTIN_IDS = {"monitoring", "risk-checklist", "eia", "statement-of-intent", "stakeholder-survey"}
SNAKE = re.compile(r"[a-z][a-z0-9_]*")
# A1-style (column letters, row digits) or R1C1-style: Excel refuses these as defined names.
CELL_ADDRESS = re.compile(r"[a-z]{1,3}[0-9]+|r[0-9]*c?[0-9]*|c[0-9]*")

# Partnership Risk Assessment Checklist, Cambridgeshire Partnership Policy, Appendix 2.
CHECKLIST_QUESTIONS = {
    "1": "Is there a Partnership Agreement between the members of the Partnership?",
    "2": "Does the Partnership Agreement cover the following issues:",
    "3": "Which agency is the accountable body?",
    "4": "Does the Agreement clearly identify partners' responsibilities for:",
    "5": "Which agency is responsible for document retention?",
    "6": "Does the Agreement contain a dispute resolution procedure?",
    "7": "Are there mechanisms in the Agreement to vary partnership agreements?",
    "8": "Are there procedures for terminating the partnership?",
    "9": "Has the Partnership a sound approach to risk management?",
    "10": "Who is responsible for the Partnership's budget and maintaining financial records.",
    "11": "What are the potential costs to the Authority arising from participation in the "
    "Partnership?",
    "12": "Are arrangements in place for auditing accounts?",
    "13": "Is there a clear and equitable costs and benefits sharing agreement?",
    "14": "What arrangements are in place to provide dedicated staff to support the Partnership?",
    "15": "What line management arrangements have been put in place?",
    "16": "Will accommodation be required and if so which agency will be responsible for "
    "obtaining the property?",
    "17": "Is there clarity around the disposal of assets at the end of the Partnership agreement?",
    "18": "Who will buy and account for equipment and material purchased?",
    "19": "Will intellectual property rights be created?",
}
CHECKLIST_SUB_ITEMS = {
    "2a": "Purpose of the Partnership?",
    "2b": "Who the Partners are?",
    "2c": "Which Partner will fill which role?",
    "2d": "Information sharing agreements (MoPI compliant)?",
    "2e": "Objectives.",
    "4a": "Data sharing.",
    "4b": "FOI requests.",
    "4c": "Compliance with Equality legislation.",
}
SCREENING = [
    "screen_money",
    "screen_resources",
    "screen_targets",
    "screen_property_staff",
    "screen_contracts",
]
# Humberside Police Authority Pledge to partnerships.
PLEDGE = [
    "To influence the strategic direction of policing throughout the area served by Humberside "
    "Police",
    "To align community safety priorities, measures and targets",
    "To support performance monitoring and management of community safety activity",
    "To support the coordination of public scrutiny of policing",
    "To support and develop consistent, efficient and effective public consultation",
    "To support the development of emerging community safety activity across the Humber region "
    "e.g. PREVENT, barriers to delivery etc",
    "To help improve public confidence in policing",
    "To aid the identification and management of risks of threat or harm to communities",
    "To provide leverage to influence policing so that it better enables local community plans",
    "To influence policing policy at regional or national levels",
    "To facilitate 'round table discussions' on topics of concern, in need of development or "
    "sharing of best practice",
    "To support delivery of consistent coordinated public information on community safety issues",
]
AGREEMENT = [
    ("strongly_agree", "Strongly agree"),
    ("agree", "Agree"),
    ("neither", "Neither agree nor disagree"),
    ("disagree", "Disagree"),
    ("strongly_disagree", "Strongly disagree"),
]




def groups(definition: FormDefinition) -> list[Group]:
    return [item for s in definition.sections for item in s.items if isinstance(item, Group)]


def choice_pairs(definition: FormDefinition, field_id: str) -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in definition.field(field_id).choices]


# --- every built-in form ------------------------------------------------------------------------


class TestBuiltInForms:
    def test_every_built_in_form_loads(self, library: FormLibrary) -> None:
        assert set(library.ids()) == BUILTIN_IDS

    @pytest.mark.parametrize("form_id", sorted(BUILTIN_IDS))
    def test_form_is_marked_sourced_and_explained(self, library: FormLibrary, form_id: str) -> None:
        definition = library.get(form_id)
        assert definition.version == 1
        assert definition.marking == "NOT PROTECTIVELY MARKED"
        assert "Police Authority" in definition.source
        assert len(definition.instructions) > 80
        assert definition.keys, "a later return must be able to supersede an earlier one"

    @pytest.mark.parametrize("form_id", sorted(BUILTIN_IDS))
    def test_ids_are_snake_case_unique_and_not_cell_addresses(
        self, library: FormLibrary, form_id: str
    ) -> None:
        definition = library.get(form_id)
        ids = [f.id for f in definition.fields]
        assert len(ids) == len(set(ids))
        names = ids + [f"{f.id}.{c.id}" for f in definition.fields for c in f.columns]
        for name in names:
            for part in name.split("."):
                assert SNAKE.fullmatch(part), f"{form_id}: {part} is not snake_case"
            assert not CELL_ADDRESS.fullmatch(name), f"{form_id}: {name} is a cell address"

    @pytest.mark.parametrize("form_id", sorted(BUILTIN_IDS))
    def test_keys_name_required_fields(self, library: FormLibrary, form_id: str) -> None:
        definition = library.get(form_id)
        assert all(definition.field(key).required for key in definition.keys)


# --- the risk checklist --------------------------------------------------------------------------


class TestRiskChecklist:
    @pytest.fixture
    def checklist(self, library: FormLibrary) -> FormDefinition:
        return library.get("risk-checklist")

    def test_nineteen_questions_in_the_seed_wording_and_order(
        self, checklist: FormDefinition
    ) -> None:
        asked = {g.number: g.label for g in groups(checklist)}
        assert list(asked) == [str(n) for n in range(1, 20)]
        assert asked == CHECKLIST_QUESTIONS

    def test_the_four_sections_of_the_checklist(self, checklist: FormDefinition) -> None:
        titles = [s.title for s in checklist.sections]
        assert titles == [
            "About this assessment",
            "High-risk screening",
            "GOVERNANCE, COMMUNICATION AND INFORMATION",
            "FINANCE",
            "HUMAN RESOURCES",
            "ASSETS/PROPERTY",
        ]

    def test_sub_items_2a_to_2e_and_4a_to_4c(self, checklist: FormDefinition) -> None:
        sub_items = {f.number: f.label for f in checklist.fields if f.number[-1:].isalpha()}
        assert sub_items == CHECKLIST_SUB_ITEMS
        by_number = {g.number: [f.number for f in g.fields] for g in groups(checklist)}
        assert by_number["2"] == ["2a", "2b", "2c", "2d", "2e", "2"]
        assert by_number["4"] == ["4a", "4b", "4c", "4"]

    def test_yes_no_answers_allow_not_known_yet(self, checklist: FormDefinition) -> None:
        for field_id in ("q1_answer", "q2a", "q4c", "q16_answer", "q19_answer"):
            assert choice_pairs(checklist, field_id) == [
                ("yes", "Yes"),
                ("no", "No"),
                ("not_known", "Not known yet"),
            ]

    def test_which_who_what_questions_take_written_answers(
        self, checklist: FormDefinition
    ) -> None:
        for number in ("3", "5", "10", "11", "14", "15", "18"):
            answer = checklist.field(f"q{number}_answer")
            assert answer.type in (FieldType.TEXT, FieldType.LONG_TEXT)
        assert checklist.field("q16_agency").required_when == "accommodation_required"

    def test_every_question_has_an_optional_assessment_box(
        self, checklist: FormDefinition
    ) -> None:
        for group in groups(checklist):
            comment = group.fields[-1]
            assert comment.id == f"q{group.number}_comment"
            assert (comment.label, comment.type, comment.required) == (
                "Assessment",
                FieldType.LONG_TEXT,
                False,
            )
            assert comment.required_when is None

    def test_every_answer_is_required_for_a_high_risk_partnership(
        self, checklist: FormDefinition
    ) -> None:
        answers = [f for g in groups(checklist) for f in g.fields if not f.id.endswith("_comment")]
        assert len(answers) == 26  # 17 single answers, 2a-2e, 4a-4c, and 16's agency
        conditions = {f.id: f.required_when for f in answers}
        assert conditions.pop("q16_agency") == "accommodation_required"
        assert set(conditions.values()) == {"high_risk"}

    def test_notes_1_and_2(self, checklist: FormDefinition) -> None:
        notes = {g.number: g.note for g in groups(checklist) if g.note}
        assert notes["1"] == "(1) Legal advice taken where appropriate"
        for heading in ("INFORMATION, COMMUNICATION AND GOVERNANCE", "PERSONNEL", "PROPERTY"):
            assert heading in notes["3"]
        assert "Claw back of any grants due to: Failure of the project. Loss of Documentation." in (
            notes["3"]
        )
        assert set(notes) == {"1", "3"}

    def test_five_required_screening_questions(self, checklist: FormDefinition) -> None:
        screening = next(s for s in checklist.sections if s.id == "screening")
        assert [f.id for f in screening.fields()] == SCREENING
        assert all(f.type is FieldType.YES_NO and f.required for f in screening.fields())
        assert "every question" in screening.intro

    @pytest.mark.parametrize("yes_to", SCREENING)
    def test_a_single_yes_makes_the_partnership_high_risk(
        self, checklist: FormDefinition, yes_to: str
    ) -> None:
        answers = dict.fromkeys(SCREENING, "no") | {yes_to: "yes"}
        assert checklist.conditions["high_risk"].holds(answers)

    def test_all_no_is_not_high_risk(self, checklist: FormDefinition) -> None:
        assert not checklist.conditions["high_risk"].holds(dict.fromkeys(SCREENING, "no"))

    def test_a_later_checklist_for_the_partnership_supersedes(
        self, checklist: FormDefinition
    ) -> None:
        assert checklist.keys == ("partnership_name",)
        assert checklist.field("partnership_name").prefill == "partnership"
        assert checklist.field("assessed_by").prefill == "member"


# --- the other forms -----------------------------------------------------------------------------


def test_monitoring_has_five_tables_and_two_five_level_tick_ratings(library: FormLibrary) -> None:
    monitoring = library.get("monitoring")
    tables = [f for f in monitoring.fields if f.is_table]
    ratings = [f for f in monitoring.fields if f.type is FieldType.CHOICE]
    assert len(tables) == 5
    assert [r.id for r in ratings] == ["agenda_rating", "attendance_rating"]
    assert all(r.shown_as_ticks and len(r.choices) == 5 and r.required for r in ratings)
    assert monitoring.due is not None and monitoring.due.days == 7


def test_eia_has_b1_to_b10_with_high_medium_low_on_b8_to_b10(library: FormLibrary) -> None:
    eia = library.get("eia")
    numbers = {f.number for f in eia.fields if f.number} | {g.number for g in groups(eia)}
    assert numbers == {f"B{n}" for n in range(1, 11)} | {"B3(a)", "B3(b)"}
    assert [f.label for f in next(g for g in groups(eia) if g.number == "B3").fields] == [
        "Internally within the Authority/Constabulary",
        "Externally",
    ]
    for n in (8, 9, 10):
        impact = eia.field(f"b{n}_impact")
        assert choice_pairs(eia, impact.id) == [
            ("high", "HIGH"),
            ("medium", "MEDIUM"),
            ("low", "LOW"),
        ]
        assert impact.shown_as_ticks and impact.required
        assert impact.label.startswith("In relation to this duty, do you consider its potential")
    assert eia.field("b8_answer").help.startswith("Consider and comment on operational")
    assert eia.field("partnership").prefill == "partnership"
    assert not eia.field("partnership").required


def test_stakeholder_survey_rates_all_twelve_pledge_items(library: FormLibrary) -> None:
    survey = library.get("stakeholder-survey")
    pledges = [f for f in survey.fields if f.id.startswith("pledge_")]
    assert [f.id for f in pledges] == [f"pledge_{n:02d}" for n in range(1, 13)]
    assert [f.label for f in pledges] == PLEDGE
    for pledge in pledges:
        assert choice_pairs(survey, pledge.id) == AGREEMENT
        assert pledge.required and not pledge.shown_as_ticks
    year = survey.field("survey_year")
    assert (year.integer, year.minimum, year.maximum, year.required) == (True, 2000, 2100, True)
    assert survey.keys == ("partnership", "survey_year", "respondent")


def test_statement_of_intent_lists_the_partnership_types(library: FormLibrary) -> None:
    statement = library.get("statement-of-intent")
    assert [c.label for c in statement.field("partnership_type").choices] == [
        "Local Strategic Partnership (LSP)",
        "Crime and Disorder Reduction Partnership (CDRP)",
        "Children's Trust / Board",
        "Local Criminal Justice Board",
        "Local Authority led PREVENT group",
        "Business partnership",
        "Collaboration",
    ]
    assert statement.field("issues").is_table and statement.field("objectives").is_table
    assert statement.field("lead").label == "Lead officer or member"
    assert not statement.field("date_agreed").required


# --- bad definitions -----------------------------------------------------------------------------


def minimal() -> dict[str, Any]:
    return {
        "id": "tiny",
        "version": 1,
        "title": "Tiny form",
        "conditions": {"urgent": {"any": [{"field": "urgent", "equals": "yes"}]}},
        "sections": [
            {
                "id": "only",
                "title": "Only",
                "items": [
                    {"id": "urgent", "label": "Urgent?", "type": "yes_no"},
                    {"id": "notes", "label": "Notes", "type": "long_text"},
                ],
            }
        ],
    }


def with_item(item: dict[str, Any]) -> dict[str, Any]:
    raw = minimal()
    raw["sections"][0]["items"].append(item)
    return raw


def test_minimal_definition_is_accepted() -> None:
    assert [f.id for f in parse_definition(minimal()).fields] == ["urgent", "notes"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_item({"id": "size", "label": "Size", "type": "colour"}), "type must be one of"),
        (with_item({"id": "notes", "label": "Notes again"}), "field id 'notes' is used twice"),
        (with_item({"id": "pick", "label": "Pick", "type": "choice"}), "a choice needs choices"),
        (
            with_item({"id": "why", "label": "Why", "required_when": "never_defined"}),
            "unknown condition 'never_defined'",
        ),
        (with_item({"id": "Meeting Date", "label": "Date"}), "'Meeting Date' must be snake_case"),
        (
            with_item({"id": "rows", "label": "Rows", "type": "table"}),
            "a table needs columns",
        ),
    ],
    ids=[
        "unknown type",
        "duplicate id",
        "choice without choices",
        "unknown condition",
        "not snake case",
        "table without columns",
    ],
)
def test_a_bad_definition_is_refused_with_the_problem_named(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        parse_definition(raw)


def test_unquoted_yes_in_choices_is_refused() -> None:
    # YAML reads an unquoted `yes` as true: the loader must not store "True" as a choice value.
    raw = yaml.safe_load(
        "id: tiny\nversion: 1\ntitle: T\nsections:\n- id: s\n  title: S\n  items:\n"
        "  - {id: ok, label: 'OK?', type: yes_no, choices: [{value: yes, label: 'Yes'}]}\n"
    )
    with pytest.raises(DefinitionError, match="must be snake_case"):
        parse_definition(raw)


# --- the home's own forms, versions and the hash ------------------------------------------------


def write_form(folder: Path, name: str, raw: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_a_yaml_file_in_the_home_forms_folder_adds_a_form(tmp_path: Path) -> None:
    write_form(tmp_path / "forms", "tiny.yaml", minimal())
    library = FormLibrary.load(tmp_path / "forms")
    assert set(library.ids()) == BUILTIN_IDS | {"tiny"}
    assert library.get("tiny").title == "Tiny form"


def test_a_new_version_in_the_home_keeps_the_old_one_readable(tmp_path: Path) -> None:
    builtin = yaml.safe_load((BUILTIN_FORMS / "monitoring.yaml").read_text(encoding="utf-8"))
    newer = copy.deepcopy(builtin) | {"version": 2, "title": "Partnership Monitoring Form (2010)"}
    write_form(tmp_path / "forms", "monitoring.yaml", newer)
    library = FormLibrary.load(tmp_path / "forms")
    assert library.get("monitoring").title == "Partnership Monitoring Form (2010)"
    assert library.get("monitoring", 1).title == "Partnership Monitoring Form"


def test_history_folder_holds_older_versions(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    write_form(forms, "tiny.yaml", minimal() | {"version": 2})
    write_form(forms / "history", "tiny.v1.yaml", minimal() | {"title": "Old tiny"})
    library = FormLibrary.load(forms)
    assert [d.version for d in library.versions("tiny")] == [1, 2]
    assert library.get("tiny", 1).title == "Old tiny"


def test_the_hash_changes_when_a_label_changes() -> None:
    raw = minimal()
    before = parse_definition(raw).hash
    assert parse_definition(copy.deepcopy(raw)).hash == before
    raw["sections"][0]["items"][1]["label"] = "Notes for the committee"
    assert parse_definition(raw).hash != before


def test_a_returned_copy_finds_its_definition_by_hash(library: FormLibrary) -> None:
    checklist = library.get("risk-checklist")
    assert library.by_hash(checklist.hash) is checklist
