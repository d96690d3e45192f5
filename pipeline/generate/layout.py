"""The layout both the writers and the readers know: what each control of a generated form is
called and where it is, so a returned form is read by the same rules it was written by.

Word: the controls in document order (`input_slots`), each with its kind and tag. Excel: the
sheet names and the defined name of every input and choice list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.core.definitions import Field, FieldType, FormDefinition
from pipeline.core.errors import GenerationError

# --- Word ----------------------------------------------------------------------------------------

INLINE_TICKS_MAX = 25  # choices with longer labels get a rating table, one row per choice
KIND_OF = {
    FieldType.TEXT: "text", FieldType.NUMBER: "text", FieldType.LONG_TEXT: "long_text",
    FieldType.DATE: "date", FieldType.CHOICE: "dropdown", FieldType.YES_NO: "dropdown",
}


@dataclass(frozen=True)
class Slot:
    """One control the generated form holds, in document order."""

    field: Field
    kind: str  # "text", "date", "dropdown", "checkbox", or "table"
    tag: str
    choice: str | None = None  # a tick box's choice value
    label: str = ""  # the text a person sees beside it


def input_slots(definition: FormDefinition) -> Iterator[Slot]:
    """The controls of the generated form in document order (tables count as one slot)."""
    for f in definition.fields:
        if f.is_table:
            yield Slot(f, "table", f.id, label=f.label)
        elif f.shown_as_ticks:
            for choice in f.choices:
                yield Slot(f, "checkbox", f"{f.id}.{choice.value}", choice.value, choice.label)
        else:
            kind = KIND_OF[f.type]
            yield Slot(f, "text" if kind == "long_text" else kind, f.id, label=f.label)


# --- Excel ---------------------------------------------------------------------------------------

FORM_SHEET = "Form"
LISTS_SHEET = "Lists"
TICK_ANSWER = "Yes"
TICKED = frozenset({"yes", "y", "x", "✓", "✔", "true"})
CELL_ADDRESS = re.compile(r"^([a-z]{1,3}\d+|r\d*c\d*|r\d*|c\d*)$", re.IGNORECASE)


def input_name(field_id: str, part: str | None = None) -> str:
    """The defined name of an input: `partnership`, `pa_issues.issue`, `topics.housing`."""
    return f"{field_id}.{part}" if part else field_id


def list_name(field_id: str, column_id: str | None = None) -> str:
    """The defined name of a choice list on the Lists sheet (never clashes with an input)."""
    return f"_choices.{field_id}.{column_id}" if column_id else f"_choices.{field_id}"


def check_names(definition: FormDefinition) -> None:
    """Refuse a definition whose field ids Excel cannot use as names."""
    for f in definition.fields:
        if CELL_ADDRESS.match(f.id):
            raise GenerationError(
                f"Form {definition.id}: field id {f.id!r} looks like a spreadsheet cell address, "
                f"so it cannot name an Excel input. Rename it, e.g. {f.id}_answer."
            )
