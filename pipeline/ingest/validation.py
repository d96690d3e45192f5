"""Check a returned form's raw values against its definition: typed values, every problem, lateness.

`check` turns a reader's `RawValues` (see `pipeline.core.values`) into `TypedValues` and collects every
problem at once, each with the field's label as the person saw it and a message saying what is
wrong and how to put it right; `describe` writes those problems up for the sender.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from pipeline.core.definitions import Choice, Column, Condition, Field, FieldType, FormDefinition
from pipeline.core.values import RawValues, TypedValue, TypedValues, is_empty
from pipeline.ooxml.wordml import PLACEHOLDERS as WORD_PLACEHOLDERS

MAX_TEXT = 1_000_000  # longer text is cut before any other work: no regex ever sees more
MAX_SHORT = 64  # a date or a number longer than this cannot be one
DATE_EXAMPLE = "for example 14/03/2026"
NUMBER_EXAMPLE = "for example 12 or 1,200.50"

# Text a reader may hand over for a box nobody filled in: Word's own defaults and ours,
# compared without case or the closing full stop.
PLACEHOLDERS = frozenset(text.lower().rstrip(".") for text in WORD_PLACEHOLDERS)

# Control characters are removed, except tab and newline; other line breaks become newlines.
_LINE_BREAKS = {ord("\r"): "\n", 0x0B: "\n", 0x0C: "\n"}
_CONTROL = {c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c not in (9, 10)}
_CLEAN = str.maketrans({**_CONTROL, **_LINE_BREAKS})

_ISO = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTHS = {
    **{name.lower(): n for n, name in enumerate(MONTH_NAMES, 1)},
    **{name[:3].lower(): n for n, name in enumerate(MONTH_NAMES, 1)},
    "sept": 9,
}
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = frozenset(_DAY_NAMES) | {d[:3] for d in _DAY_NAMES} | {"tues", "weds", "thur", "thurs"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a returned form, worded for the person who filled it in."""

    field_id: str | None
    label: str
    message: str
    #: Why an empty answer is needed when a condition makes it so ("the partnership is
    #: high-risk (you answered Yes to ...)"): problems sharing it are reported together, once.
    because: str = ""


@dataclass(frozen=True)
class Checked:
    """The outcome of `check`: typed values (every field a key), problems, and lateness."""

    values: TypedValues
    problems: tuple[Problem, ...]
    late: bool
    due_date: date | None

    @property
    def ok(self) -> bool:
        return not self.problems


class _Unacceptable(ValueError):
    """An answer that cannot be accepted; the message is for the person who gave it."""


# --- the whole form ----------------------------------------------------------------------------


def check(definition: FormDefinition, raw: RawValues, *, received: date,
          excel: bool = False) -> Checked:
    """Coerce every field, collect every problem, and work out the due date and lateness.

    With `excel`, messages speak of the Excel form's lists rather than the Word form's boxes.
    """
    outcomes = {f.id: _check_field(f, raw.get(f.id)) for f in definition.fields}
    values: TypedValues = {field_id: value for field_id, (value, _) in outcomes.items()}
    problems: list[Problem] = []
    for f in definition.fields:
        found = outcomes[f.id][1]
        problems.extend(found)
        if not found and is_empty(values[f.id]):
            problems.extend(_missing(definition, f, values))
    due_date = _due_date(definition, values)
    late = due_date is not None and received > due_date
    if excel:
        problems = [replace(p, message=_in_excel_terms(p.message)) for p in problems]
    return Checked(values=values, problems=tuple(problems), late=late, due_date=due_date)


_EXCEL_WORDS = (
    ("Please tick at least one box.", "Please choose Yes beside at least one answer."),
    ("Please tick one box.", "Please choose one answer from the list."),
    ("Please tick only one box: you ticked", "Please choose only one answer: you chose"),
    ("A ticked box,", "An answer,"),
    ("Please tick only boxes from:", "Please choose only from:"),
)


def _in_excel_terms(message: str) -> str:
    for words, excel_words in _EXCEL_WORDS:
        message = message.replace(words, excel_words)
    return message


def describe(title: str, problems: Sequence[Problem]) -> str:
    """The report a sender gets: a heading, then each problem numbered with the field's label."""
    if not problems:
        return f"We found no problems with your {title}."
    count = len(problems)
    noun, them = ("problem", "it") if count == 1 else ("problems", "them")
    lines = [
        f"We could not accept your {title} because of {count} {noun}. "
        f"Please correct {them} and send the form again:"
    ]
    number = 0
    reasons_done: set[str] = set()
    for problem in problems:
        if problem.because in reasons_done:
            continue
        number += 1
        if problem.because:
            reasons_done.add(problem.because)
            lines.append(f"{number}. Because {problem.because}, these questions must be answered:")
            lines += [f"   - {p.label}" for p in problems if p.because == problem.because]
            continue
        where = f"{problem.label}: " if problem.label else ""
        lines.append(f"{number}. {where}{problem.message}")
    return "\n".join(lines)


def field_label(f: Field) -> str:
    """The field as the person saw it: its question number and question, and the box's own
    label where that differs ("Question 5: Is there a ...? (Answer)")."""
    question = f.question or f.label
    box = f" ({f.label})" if f.label and _normalised(f.label) not in _normalised(question) else ""
    return f"Question {f.number}: {question}{box}" if f.number else f"{question}{box}"


def _due_date(definition: FormDefinition, values: TypedValues) -> date | None:
    if definition.due is None:
        return None
    start = values.get(definition.due.after)
    if not isinstance(start, date):
        return None
    return start + timedelta(days=definition.due.days)


# --- required and required_when ----------------------------------------------------------------


def _missing(definition: FormDefinition, f: Field, values: TypedValues) -> list[Problem]:
    """A problem for an empty field when it must be answered, else nothing."""
    if f.required:
        return [Problem(f.id, field_label(f), _how_to_answer(f))]
    condition = definition.conditions.get(f.required_when or "")
    if condition is None or not condition.holds(values):
        return []
    reason = _condition_reason(definition, condition, values)
    message = f"This must be answered because {reason}. {_how_to_answer(f)}"
    return [Problem(f.id, field_label(f), message, because=reason)]


def _condition_reason(
    definition: FormDefinition, condition: Condition, values: Mapping[str, TypedValue]
) -> str:
    answers = []
    for field_id, allowed in condition.tests:
        value = values.get(field_id)
        if value in allowed:
            tested = definition.field(field_id)
            question = tested.question or tested.label
            answers.append(f"{tested.choice_label(str(value))} to \u201c{question}\u201d")
    given = ("you answered " + " and ".join(answers)) if answers else ""
    if condition.label:
        # "the partnership is high-risk (Yes to ...)": the label's own words, then what was said.
        label = condition.label.strip().rstrip(".").split(" (", 1)[0]
        return f"{label} ({given})" if given else label
    return given or "of your other answers"


def _how_to_answer(f: Field) -> str:
    if f.type is FieldType.TABLE:
        return "Please fill in at least one row."
    if f.type is FieldType.MULTI_CHOICE:
        return "Please tick at least one box."
    if f.shown_as_ticks:
        return "Please tick one box."
    if f.type in (FieldType.CHOICE, FieldType.YES_NO):
        return f"Please choose one of: {_labels(f.choices)}."
    if f.type is FieldType.DATE:
        return f"Please enter a date, {DATE_EXAMPLE}."
    if f.type is FieldType.NUMBER:
        return "Please enter a number."
    return "Please fill this in."


# --- one field ---------------------------------------------------------------------------------


def _check_field(f: Field, raw: object) -> tuple[TypedValue, list[Problem]]:
    """The field's typed value and the problems with its content (not whether it is required)."""
    if f.is_table:
        return _check_table(f, raw)
    empty: TypedValue = [] if f.type is FieldType.MULTI_CHOICE else None
    try:
        return _coerce(f, raw), []
    except _Unacceptable as exc:
        return empty, [Problem(f.id, field_label(f), str(exc))]


def _coerce(spec: Field | Column, raw: object) -> TypedValue:
    """One answer (a field or a table cell) as its typed value; raises `_Unacceptable`."""
    if spec.type is FieldType.MULTI_CHOICE:
        return _ticked(spec, raw)
    if isinstance(spec, Field) and spec.shown_as_ticks:
        return _one_ticked(spec, raw)
    text = answer_text(raw)
    if not text:
        return None
    if spec.type in (FieldType.TEXT, FieldType.LONG_TEXT):
        return _within_length(text, spec.max_length)
    if spec.type is FieldType.DATE:
        return parse_date(text)
    if spec.type is FieldType.NUMBER:
        return _number_for(spec, text)
    return match_choice(text, spec.choices, yes_no=spec.type is FieldType.YES_NO)


def _number_for(spec: Field | Column, text: str) -> int | float:
    if isinstance(spec, Field):
        return parse_number(text, integer=spec.integer, minimum=spec.minimum, maximum=spec.maximum)
    return parse_number(text)


# --- text --------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Cut to `MAX_TEXT`, drop control characters (keeping newlines and tabs) and strip."""
    return text[:MAX_TEXT].replace("\r\n", "\n").translate(_CLEAN).strip()


def answer_text(raw: object) -> str:
    """Whatever a reader gave for one answer, as clean text; "" for empty or a placeholder."""
    if raw is None:
        return ""
    if isinstance(raw, list):
        raw = ", ".join(str(item) for item in raw if item is not None)
    elif isinstance(raw, date | datetime):
        raw = raw.isoformat()
    text = clean_text(str(raw))
    if _normalised(text).rstrip(".") in PLACEHOLDERS:
        return ""
    return text


def _within_length(text: str, max_length: int | None) -> str:
    if max_length is None or len(text) <= max_length:
        return text
    size = f"over {MAX_TEXT:,}" if len(text) >= MAX_TEXT else f"{len(text):,}"
    raise _Unacceptable(
        f"This answer is {size} characters long; the most this box takes is {max_length:,}. "
        "Please shorten it."
    )


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def _quoted(text: str) -> str:
    shown = " ".join(text.split())
    return f"“{shown[:40]}…”" if len(shown) > 40 else f"“{shown}”"


# --- dates -------------------------------------------------------------------------------------


def parse_date(text: str) -> date:
    """A date written day first (UK order), in words, or ISO; raises ValueError, plain English."""
    text = text.strip()
    found = None if len(text) > MAX_SHORT else _numeric_date(text) or _worded_date(text)
    if found is None:
        raise _Unacceptable(
            f"This date could not be understood: {_quoted(text)}. "
            f"Please enter it as a date, {DATE_EXAMPLE}."
        )
    return _real_date(*found, text)


def _numeric_date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from `2026-03-14[T…]`, `14/03/2026`, `14.3.26` or `14-03-2026`."""
    iso = _ISO.fullmatch(text)
    if iso:
        return int(iso[1]), int(iso[2]), int(iso[3])
    day_first = _DAY_FIRST.fullmatch(text)
    if day_first:
        return int(day_first[4]), int(day_first[3]), int(day_first[1])
    return None


def _worded_date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from `14 March 2026`, `Friday, 14th Mar 2026` or `March 14, 2026`."""
    words = text.lower().replace(",", " ").replace("-", " ").split()
    if words and words[0].rstrip(".") in _WEEKDAYS:
        words = words[1:]
    if len(words) != 3 or not _is_year(words[2]):
        return None
    first, second = _day_number(words[0]), _MONTHS.get(words[1].rstrip("."))
    if first is None or second is None:
        first, second = _day_number(words[1]), _MONTHS.get(words[0].rstrip("."))
    if first is None or second is None:
        return None
    return int(words[2]), second, first


def _day_number(word: str) -> int | None:
    for suffix in ("st", "nd", "rd", "th"):
        word = word.removesuffix(suffix)
    return int(word) if word.isdigit() and len(word) <= 2 else None


def _is_year(word: str) -> bool:
    return word.isdigit() and len(word) in (2, 4)


def _real_date(year: int, month: int, day: int, text: str) -> date:
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise _Unacceptable(
            f"There is no month {month} in {_quoted(text)}. Please check the date: the day comes "
            f"first, then the month, {DATE_EXAMPLE}."
        )
    try:
        return date(year, month, day)
    except ValueError:
        raise _Unacceptable(
            f"There is no such date as {day} {MONTH_NAMES[month - 1]} {year}. "
            f"Please check the day and the month, {DATE_EXAMPLE}."
        ) from None


# --- numbers -----------------------------------------------------------------------------------


def parse_number(
    text: str,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> int | float:
    """`12`, `12.5`, `1,200`, `£1,200.50` as int (no fractional part) or float; ValueError."""
    compact = text.replace("£", "").replace("−", "-").strip()
    if len(compact) > MAX_SHORT or not _NUMBER.fullmatch(compact):
        raise _Unacceptable(
            f"This number could not be understood: {_quoted(text)}. "
            f"Please enter digits only, {NUMBER_EXAMPLE}."
        )
    number = Decimal(compact.replace(",", ""))  # the pattern admits only valid decimals
    whole = number == number.to_integral_value()
    if integer and not whole:
        raise _Unacceptable(
            f"Please enter a whole number (no decimals), for example 12; "
            f"you entered {_quoted(text)}."
        )
    _check_range(number, minimum, maximum, text)
    return int(number) if whole else float(number)


def _check_range(number: Decimal, minimum: float | None, maximum: float | None, text: str) -> None:
    too_low = minimum is not None and number < Decimal(str(minimum))
    too_high = maximum is not None and number > Decimal(str(maximum))
    if not (too_low or too_high):
        return
    if minimum is not None and maximum is not None:
        wanted = f"a number from {_shown(minimum)} to {_shown(maximum)}"
    elif minimum is not None:
        wanted = f"a number no smaller than {_shown(minimum)}"
    else:
        wanted = f"a number no bigger than {_shown(maximum or 0)}"
    raise _Unacceptable(f"Please enter {wanted}; you entered {_quoted(text)}.")


def _shown(number: float) -> str:
    value = int(number) if float(number).is_integer() else number
    return f"{value:,}" if abs(value) >= 10_000 else str(value)


# --- choices -----------------------------------------------------------------------------------


def match_choice(text: str, choices: Sequence[Choice], *, yes_no: bool = False) -> str:
    """The choice value for a value or a label (any case or spacing); "y"/"n" for yes/no."""
    found = _find_choice(text, choices, yes_no=yes_no)
    if found is None:
        raise _Unacceptable(
            f"{_quoted(text)} is not one of the choices. Please choose one of: {_labels(choices)}."
        )
    return found


def _find_choice(text: str, choices: Sequence[Choice], *, yes_no: bool = False) -> str | None:
    for choice in choices:
        if text == choice.value:
            return choice.value
    wanted = _normalised(text)
    for choice in choices:
        if wanted in (_normalised(choice.label), _normalised(choice.value)):
            return choice.value
    short = {"y": "yes", "n": "no"}.get(wanted) if yes_no else None
    if short and any(c.value == short for c in choices):
        return short
    return None


def _labels(choices: Sequence[Choice]) -> str:
    return ", ".join(c.label for c in choices)


def _ticked(spec: Field | Column, raw: object) -> list[str]:
    """The ticked choice values, in the definition's order, each once."""
    given = raw if isinstance(raw, list) else [raw]
    texts = [answer_text(item) for item in given]
    ticked: set[str] = set()
    for text in filter(None, texts):
        found = _find_choice(text, spec.choices, yes_no=spec.type is FieldType.YES_NO)
        if found is None:
            raise _Unacceptable(
                f"A ticked box, {_quoted(text)}, is not one of the choices. "
                f"Please tick only boxes from: {_labels(spec.choices)}."
            )
        ticked.add(found)
    return [c.value for c in spec.choices if c.value in ticked]


def _one_ticked(f: Field, raw: object) -> str | None:
    ticked = _ticked(f, raw)
    if len(ticked) > 1:
        labels = ", ".join(f.choice_label(value) for value in ticked)
        raise _Unacceptable(f"Please tick only one box: you ticked {len(ticked)} ({labels}).")
    return ticked[0] if ticked else None


# --- tables ------------------------------------------------------------------------------------


def _check_table(f: Field, raw: object) -> tuple[list[dict[str, object]], list[Problem]]:
    """The non-blank rows, typed; a problem for each bad cell and each required cell left empty."""
    rows: list[dict[str, object]] = []
    problems: list[Problem] = []
    given = raw if isinstance(raw, list) else []
    for number, row in enumerate(given, 1):
        if not isinstance(row, Mapping) or _blank_row(f, row):
            continue
        typed, found = _check_row(f, row, number)
        rows.append(typed)
        problems.extend(found)
    return rows, problems


def _blank_row(f: Field, row: Mapping[str, object]) -> bool:
    return all(not answer_text(row.get(column.id)) for column in f.columns)


def _check_row(
    f: Field, row: Mapping[str, object], number: int
) -> tuple[dict[str, object], list[Problem]]:
    typed: dict[str, object] = {}
    problems: list[Problem] = []
    for column in f.columns:
        label = f"{field_label(f)}, row {number}: {column.label}"
        try:
            typed[column.id] = _coerce(column, row.get(column.id))
        except _Unacceptable as exc:
            typed[column.id] = None
            problems.append(Problem(f.id, label, str(exc)))
            continue
        if column.required and typed[column.id] is None:
            message = (
                f"Row {number} is filled in but has no “{column.label}”. "
                "Please fill it in or clear the row."
            )
            problems.append(Problem(f.id, label, message))
    return typed, problems
