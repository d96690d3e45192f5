"""The shapes field values take on their way through the pipeline.

Raw values (what a reader returns, `RawValues`), keyed by field id:
- text, long_text, number, date: the text as typed (`str`). A reader that finds a machine date
  (a Word date control's full date, an Excel date cell, a PDF field it can parse) gives it as `YYYY-MM-DD`.
- choice and yes_no shown as one list: the choice value when the reader can map it, else the
  text shown (validation also accepts a choice's label, case-insensitively).
- a field shown as tick boxes (multi_choice, or choice/yes_no with `display: ticks`): the list
  of ticked choice values, `list[str]`; validation insists on exactly one for a single choice.
- table: `list[dict[column_id, str]]`, the rows in document order, blank rows included.
- a field the reader could not find: absent; an empty one: None, "" or [].

Typed values (what validation returns and storage keeps): str, int or float, `datetime.date`,
`list[str]`, `list[dict[str, typed]]`; None for empty. Records (`pipeline records --json`) show a
date as `YYYY-MM-DD`.
"""

from __future__ import annotations

from datetime import date
from typing import TypeAlias

RawValue: TypeAlias = str | list[str] | list[dict[str, str]] | None
RawValues: TypeAlias = dict[str, RawValue]
TypedValue: TypeAlias = str | int | float | date | list[str] | list[dict[str, object]] | None
TypedValues: TypeAlias = dict[str, TypedValue]


def is_empty(value: object) -> bool:
    """True for None, blank text, an empty list, or a list of rows that are all blank."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return all(is_empty(v) for v in value)
    if isinstance(value, dict):
        return all(is_empty(v) for v in value.values())
    return False


def to_json_value(value: TypedValue) -> object:
    """A typed value as plain JSON (dates as YYYY-MM-DD)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [
            {k: to_json_value(v) for k, v in item.items()} if isinstance(item, dict) else item
            for item in value
        ]
    return value
