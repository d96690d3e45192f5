"""Fillable Word forms from form definitions: the layout a member sees, in domain terms.

The same walk over a definition (`input_slots`) tells the reader what to expect back, so a form
returned without its tags (LibreOffice drops them) is still read by the place of each control.
"""

from __future__ import annotations

from datetime import date

from pipeline.core.definitions import Column, Field, FieldType, FormDefinition, Group, Section
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.generate.layout import INLINE_TICKS_MAX, KIND_OF
from pipeline.ooxml.worddoc import WordMaster, fill_document, loose_text_of
from pipeline.ooxml.wordform import FormDocument, Input, LabelTable
from pipeline.ooxml.wordml import Fill

COLUMN_SHARE = {FieldType.LONG_TEXT: 2.0, FieldType.TEXT: 1.0, FieldType.DATE: 0.8,
                FieldType.NUMBER: 0.7, FieldType.CHOICE: 1.0, FieldType.YES_NO: 0.7}


def write_docx_form(definition: FormDefinition, person: Personalisation,
                    identity: FormIdentity) -> bytes:
    """A fillable `.docx` of `definition`, pre-filled for `person`, carrying `identity`."""
    master = _master(definition)
    return master.copy(_prefilled_values(definition, person), identity.to_properties())


_MASTERS: dict[tuple[str, str, str], WordMaster] = {}


def _master(definition: FormDefinition) -> WordMaster:
    """The blank form, built once per definition (and contact line, source line); every copy
    patches two parts of it."""
    key = (definition.hash, definition.return_to, definition.source)
    if key not in _MASTERS:
        _MASTERS[key] = WordMaster.of(_build_blank(definition))
    return _MASTERS[key]


_BLANK_TEXT: dict[str, list[str]] = {}


def blank_loose_text(definition: FormDefinition) -> list[str]:
    """The text of the blank form's paragraphs outside its controls (labels, headings, notes)."""
    if definition.hash not in _BLANK_TEXT:
        _BLANK_TEXT[definition.hash] = loose_text_of(_master(definition).document)
    return _BLANK_TEXT[definition.hash]


def _build_blank(definition: FormDefinition) -> bytes:
    token_note = f"{definition.title} \u2022 form {definition.id}, version {definition.version}"
    form = FormDocument(marking=definition.marking, footer_note=token_note)
    form.title(definition.title, subtitle=f"Source: {definition.source}" if definition.source else "")
    form.boxed(_instructions(definition))
    for section in definition.sections:
        _section(form, section)
    if definition.return_to:
        form.paragraph(definition.return_to, bold=True)
    return form.save(core_title=definition.title, core_subject=definition.id)


def _instructions(definition: FormDefinition) -> str:
    lines = [definition.instructions] if definition.instructions else []
    lines.append("Boxes marked * must be filled in. Only the answer boxes can be changed.")
    return "\n".join(lines)


def _prefilled_values(definition: FormDefinition, person: Personalisation) -> dict[str, Fill]:
    known = {f.id: person.prefill(f.prefill) for f in definition.fields if f.prefill}
    return control_values(definition, {k: v for k, v in known.items() if v})


def fill_docx_form(data: bytes, definition: FormDefinition, values: dict[str, object]) -> bytes:
    """A copy of a generated form with answers typed in (sample returns, pre-filled copies).

    `values` are in the raw or typed shape of `pipeline.core.values` (a choice by its value).
    """
    return fill_document(data, control_values(definition, values))


def control_values(definition: FormDefinition, values: dict[str, object]) -> dict[str, Fill]:
    """Field values as what each tagged control shows (labels, dates, ticks, table rows)."""
    filled: dict[str, Fill] = {}
    for f in definition.fields:
        value = values.get(f.id)
        if value in (None, "", []):
            continue
        if f.is_table:
            filled[f.id] = [{c.id: _shown(c.type, c.choice_label, row.get(c.id)) for c in f.columns
                             if row.get(c.id) not in (None, "")} for row in value]  # type: ignore[union-attr]
        elif f.shown_as_ticks:
            chosen = value if isinstance(value, list) else [value]
            filled.update({f"{f.id}.{c.value}": c.value in chosen for c in f.choices})
        else:
            filled[f.id] = _shown(f.type, f.choice_label, value)
    return filled


def _shown(kind: FieldType, label_of: object, value: object) -> str | date:
    if kind is FieldType.DATE and not isinstance(value, date):
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return str(value)  # typed as text, as a person might: validation will say so
    if isinstance(value, date):
        return value
    if kind in (FieldType.CHOICE, FieldType.YES_NO):
        return label_of(str(value))  # type: ignore[operator]
    return str(value)


# --- layout --------------------------------------------------------------------------------------


def _section(form: FormDocument, section: Section) -> None:
    form.heading(section.title)
    if section.intro:
        form.paragraph(section.intro, italic=True)
    rows: LabelTable | None = None
    for item in section.items:
        if isinstance(item, Group):
            rows = rows or form.label_table()
            parts = [_part(f, item.number) for f in item.fields]
            rows.question(item.number, item.label, item.note, parts)
        elif item.is_table:
            rows = None
            _table_field(form, item)
        elif item.shown_as_ticks and _long_choices(item):
            rows = None
            form.tick_table(_label(item), [(c.label, _tick(item, c.value)) for c in item.choices])
        else:
            rows = rows or form.label_table()
            if item.shown_as_ticks:
                rows.question(item.number, item.label, item.help, [_part(item, item.number)])
            else:
                rows.field(_label(item), item.help, _input(item), required=item.required)
    form.paragraph("")


def _label(f: Field) -> str:
    return f"{f.number}. {f.label}" if f.number else f.label


def _long_choices(f: Field) -> bool:
    return any(len(c.label) > INLINE_TICKS_MAX for c in f.choices)


def _part(f: Field, group_number: str = "") -> tuple[str, list[tuple[str, Input]]]:
    """A field inside a numbered question: its small label and its control(s)."""
    label = f.label if f.number in ("", group_number) else _label(f)
    label += " *" if f.required else ""
    if f.shown_as_ticks:
        return label, [(c.label, _tick(f, c.value)) for c in f.choices]
    return label, [("", _input(f))]


def _input(f: Field) -> Input:
    items = tuple((c.value, c.label) for c in f.choices)
    return Input(kind=KIND_OF[f.type], tag=f.id, alias=f.label, items=items)


def _tick(f: Field, value: str) -> Input:
    return Input(kind="checkbox", tag=f"{f.id}.{value}", alias=f"{f.label}: {f.choice_label(value)}")


def _cell_input(f: Field, column: Column) -> Input:
    items = tuple((c.value, c.label) for c in column.choices)
    return Input(kind=KIND_OF[column.type], tag=f"{f.id}.{column.id}", alias=column.label,
                 items=items, in_cell=True)


def _table_field(form: FormDocument, f: Field) -> None:
    form.paragraph(_label(f) + (" *" if f.required else ""), bold=True)
    if f.help:
        form.small(f.help)
    total = sum(COLUMN_SHARE.get(c.type, 1.0) for c in f.columns)
    columns = [(c.label, COLUMN_SHARE.get(c.type, 1.0) / total) for c in f.columns]
    rows = [[_cell_input(f, c) for c in f.columns] for _ in range(max(f.rows, 1))]
    form.repeating_table(f.id, f.label, columns, rows)
