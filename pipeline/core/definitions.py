"""Form definitions: the single source of truth that generation, reading, validation and papers use.

A definition is a YAML file (see `pipeline/forms/` and docs/form-definitions.md). This module
loads and checks it into frozen dataclasses; nothing here knows about Word, Excel or storage.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.errors import DefinitionError
from pipeline.core.marking import DEFAULT_MARKING

BUILTIN_FORMS = Path(__file__).resolve().parent.parent / "forms"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
FORM_ID = re.compile(r"^[a-z][a-z0-9-]*$")
CELL_ADDRESS = re.compile(r"^[a-z]{1,3}[0-9]+$")  # q1, b8: Excel refuses these as defined names
FORM_KEYS = frozenset({"id", "version", "title", "source", "marking", "instructions", "return_to",
                       "due", "keys", "conditions", "sections"})
SECTION_KEYS = frozenset({"id", "title", "intro", "items"})
GROUP_KEYS = frozenset({"group", "label", "fields", "note"})
FIELD_KEYS = frozenset({"id", "label", "type", "required", "help", "choices", "display", "columns",
                        "rows", "prefill", "max_length", "min", "max", "integer", "required_when",
                        "number"})
COLUMN_KEYS = frozenset({"id", "label", "type", "required", "help", "choices", "max_length"})
PREFILL_KEYS = frozenset({"partnership", "member", "meeting_title", "meeting_date", "meeting_place"})


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    DATE = "date"
    NUMBER = "number"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    YES_NO = "yes_no"
    TABLE = "table"


class Display(StrEnum):
    DROPDOWN = "dropdown"
    TICKS = "ticks"


DEFAULT_MAX_LENGTH = {FieldType.TEXT: 500, FieldType.LONG_TEXT: 10_000}
YES_NO_CHOICES = (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class Choice:
    """One answer a person may pick; `concern` marks an answer a paper calls out (e.g. "No")."""

    value: str
    label: str
    concern: bool = False


@dataclass(frozen=True)
class Column:
    """One typed column of a table field (no nested tables, no tick-box columns)."""

    id: str
    label: str
    type: FieldType
    required: bool = False
    help: str = ""
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None

    def choice_label(self, value: str) -> str:
        return _choice_label(self.choices, value)


@dataclass(frozen=True)
class Field:
    """One question a person answers."""

    id: str
    label: str
    type: FieldType
    required: bool = False
    help: str = ""
    choices: tuple[Choice, ...] = ()
    display: Display = Display.DROPDOWN
    columns: tuple[Column, ...] = ()
    rows: int = 3
    prefill: str | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    required_when: str | None = None
    number: str = ""
    #: The question this field answers, as the form asks it: its group's question (with the
    #: field's own label for a lettered part such as 2a), else its label. Set when loading.
    question: str = ""
    #: The title of the section the field sits in. Set when loading.
    section: str = ""

    @property
    def is_table(self) -> bool:
        return self.type is FieldType.TABLE

    @property
    def shown_as_ticks(self) -> bool:
        """True when each choice is its own check box (tick boxes) rather than one list."""
        return self.type is FieldType.MULTI_CHOICE or self.display is Display.TICKS

    def column(self, column_id: str) -> Column:
        for column in self.columns:
            if column.id == column_id:
                return column
        raise DefinitionError(f"Field {self.id} has no column {column_id!r}.")

    def choice_label(self, value: str) -> str:
        return _choice_label(self.choices, value)


@dataclass(frozen=True)
class Group:
    """A numbered question whose answer takes several fields (the checklist's 2a-2e)."""

    number: str
    label: str
    fields: tuple[Field, ...]
    note: str = ""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: tuple[Field | Group, ...]
    intro: str = ""

    def fields(self) -> Iterator[Field]:
        for item in self.items:
            if isinstance(item, Group):
                yield from item.fields
            else:
                yield item


@dataclass(frozen=True)
class Condition:
    """`any` / `all` of (field equals one of values); used by `required_when`."""

    name: str
    mode: str  # "any" or "all"
    tests: tuple[tuple[str, tuple[str, ...]], ...]
    label: str = ""

    def holds(self, values: Mapping[str, Any]) -> bool:
        results = (values.get(field_id) in allowed for field_id, allowed in self.tests)
        return any(results) if self.mode == "any" else all(results)


@dataclass(frozen=True)
class Due:
    """A return is due `days` days after the date in field `after` (the monitoring form's 7)."""

    after: str
    days: int


@dataclass(frozen=True)
class FormDefinition:
    id: str
    version: int
    title: str
    sections: tuple[Section, ...]
    marking: str = DEFAULT_MARKING
    instructions: str = ""
    source: str = ""
    return_to: str = ""
    due: Due | None = None
    keys: tuple[str, ...] = ()
    conditions: Mapping[str, Condition] = field(default_factory=dict)
    hash: str = ""
    path: Path | None = None

    @property
    def fields(self) -> tuple[Field, ...]:
        """Every field in document order."""
        return tuple(f for section in self.sections for f in section.fields())

    def field(self, field_id: str) -> Field:
        for candidate in self.fields:
            if candidate.id == field_id:
                return candidate
        raise DefinitionError(f"Form {self.id} has no field {field_id!r}.")

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape (`pipeline forms show FORM --json`)."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "hash": self.hash,
            "marking": self.marking,
            "fields": [_field_json(f) for f in self.fields],
        }


def _choice_label(choices: tuple[Choice, ...], value: str) -> str:
    for choice in choices:
        if choice.value == value:
            return choice.label
    return value


def _choices_json(choices: tuple[Choice, ...]) -> list[dict[str, str]]:
    return [{"value": c.value, "label": c.label, **({"concern": True} if c.concern else {})}
            for c in choices]


def _field_json(f: Field | Column) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f.id,
        "label": f.label,
        "type": str(f.type),
        "required": f.required,
    }
    if f.help:
        data["help"] = f.help
    if f.choices:
        data["choices"] = _choices_json(f.choices)
    if isinstance(f, Field):
        if f.number:
            data["number"] = f.number
        if f.question:
            data["question"] = f.question
        if f.section:
            data["section"] = f.section
        if f.choices:
            data["display"] = "ticks" if f.shown_as_ticks else "dropdown"
        if f.columns:
            data["columns"] = [_field_json(c) for c in f.columns]
        if f.required_when:
            data["required_when"] = f.required_when
    return data


# --- loading -----------------------------------------------------------------------------------


def snake_case(text: str) -> str:
    """`Not applicable` -> `not_applicable`; the value derived for a choice given as a label."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "_".join(words) or "choice"


def definition_hash(raw: Mapping[str, Any]) -> str:
    """SHA-256 of the definition's canonical JSON: changes whenever the content changes."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_definition(path: Path) -> FormDefinition:
    """Read and check one definition file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"Cannot read form definition {path}: {exc}") from exc
    return parse_definition(raw, path=path)


def parse_definition(raw: Any, path: Path | None = None) -> FormDefinition:
    where = str(path) if path else "definition"
    reader = _Reader(where)
    data = reader.mapping(raw, "the file", FORM_KEYS)
    form_id = reader.text(data, "id")
    if not FORM_ID.match(form_id):
        reader.fail(f"id {form_id!r} must be lower-case words joined by hyphens")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        reader.fail("version must be a whole number from 1")
    sections = tuple(reader.section(s) for s in reader.sequence(data, "sections"))
    conditions = {
        name: reader.condition(name, spec)
        for name, spec in reader.mapping(data.get("conditions") or {}, "conditions").items()
    }
    due = reader.due(data.get("due"))
    definition = FormDefinition(
        id=form_id,
        version=version,
        title=reader.text(data, "title"),
        sections=sections,
        marking=str(data.get("marking") or DEFAULT_MARKING),
        instructions=str(data.get("instructions") or "").strip(),
        source=str(data.get("source") or ""),
        return_to=str(data.get("return_to") or ""),
        due=due,
        keys=tuple(data.get("keys") or ()),
        conditions=conditions,
        hash=definition_hash(data),
        path=path,
    )
    _check_references(definition, reader)
    return definition


def _check_references(definition: FormDefinition, reader: _Reader) -> None:
    seen: set[str] = set()
    for f in definition.fields:
        if f.id in seen:
            reader.fail(f"field id {f.id!r} is used twice")
        seen.add(f.id)
        if f.required_when and f.required_when not in definition.conditions:
            reader.fail(f"field {f.id}: required_when names unknown condition {f.required_when!r}")
    for condition in definition.conditions.values():
        for field_id, _ in condition.tests:
            if field_id not in seen:
                reader.fail(f"condition {condition.name} tests unknown field {field_id!r}")
    for key in definition.keys:
        if key not in seen:
            reader.fail(f"keys names unknown field {key!r}")
    if definition.due and definition.due.after not in seen:
        reader.fail(f"due.after names unknown field {definition.due.after!r}")


def _placed(item: Field | Group, section: str) -> Field | Group:
    """The item with each field's question number, question text and section filled in."""
    if isinstance(item, Field):
        return replace(item, question=item.question or item.label, section=section)
    fields = tuple(replace(f, number=f.number or item.number, question=_group_question(item, f),
                           section=section) for f in item.fields)
    return replace(item, fields=fields)


def _group_question(group: Group, f: Field) -> str:
    """A group's question; for a lettered part (2a), the question and the part's own words."""
    if f.number and f.number != group.number:
        return f"{group.label} {f.label}"
    return group.label


class _Reader:
    """Turns the YAML mapping into dataclasses, failing with the file and the place."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str) -> None:
        raise DefinitionError(f"Form definition {self.where}: {message}.")

    def mapping(self, value: Any, what: str, allowed: frozenset[str] | None = None
                ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"{what} must be a mapping")
        unknown = sorted(set(map(str, value)) - allowed) if allowed is not None else []
        if unknown:
            self.fail(f"{what} has unknown key(s) {', '.join(unknown)} (a misspelling?)")
        return value

    def whole(self, data: Mapping[str, Any], key: str, default: int | None) -> int | None:
        value = data.get(key, default)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            self.fail(f"{key!r} must be a number, not {value!r}")
        return value

    def sequence(self, data: Mapping[str, Any], key: str) -> list[Any]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            self.fail(f"{key!r} must be a non-empty list")
        return value

    def text(self, data: Mapping[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str | int) or not str(value).strip():
            self.fail(f"{key!r} is missing")
        return str(value).strip()

    def section(self, raw: Any) -> Section:
        data = self.mapping(raw, "a section", SECTION_KEYS)
        title = self.text(data, "title")
        items = tuple(_placed(self.item(i), title) for i in self.sequence(data, "items"))
        return Section(
            id=self.text(data, "id"),
            title=title,
            items=items,
            intro=str(data.get("intro") or "").strip(),
        )

    def item(self, raw: Any) -> Field | Group:
        data = self.mapping(raw, "an item")
        if "group" in data:
            self.mapping(data, f"question {data['group']}", GROUP_KEYS)
            return Group(
                number=str(data["group"]),
                label=self.text(data, "label"),
                fields=tuple(self.field(f) for f in self.sequence(data, "fields")),
                note=str(data.get("note") or "").strip(),
            )
        return self.field(data)

    def choices(self, data: Mapping[str, Any], kind: FieldType) -> tuple[Choice, ...]:
        raw = data.get("choices")
        if raw is None and kind is FieldType.YES_NO:
            return tuple(Choice(v, lbl) for v, lbl in YES_NO_CHOICES)
        if raw is None:
            return ()
        choices = []
        for entry in raw:
            if isinstance(entry, str):
                choices.append(Choice(snake_case(entry), entry))
            else:
                entry = self.mapping(entry, "a choice")
                concern = entry.get("concern", False)
                if not isinstance(concern, bool):
                    self.fail(f"a choice's 'concern' must be true or false, not {concern!r}")
                choices.append(Choice(self.text(entry, "value"), self.text(entry, "label"), concern))
        for choice in choices:
            if not SNAKE.match(choice.value):
                self.fail(f"choice value {choice.value!r} must be snake_case")
        if len({c.value for c in choices}) != len(choices):
            self.fail("two choices share a value")
        return tuple(choices)

    def kind(self, data: Mapping[str, Any], field_id: str) -> FieldType:
        try:
            return FieldType(str(data.get("type", "text")))
        except ValueError:
            known = ", ".join(t.value for t in FieldType)
            self.fail(f"field {field_id}: type must be one of {known}")
            raise  # unreachable: fail() raises

    def identifier(self, data: Mapping[str, Any]) -> str:
        ident = self.text(data, "id")
        if not SNAKE.match(ident):
            self.fail(f"field id {ident!r} must be snake_case")
        if CELL_ADDRESS.match(ident):
            self.fail(f"field id {ident!r} looks like a spreadsheet cell address; "
                      f"Excel cannot use it as a name (try {ident}_answer)")
        return ident

    def column(self, raw: Any) -> Column:
        data = self.mapping(raw, "a column", COLUMN_KEYS)
        ident = self.identifier(data)
        kind = self.kind(data, ident)
        if kind in (FieldType.TABLE, FieldType.MULTI_CHOICE):
            self.fail(f"column {ident}: a table column cannot be a {kind.value}")
        return Column(
            id=ident,
            label=self.text(data, "label"),
            type=kind,
            required=bool(data.get("required", False)),
            help=str(data.get("help") or ""),
            choices=self.choices(data, kind),
            max_length=data.get("max_length") or DEFAULT_MAX_LENGTH.get(kind),
        )

    def field(self, raw: Any) -> Field:
        data = self.mapping(raw, "a field", FIELD_KEYS)
        ident = self.identifier(data)
        kind = self.kind(data, ident)
        choices = self.choices(data, kind)
        if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE) and not choices:
            self.fail(f"field {ident}: a {kind.value} needs choices")
        columns = tuple(self.column(c) for c in data.get("columns") or ())
        if kind is FieldType.TABLE and not columns:
            self.fail(f"field {ident}: a table needs columns")
        prefill = data.get("prefill")
        if prefill is not None and prefill not in PREFILL_KEYS:
            self.fail(f"field {ident}: prefill must be one of {', '.join(sorted(PREFILL_KEYS))}")
        return Field(
            id=ident,
            label=self.text(data, "label"),
            type=kind,
            required=bool(data.get("required", False)),
            help=str(data.get("help") or "").strip(),
            choices=choices,
            display=self.display(data, ident),
            columns=columns,
            rows=self.whole(data, "rows", 3) or 1,
            prefill=prefill,
            max_length=data.get("max_length") or DEFAULT_MAX_LENGTH.get(kind),
            minimum=self.whole(data, "min", None),
            maximum=self.whole(data, "max", None),
            integer=bool(data.get("integer", False)),
            required_when=data.get("required_when"),
            number=str(data.get("number") or ""),
        )

    def display(self, data: Mapping[str, Any], ident: str) -> Display:
        try:
            return Display(str(data.get("display", "dropdown")))
        except ValueError:
            self.fail(f"field {ident}: display must be dropdown or ticks")
            raise

    def due(self, raw: Any) -> Due | None:
        if raw is None:
            return None
        data = self.mapping(raw, "due", frozenset({"after", "days"}))
        days = self.whole(data, "days", None)
        if "after" not in data or days is None:
            self.fail("due needs 'after' (a date field) and 'days' (a number)")
        return Due(after=str(data["after"]), days=int(days))

    def condition(self, name: str, raw: Any) -> Condition:
        data = self.mapping(raw, f"condition {name}")
        mode = "any" if "any" in data else "all"
        tests = []
        for test in data.get(mode) or ():
            test = self.mapping(test, f"a test of condition {name}")
            allowed = test.get("in", [test.get("equals")])
            tests.append((self.text(test, "field"), tuple(str(v) for v in allowed)))
        if not tests:
            self.fail(f"condition {name} needs 'any' or 'all' with at least one test")
        return Condition(name=name, mode=mode, tests=tuple(tests), label=str(data.get("label", "")))


# --- the library of definitions ----------------------------------------------------------------


class FormLibrary:
    """Every definition the pipeline knows: built-in, the home's own, and older versions."""

    def __init__(self, definitions: list[FormDefinition]) -> None:
        self._by_key: dict[tuple[str, int], FormDefinition] = {}
        for definition in definitions:
            self._by_key[(definition.id, definition.version)] = definition

    @classmethod
    def load(cls, *extra_dirs: Path) -> FormLibrary:
        """Built-in forms, then each extra folder (a home's `forms/`), later ones overriding."""
        definitions = []
        for folder in (BUILTIN_FORMS, *extra_dirs):
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("history/*.yaml")):
                definitions.append(load_definition(path))
        return cls(definitions)

    def ids(self) -> list[str]:
        return sorted({form_id for form_id, _ in self._by_key})

    def latest(self) -> list[FormDefinition]:
        return [self.get(form_id) for form_id in self.ids()]

    def versions(self, form_id: str) -> list[FormDefinition]:
        found = [d for (fid, _), d in self._by_key.items() if fid == form_id]
        return sorted(found, key=lambda d: d.version)

    def get(self, form_id: str, version: int | None = None) -> FormDefinition:
        versions = self.versions(form_id)
        if not versions:
            known = ", ".join(self.ids())
            raise DefinitionError(f"There is no form called {form_id!r}.{did_you_mean(form_id, self.ids())}"
                                  f" Known forms: {known}.")
        if version is None:
            return versions[-1]
        for definition in versions:
            if definition.version == version:
                return definition
        raise DefinitionError(f"Form {form_id!r} has no version {version}.")

    def by_hash(self, digest: str) -> FormDefinition | None:
        for definition in self._by_key.values():
            if definition.hash == digest:
                return definition
        return None


def did_you_mean(typed: str, known: Iterable[str]) -> str:
    """A near miss (a prefix or a close spelling) as " Did you mean 'risk-checklist'?", else ""."""
    import difflib

    names = list(known)
    lowered = typed.strip().lower()
    starts = [name for name in names if name.lower().startswith(lowered)] if lowered else []
    close = starts or difflib.get_close_matches(lowered, names, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
