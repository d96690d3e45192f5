"""Field values from the controls of a returned Word form.

A control is recognised by its tag when the file still has tags (Word keeps them), else by its
place in the layout, which the definition knows (`input_slots`): the order and kind of controls
and the label beside each. When the layout does not match, the form is rejected, never guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from functools import lru_cache

from pipeline.core.definitions import Field, FormDefinition
from pipeline.core.errors import UnknownForm
from pipeline.core.values import RawValues
from pipeline.generate.layout import Slot, input_slots
from pipeline.generate.word import blank_loose_text
from pipeline.ooxml.wordml import Control, PlainRow

COMPATIBLE = {
    "text": {"text", "dropdown"},
    "date": {"date", "text"},
    "dropdown": {"dropdown", "text"},
    "checkbox": {"checkbox"},
}


def docx_values(definition: FormDefinition, controls: Sequence[Control],
                plain_rows: Sequence[PlainRow] = ()) -> RawValues:
    """The raw values (see `pipeline.core.values`) of `definition`'s fields found in `controls`.

    A table field also takes the rows a member added without controls (LibreOffice's Insert >
    Rows) from `plain_rows`, in their place among the form's own rows.
    """
    controls = _answers_only(definition, controls)
    if _tagged_for(definition, controls):
        return _by_tag(definition, controls, plain_rows)
    return _by_place(definition, controls, plain_rows)


def _answers_only(definition: FormDefinition, controls: Sequence[Control]) -> Sequence[Control]:
    """Each control's text after it (lines LibreOffice pushed out of it) up to the form's own
    next label: a cell holding an answer and then the next box's label keeps only the answer."""
    if not any(c.after for c in controls):
        return controls
    labels = _blank_labels(definition)
    return [c if not c.after else replace(c, after=_before_label(c.after, labels)) for c in controls]


def _before_label(after: str, labels: frozenset[str]) -> str:
    kept = []
    for line in after.split("\n"):
        if _normal(line) in labels:
            break
        kept.append(line)
    return "\n".join(kept).rstrip("\n")


_BLANK_LABELS: dict[tuple[str, int, str], frozenset[str]] = {}


def _blank_labels(definition: FormDefinition) -> frozenset[str]:
    key = (definition.id, definition.version, definition.hash)
    if key not in _BLANK_LABELS:
        _BLANK_LABELS[key] = frozenset(
            _normal(line) for text in blank_loose_text(definition) for line in text.split("\n")
            if _normal(line))
    return _BLANK_LABELS[key]


def stray_texts(raw: RawValues, returned: Sequence[str], blank: Sequence[str]) -> list[str]:
    """Text in the returned form outside every answer that neither the blank form nor any
    answer holds: something a member typed that the reader could not place."""
    placed = {_normal(line) for value in raw.values() for line in _lines(value)}
    expected = Counter(_normal(text) for text in blank)
    stray = []
    for text in returned:
        key = _normal(text)
        if expected[key] > 0:
            expected[key] -= 1
            continue
        if all(_normal(line) in placed for line in text.split("\n") if _normal(line)):
            continue
        stray.append(" / ".join(line.strip() for line in text.split("\n") if line.strip()))
    return stray


def _lines(value: object) -> list[str]:
    if isinstance(value, str):
        return [value, *value.split("\n")]
    if isinstance(value, list):
        return [line for item in value for line in _lines(item)]
    if isinstance(value, dict):
        return [line for item in value.values() for line in _lines(item)]
    return []


def matches_layout(definition: FormDefinition, controls: Sequence[Control]) -> bool:
    """True when `controls` are exactly this definition's form (used when identity is lost)."""
    try:
        docx_values(definition, controls)
    except UnknownForm:
        return False
    return True


_EXPECTED_TAGS: dict[tuple[str, int, str], frozenset[str]] = {}


def _expected_tags(definition: FormDefinition) -> frozenset[str]:
    key = (definition.id, definition.version, definition.hash)
    if key not in _EXPECTED_TAGS:
        _EXPECTED_TAGS[key] = frozenset(_tags_of(definition))
    return _EXPECTED_TAGS[key]


def _tags_of(definition: FormDefinition) -> set[str]:
    tags = set()
    for slot in input_slots(definition):
        if slot.kind == "table":
            tags.update(f"{slot.field.id}.{c.id}" for c in slot.field.columns)
        else:
            tags.add(slot.tag)
    return tags


def _tagged_for(definition: FormDefinition, controls: Sequence[Control]) -> bool:
    """Every control carries one of this definition's tags."""
    expected = _expected_tags(definition)
    return bool(controls) and all(c.tag in expected for c in controls)


# --- by tag --------------------------------------------------------------------------------------


def _by_tag(definition: FormDefinition, controls: Sequence[Control],
            plain_rows: Sequence[PlainRow]) -> RawValues:
    by_tag: dict[str, list[Control]] = {}
    for control in controls:
        by_tag.setdefault(control.tag or "", []).append(control)
    cells = _cells_by_table(definition, controls)
    values: RawValues = {}
    for f in definition.fields:
        if f.is_table:
            values[f.id] = _rows(f, cells.get(f.id, []), plain_rows)
        elif f.shown_as_ticks:
            values[f.id] = [ch.value for ch in f.choices
                            if any(c.checked for c in by_tag.get(f"{f.id}.{ch.value}", []))]
        elif f.id in by_tag:
            values[f.id] = _single(f, by_tag[f.id])
    return values


def _cells_by_table(definition: FormDefinition, controls: Sequence[Control]) -> dict[str, list[Control]]:
    """Each table field's cell controls (tagged "<table>.<column>"), in document order."""
    tables = {f.id for f in definition.fields if f.is_table}
    found: dict[str, list[Control]] = {}
    for control in controls:
        tag = control.tag or ""
        at = tag.find(".")
        while at != -1:  # every prefix before a dot, as an id may hold dots itself
            if tag[:at] in tables:
                found.setdefault(tag[:at], []).append(control)
            at = tag.find(".", at + 1)
    return found


def _single(f: Field, found: list[Control]) -> str:
    texts = {_value(c) for c in found if _value(c)}
    if len(texts) > 1:
        raise UnknownForm(
            f"The box \u201c{f.label}\u201d appears more than once with different answers, so we "
            "cannot tell which one you meant. Please keep one copy of it and send the form again."
        )
    return texts.pop() if texts else ""


def _value(control: Control) -> str:
    if control.kind == "date" and control.date:
        # The picker's stored date, unless someone typed over it (then the words win).
        day = date.fromisoformat(control.date)
        shown = f"{day.day:02d}/{day.month:02d}/{day.year}"  # as strftime("%d/%m/%Y"), faster
        return control.date if control.text.strip() in (shown, control.date) else control.text
    if control.kind == "dropdown" and control.value:
        return control.value
    if control.after:
        return f"{control.text}\n{control.after}" if control.text else control.after
    return control.text


def _rows(f: Field, cells: Sequence[Control],
          plain_rows: Sequence[PlainRow]) -> list[dict[str, str]]:
    """Group a table's cell controls into rows, in document order, with added plain rows."""
    rows: dict[tuple[int, int], dict[str, str]] = {}
    for control in cells:
        column = (control.tag or "").split(".", 1)[1] if control.tag else ""
        row = rows.setdefault((_number(control.table), _number(control.row)), {})
        row[column] = _value(control)
    for table in {key[0] for key in rows}:
        for index, row in _added_rows(f, plain_rows, table):
            rows[(table, index)] = row
    known = {c.id for c in f.columns}
    return [{k: v for k, v in rows[key].items() if k in known} for key in sorted(rows)]


def _number(index: int | None) -> int:
    return -1 if index is None else index


def _added_rows(f: Field, plain_rows: Sequence[PlainRow],
                table: int) -> list[tuple[int, dict[str, str]]]:
    """Rows of `table` with no controls but something typed, as this field's rows."""
    columns = f.columns
    return [
        (row.row, {c.id: text for c, text in zip(columns, row.cells, strict=True)})
        for row in plain_rows
        if row.table == table and not row.header and len(row.cells) == len(columns)
        and any(text.strip() for text in row.cells)
    ]


# --- by place ------------------------------------------------------------------------------------


def _by_place(definition: FormDefinition, controls: Sequence[Control],
              plain_rows: Sequence[PlainRow]) -> RawValues:
    values: RawValues = {}
    position = 0
    for slot in input_slots(definition):
        if slot.kind == "table":
            position = _take_table(slot, controls, position, values, plain_rows)
            continue
        control = _next(controls, position, slot)
        position += 1
        if slot.kind == "checkbox":
            ticked = values.setdefault(slot.field.id, [])
            if control.checked:
                ticked.append(slot.choice)  # type: ignore[union-attr]
        else:
            values[slot.field.id] = _value(control)
    if position != len(controls):
        raise _mismatch(f"it has {len(controls) - position} more boxes than the form we sent")
    return values


def _next(controls: Sequence[Control], position: int, slot: Slot) -> Control:
    if position >= len(controls):
        raise _mismatch(f"the box \u201c{slot.label}\u201d is missing")
    control = controls[position]
    if control.kind not in COMPATIBLE[slot.kind]:
        raise _mismatch(f"where \u201c{slot.label}\u201d should be there is a different kind of box")
    if control.tag and control.tag != slot.tag:
        raise _mismatch(f"the box \u201c{slot.label}\u201d is not where the form had it")
    if control.context and not _same_label(slot.label, control.context):
        raise _mismatch(f"the box \u201c{slot.label}\u201d is not where the form had it")
    return control


def _take_table(slot: Slot, controls: Sequence[Control], position: int,
                values: RawValues, plain_rows: Sequence[PlainRow]) -> int:
    columns = slot.field.columns
    if position >= len(controls) or controls[position].table is None:
        raise _mismatch(f"the table \u201c{slot.label}\u201d is missing")
    table = controls[position].table
    rows: list[tuple[int, dict[str, str]]] = []
    current: list[Control] = []
    while position < len(controls) and controls[position].table == table:
        control = controls[position]
        if current and control.row != current[0].row:
            rows.append((_number(current[0].row), _row(slot, current)))
            current = []
        current.append(control)
        position += 1
    if current:
        rows.append((_number(current[0].row), _row(slot, current)))
    if any(len(row) != len(columns) for _, row in rows):
        raise _mismatch(f"the table \u201c{slot.label}\u201d has a different number of columns")
    rows += _added_rows(slot.field, plain_rows, _number(table))
    values[slot.field.id] = [row for _, row in sorted(rows, key=lambda pair: pair[0])]
    return position


def _row(slot: Slot, cells: list[Control]) -> dict[str, str]:
    if len(cells) != len(slot.field.columns):
        raise _mismatch(f"a row of the table \u201c{slot.label}\u201d has the wrong number of boxes")
    return {column.id: _value(c) for column, c in zip(slot.field.columns, cells, strict=True)}


_NOT_LETTERS = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)  # the same labels and lines come back in every return
def _normal(text: str) -> str:
    return _NOT_LETTERS.sub(" ", text.lower()).strip()


def _same_label(expected: str, context: str) -> bool:
    return _normal(expected)[:40] in _normal(context)


def _mismatch(detail: str) -> UnknownForm:
    return UnknownForm(
        "The layout of this form has been changed, so we cannot be sure which answer belongs "
        f"to which question ({detail}). Please fill in a fresh copy of the form without adding "
        "or removing boxes, and send it again."
    )
