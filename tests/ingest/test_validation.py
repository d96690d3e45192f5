"""Checking a returned form's raw values against its definition (pipeline.ingest.validation)."""

from __future__ import annotations

import time
from datetime import date

import pytest
import yaml

from pipeline.core.definitions import FormDefinition, FormLibrary, parse_definition
from pipeline.ingest.validation import Checked, Problem, check, describe, parse_date, parse_number

RECEIVED = date(2026, 3, 20)

SAMPLE = """
id: sample
version: 1
title: Sample Form
sections:
  - id: main
    title: Main
    items:
      - {id: name, label: Your name, type: text, required: true}
      - {id: notes, label: Notes, type: long_text}
      - {id: short, label: Short answer, type: text, max_length: 10}
      - {id: met_on, label: Date of meeting, type: date}
      - {id: cost, label: Cost, type: number}
      - {id: year, label: Survey year, type: number, integer: true, min: 2000, max: 2100}
      - {id: attended, label: "Did you attend?", type: yes_no}
      - id: status
        label: Status
        type: choice
        choices:
          - {value: "yes", label: "Yes"}
          - {value: "no", label: "No"}
          - {value: not_known, label: Not known yet}
      - id: impact
        label: Potential impact
        type: choice
        display: ticks
        required: true
        choices: [{value: high, label: HIGH}, {value: medium, label: MEDIUM}, {value: low, label: LOW}]
      - id: topics
        label: Topics discussed
        type: multi_choice
        choices: [Crime, Budget, Staffing]
      - id: actions
        label: Actions agreed
        type: table
        columns:
          - {id: action, label: Action to be Taken, type: long_text, required: true}
          - {id: by_whom, label: By Whom, type: text, required: true}
          - {id: by_when, label: When, type: date}
          - {id: cost, label: Cost, type: number}
"""

CHECKLIST = """
id: mini-checklist
version: 1
title: Mini Checklist
conditions:
  high_risk:
    label: the partnership is high-risk (Yes to at least one screening question)
    any:
      - {field: screen_money, equals: "yes"}
      - {field: screen_contracts, equals: "yes"}
  accommodation_required:
    any:
      - {field: q16_answer, equals: "yes"}
sections:
  - id: screening
    title: Screening
    items:
      - {id: screen_money, label: "Does the partnership involve money?", type: yes_no, required: true}
      - {id: screen_contracts, label: "Does the partnership involve contracts?", type: yes_no,
         required: true}
  - id: questions
    title: Questions
    items:
      - group: "1"
        label: Is there a Partnership Agreement?
        fields:
          - {id: q1_answer, number: "1", label: Answer, type: yes_no, required_when: high_risk}
          - {id: q1_comment, number: "1", label: Assessment, type: long_text}
      - {id: q3_answer, number: "3", label: "Which agency is the accountable body?", type: text,
         required_when: high_risk}
      - {id: q16_answer, number: "16", label: "Will accommodation be required?", type: yes_no}
      - {id: q16_agency, number: "16", label: "Which agency will obtain the property?", type: text,
         required_when: accommodation_required}
"""

MEETING = """
id: mini-monitoring
version: 1
title: Mini Monitoring Form
due: {after: meeting_date, days: 7}
sections:
  - id: meeting
    title: The meeting
    items:
      - {id: meeting_date, label: Date of meeting, type: date, required: true}
"""


def definition(text: str) -> FormDefinition:
    return parse_definition(yaml.safe_load(text))


@pytest.fixture(scope="module")
def sample() -> FormDefinition:
    return definition(SAMPLE)


@pytest.fixture(scope="module")
def checklist() -> FormDefinition:
    return definition(CHECKLIST)


@pytest.fixture(scope="module")
def meeting() -> FormDefinition:
    return definition(MEETING)


@pytest.fixture(scope="module")
def monitoring() -> FormDefinition:
    return FormLibrary.load().get("monitoring")


def complete(**changes: object) -> dict[str, object]:
    """A sample return with every required answer given, then `changes`."""
    raw: dict[str, object] = {"name": "Pat Smith", "impact": ["high"]}
    raw.update(changes)
    return raw


def run(form: FormDefinition, **changes: object) -> Checked:
    return check(form, complete(**changes), received=RECEIVED)


def only_problem(checked: Checked) -> Problem:
    assert len(checked.problems) == 1, checked.problems
    return checked.problems[0]


class TestWholeForm:
    def test_a_complete_return_is_accepted_with_every_field_present(self, sample):
        checked = run(sample)
        assert checked.ok
        assert set(checked.values) == {f.id for f in sample.fields}
        assert checked.values["name"] == "Pat Smith"
        assert checked.values["impact"] == "high"
        assert checked.values["notes"] is None
        assert checked.values["topics"] == []
        assert checked.values["actions"] == []

    def test_three_mistakes_give_three_problems_in_form_order(self, sample):
        raw = {
            "name": "",
            "met_on": "31/02/2026",
            "impact": ["high", "low"],
        }
        checked = check(sample, raw, received=RECEIVED)
        assert not checked.ok
        assert [p.label for p in checked.problems] == [
            "Your name",
            "Date of meeting",
            "Potential impact",
        ]
        assert [p.field_id for p in checked.problems] == ["name", "met_on", "impact"]

    def test_unknown_keys_and_odd_shapes_never_crash(self, sample):
        checked = run(
            sample,
            not_a_field="whatever",
            actions="not a table",
            topics="Budget",
            cost=["12"],
        )
        assert checked.ok
        assert "not_a_field" not in checked.values
        assert checked.values["actions"] == []
        assert checked.values["topics"] == ["budget"]
        assert checked.values["cost"] == 12

    def test_an_absent_required_field_is_a_problem(self, sample):
        checked = check(sample, {"impact": ["high"]}, received=RECEIVED)
        problem = only_problem(checked)
        assert problem.label == "Your name"
        assert problem.message == "Please fill this in."


class TestText:
    def test_text_is_stripped_and_keeps_inner_newlines(self, sample):
        checked = run(sample, notes="  First line\nSecond line\n  ")
        assert checked.values["notes"] == "First line\nSecond line"

    def test_control_characters_are_removed_but_tabs_and_newlines_kept(self, sample):
        checked = run(sample, notes="a\x00b\x07c\td\r\ne\x1bf")
        assert checked.values["notes"] == "abc\td\nef"

    def test_word_placeholder_text_counts_as_empty(self, sample):
        checked = run(sample, name="Click or tap here to enter text.")
        assert only_problem(checked).label == "Your name"

    def test_a_100000_character_answer_is_rejected_with_its_length(self, sample):
        checked = run(sample, notes="x" * 100_000)
        problem = only_problem(checked)
        assert problem.label == "Notes"
        assert problem.message == (
            "This answer is 100,000 characters long; the most this box takes is 10,000. Please shorten it."
        )
        assert checked.values["notes"] is None

    def test_the_definitions_max_length_is_used(self, sample):
        assert run(sample, short="0123456789").ok
        problem = only_problem(run(sample, short="0123456789A"))
        assert "11 characters long; the most this box takes is 10." in problem.message

    def test_huge_answers_in_every_kind_of_box_are_handled_quickly(self, sample):
        huge = "1/" * 2_000_000
        started = time.monotonic()
        checked = run(sample, notes=huge, met_on=huge, cost=huge, status=huge, name=huge)
        assert time.monotonic() - started < 5
        assert len(checked.problems) == 5
        notes = next(p for p in checked.problems if p.field_id == "notes")
        assert "over 1,000,000 characters long" in notes.message


class TestDates:
    @pytest.mark.parametrize(
        "text",
        [
            "2026-03-14",
            "14/03/2026",
            "14/3/2026",
            "14/03/26",
            "14 March 2026",
            "14 Mar 2026",
            "Friday, 14 March 2026",
            "Saturday 14th March 2026",
            "March 14, 2026",
            "14.3.2026",
            "14-3-2026",
            "2026-03-14T00:00:00Z",
            "  14/03/2026 ",
        ],
    )
    def test_accepted_formats(self, sample, text):
        checked = run(sample, met_on=text)
        assert checked.ok, checked.problems
        assert checked.values["met_on"] == date(2026, 3, 14)

    def test_day_comes_first(self):
        assert parse_date("03/04/2026") == date(2026, 4, 3)
        assert parse_date("3/4/26") == date(2026, 4, 3)

    def test_two_digit_years_are_this_century(self):
        assert parse_date("01/01/99") == date(2099, 1, 1)

    def test_impossible_date_is_a_problem(self, sample):
        problem = only_problem(run(sample, met_on="31/02/2026"))
        assert problem.label == "Date of meeting"
        assert problem.message == (
            "There is no such date as 31 February 2026. "
            "Please check the day and the month, for example 14/03/2026."
        )

    def test_month_first_date_is_explained(self, sample):
        problem = only_problem(run(sample, met_on="03/14/2026"))
        assert "There is no month 14" in problem.message
        assert "the day comes first, then the month" in problem.message

    @pytest.mark.parametrize("text", ["next Tuesday", "14 Marchember 2026", "2026", "14/03"])
    def test_words_that_are_not_a_date_are_a_problem(self, sample, text):
        problem = only_problem(run(sample, met_on=text))
        assert problem.message.startswith("This date could not be understood")
        assert problem.message.endswith("Please enter it as a date, for example 14/03/2026.")
        assert run(sample, met_on=text).values["met_on"] is None

    def test_empty_optional_date_is_none(self, sample):
        checked = run(sample, met_on="  ")
        assert checked.ok
        assert checked.values["met_on"] is None


class TestNumbers:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("12", 12),
            ("12.5", 12.5),
            ("1,200", 1200),
            (" 3 ", 3),
            ("£1,200.50", 1200.5),
            ("12.0", 12),
            ("-4", -4),
        ],
    )
    def test_accepted_formats(self, sample, text, expected):
        checked = run(sample, cost=text)
        assert checked.ok, checked.problems
        assert checked.values["cost"] == expected
        assert type(checked.values["cost"]) is type(expected)

    @pytest.mark.parametrize("text", ["twelve", "1,20", "12.5.1", "1e5"])
    def test_not_a_number(self, sample, text):
        problem = only_problem(run(sample, cost=text))
        assert problem.label == "Cost"
        assert "could not be understood" in problem.message
        assert "for example 12 or 1,200.50" in problem.message

    def test_integer_field_rejects_a_fraction(self, sample):
        problem = only_problem(run(sample, year="2010.5"))
        assert problem.label == "Survey year"
        assert problem.message.startswith("Please enter a whole number")

    @pytest.mark.parametrize("text", ["1999", "2101"])
    def test_minimum_and_maximum(self, sample, text):
        problem = only_problem(run(sample, year=text))
        assert problem.message == f"Please enter a number from 2000 to 2100; you entered “{text}”."

    def test_bounds_are_inclusive(self, sample):
        assert run(sample, year="2000").values["year"] == 2000
        assert run(sample, year="2100").values["year"] == 2100

    def test_only_a_minimum(self):
        with pytest.raises(ValueError, match="no smaller than 0"):
            parse_number("-1", minimum=0)


class TestDropdowns:
    @pytest.mark.parametrize("text", ["not_known", "Not known yet", "  not   KNOWN yet "])
    def test_by_value_or_label(self, sample, text):
        assert run(sample, status=text).values["status"] == "not_known"

    @pytest.mark.parametrize(("text", "expected"), [("y", "yes"), ("N", "no"), ("Yes", "yes")])
    def test_yes_no_accepts_y_and_n(self, sample, text, expected):
        assert run(sample, attended=text).values["attended"] == expected

    def test_y_is_not_accepted_for_an_ordinary_choice(self, sample):
        assert not run(sample, status="y").ok

    def test_bad_value_lists_the_allowed_labels(self, sample):
        problem = only_problem(run(sample, status="Maybe"))
        assert problem.label == "Status"
        assert problem.message == (
            "“Maybe” is not one of the choices. Please choose one of: Yes, No, Not known yet."
        )

    def test_words_placeholder_counts_as_empty(self, sample):
        checked = run(sample, status="Choose an item.")
        assert checked.ok
        assert checked.values["status"] is None


class TestTicks:
    def test_none_ticked_on_a_required_question(self, sample):
        problem = only_problem(run(sample, impact=[]))
        assert problem.label == "Potential impact"
        assert problem.message == "Please tick one box."

    def test_one_ticked(self, sample):
        assert run(sample, impact=["medium"]).values["impact"] == "medium"

    def test_two_ticked(self, sample):
        checked = run(sample, impact=["low", "high"])
        assert only_problem(checked).message == "Please tick only one box: you ticked 2 (HIGH, LOW)."
        assert checked.values["impact"] is None

    def test_a_single_value_or_label_is_accepted(self, sample):
        assert run(sample, impact="medium").values["impact"] == "medium"
        assert run(sample, impact="High").values["impact"] == "high"

    def test_multi_choice(self, sample):
        checked = run(sample, topics=["staffing", "Crime", "crime"])
        assert checked.values["topics"] == ["crime", "staffing"]

    def test_multi_choice_unknown_value(self, sample):
        problem = only_problem(run(sample, topics=["crime", "weather"]))
        assert problem.label == "Topics discussed"
        assert "“weather”, is not one of the choices" in problem.message
        assert "Crime, Budget, Staffing" in problem.message

    def test_required_multi_choice_needs_one_tick(self):
        form = definition(
            SAMPLE.replace(
                "label: Topics discussed\n        type: multi_choice",
                "label: Topics discussed\n        type: multi_choice\n        required: true",
            )
        )
        problem = only_problem(run(form, topics=[]))
        assert problem.message == "Please tick at least one box."


class TestTables:
    def test_blank_rows_are_dropped_and_cells_typed(self, sample):
        rows = [
            {"action": "", "by_whom": "  ", "by_when": None, "cost": ""},
            {
                "action": "Write to the council",
                "by_whom": "Clerk",
                "by_when": "3/4/26",
                "cost": "£1,200",
                "unknown_column": "ignored",
            },
            {},
        ]
        checked = run(sample, actions=rows)
        assert checked.ok, checked.problems
        assert checked.values["actions"] == [
            {"action": "Write to the council", "by_whom": "Clerk", "by_when": date(2026, 4, 3), "cost": 1200},
        ]

    def test_row_missing_a_required_column_names_the_row(self, sample):
        rows = [
            {"action": "Write to the council", "by_whom": "Clerk"},
            {"action": "Book a room", "by_whom": ""},
        ]
        problem = only_problem(run(sample, actions=rows))
        assert problem.label == "Actions agreed, row 2: By Whom"
        assert problem.message == (
            "Row 2 is filled in but has no “By Whom”. Please fill it in or clear the row."
        )

    def test_row_numbers_count_blank_rows_as_the_person_saw_them(self, sample):
        rows = [{}, {"by_whom": "Clerk"}]
        problem = only_problem(run(sample, actions=rows))
        assert problem.label == "Actions agreed, row 2: Action to be Taken"

    def test_bad_date_in_a_table_cell(self, sample):
        rows = [{"action": "Book a room", "by_whom": "Clerk", "by_when": "31/02/2026"}]
        problem = only_problem(run(sample, actions=rows))
        assert problem.label == "Actions agreed, row 1: When"
        assert "There is no such date as 31 February 2026" in problem.message

    def test_required_table_needs_a_row(self):
        form = definition(
            SAMPLE.replace(
                "label: Actions agreed\n        type: table",
                "label: Actions agreed\n        type: table\n        required: true",
            )
        )
        problem = only_problem(run(form, actions=[{"action": " "}]))
        assert problem.message == "Please fill in at least one row."


class TestRequiredWhen:
    ALL_NO = {"screen_money": "no", "screen_contracts": "No"}

    def test_all_no_leaves_the_checklist_optional(self, checklist):
        checked = check(checklist, dict(self.ALL_NO), received=RECEIVED)
        assert checked.ok, checked.problems

    def test_one_yes_makes_every_question_required(self, checklist):
        raw = {**self.ALL_NO, "screen_contracts": "Yes"}
        checked = check(checklist, raw, received=RECEIVED)
        assert [p.label for p in checked.problems] == [
            "Question 1: Is there a Partnership Agreement? (Answer)",
            "Question 3: Which agency is the accountable body?",
        ]
        question = next(f.label for f in checklist.fields if f.id == "screen_contracts")
        reason = f"the partnership is high-risk (you answered Yes to \u201c{question}\u201d)"
        for problem in checked.problems:
            assert problem.message.startswith(f"This must be answered because {reason}.")
        assert checked.problems[0].message.endswith("Please choose one of: Yes, No.")

    def test_the_report_gives_the_reason_once_then_the_questions(self, checklist):
        raw = {**self.ALL_NO, "screen_contracts": "Yes"}
        report = describe("checklist", check(checklist, raw, received=RECEIVED).problems)
        question = next(f.label for f in checklist.fields if f.id == "screen_contracts")
        assert report.splitlines()[1:] == [
            "1. Because the partnership is high-risk (you answered Yes to "
            f"\u201c{question}\u201d), these questions must be answered:",
            "   - Question 1: Is there a Partnership Agreement? (Answer)",
            "   - Question 3: Which agency is the accountable body?",
        ]
        assert report.count("high-risk") == 1

    def test_answering_them_clears_the_problems(self, checklist):
        raw = {**self.ALL_NO, "screen_money": "yes", "q1_answer": "y", "q3_answer": "Council"}
        assert check(checklist, raw, received=RECEIVED).ok

    def test_condition_without_a_label_names_the_answer_that_triggered_it(self, checklist):
        raw = {**self.ALL_NO, "q16_answer": "Yes"}
        problem = only_problem(check(checklist, raw, received=RECEIVED))
        assert problem.label == "Question 16: Which agency will obtain the property?"
        assert problem.message == (
            "This must be answered because you answered Yes to "
            "“Will accommodation be required?”. Please fill this in."
        )


class TestDueAndLate:
    def test_on_the_seventh_day_is_on_time(self, meeting):
        checked = check(meeting, {"meeting_date": "02/11/2026"}, received=date(2026, 11, 9))
        assert checked.due_date == date(2026, 11, 9)
        assert not checked.late
        assert checked.ok

    def test_the_eighth_day_is_late_but_accepted(self, meeting):
        checked = check(meeting, {"meeting_date": "2026-11-02"}, received=date(2026, 11, 10))
        assert checked.due_date == date(2026, 11, 9)
        assert checked.late
        assert checked.ok

    def test_no_valid_date_means_no_due_date(self, meeting):
        checked = check(meeting, {"meeting_date": "soon"}, received=date(2026, 11, 10))
        assert checked.due_date is None
        assert not checked.late

    def test_a_form_without_due_is_never_late(self, sample):
        checked = check(sample, complete(met_on="01/01/2020"), received=date(2026, 1, 1))
        assert checked.due_date is None
        assert not checked.late


class TestRealMonitoringForm:
    def filled(self, **changes: object) -> dict[str, object]:
        raw: dict[str, object] = {
            "partnership": "Hull Community Safety Partnership",
            "meeting_title": "Quarterly board",
            "meeting_date": "Monday, 2 November 2026",
            "meeting_place": "Guildhall, Hull",
            "meeting_length": "2 hours",
            "member_attending": "Cllr Pat Smith",
            "police_officer_attending": "",
            "pa_issues": [{"issue": "Night-time economy", "decision": "Extra patrols"}, {}],
            "challenges_by_pa": [
                {
                    "challenge": "Funding gap",
                    "action": "Report to board",
                    "by_whom": "Chair",
                    "by_when": "30/11/2026",
                },
                {"challenge": "", "action": "", "by_whom": "", "by_when": ""},
            ],
            "agenda_rating": ["highly_relevant"],
            "attendance_rating": ["of_value"],
        }
        raw.update(changes)
        return raw

    def test_a_well_filled_return_is_accepted_and_on_time(self, monitoring):
        checked = check(monitoring, self.filled(), received=date(2026, 11, 9))
        assert checked.ok, checked.problems
        assert checked.values["meeting_date"] == date(2026, 11, 2)
        assert checked.values["challenges_by_pa"][0]["by_when"] == date(2026, 11, 30)
        assert len(checked.values["challenges_by_pa"]) == 1
        assert checked.values["force_issues"] == []
        assert checked.values["police_officer_attending"] is None
        assert not checked.late

    def test_a_day_later_is_late(self, monitoring):
        checked = check(monitoring, self.filled(), received=date(2026, 11, 10))
        assert checked.ok
        assert checked.late

    def test_describe_numbers_the_problems_and_names_the_labels(self, monitoring):
        raw = self.filled(
            meeting_date="31/02/2026",
            challenges_by_pa=[{}, {"challenge": "Funding", "action": "Report", "by_when": "1/12/26"}],
            agenda_rating=[],
        )
        checked = check(monitoring, raw, received=date(2026, 11, 9))
        assert len(checked.problems) == 3
        text = describe(monitoring.title, checked.problems)
        assert text.splitlines() == [
            "We could not accept your Partnership Monitoring Form because of 3 problems. "
            "Please correct them and send the form again:",
            "1. Date of meeting: There is no such date as 31 February 2026. "
            "Please check the day and the month, for example 14/03/2026.",
            "2. Issues/challenges raised by the PA Member/Officer, row 2: By Whom: "
            "Row 2 is filled in but has no “By Whom”. Please fill it in or clear the row.",
            "3. Agenda Rating: Please tick one box.",
        ]


class TestDescribe:
    def test_one_problem_is_singular(self):
        text = describe("Sample Form", [Problem("name", "Your name", "Please fill this in.")])
        assert text == (
            "We could not accept your Sample Form because of 1 problem. "
            "Please correct it and send the form again:\n"
            "1. Your name: Please fill this in."
        )

    def test_a_problem_without_a_label(self):
        text = describe("Sample Form", [Problem(None, "", "The form is blank.")])
        assert text.splitlines()[1] == "1. The form is blank."
