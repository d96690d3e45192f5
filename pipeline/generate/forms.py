"""Generating forms: blank or personalised, Word or Excel, written safely into a folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.core.definitions import FormDefinition
from pipeline.core.errors import ConfigError
from pipeline.core.files import slug, write_new_file
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.generate.excel import write_xlsx_form
from pipeline.generate.word import write_docx_form

Writer = Callable[[FormDefinition, Personalisation, FormIdentity], bytes]
WRITERS: dict[str, Writer] = {"docx": write_docx_form, "xlsx": write_xlsx_form}
FORMATS = tuple(WRITERS)


def form_bytes(definition: FormDefinition, fmt: str,
               person: Personalisation) -> tuple[bytes, FormIdentity]:
    """The form file's bytes and the identity it carries (a fresh token when personalised)."""
    if fmt not in WRITERS:
        raise ConfigError(f"Unknown format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    person = person.with_token()
    identity = FormIdentity.for_copy(definition.id, definition.version, definition.hash, person)
    return WRITERS[fmt](definition, person, identity), identity


def generate_form(definition: FormDefinition, fmt: str, person: Personalisation,
                  out_dir: Path) -> tuple[Path, FormIdentity]:
    """Write one form into `out_dir` under a name a person recognises; never overwrite."""
    data, identity = form_bytes(definition, fmt, person)
    name = form_file_name(definition, person, fmt)
    return write_new_file(out_dir, name, data), identity


def form_file_name(definition: FormDefinition, person: Personalisation, fmt: str) -> str:
    parts = [definition.id]
    if person.partnership:
        parts.append(slug(person.partnership))
    if person.meeting_date:
        parts.append(person.meeting_date.isoformat())
    if person.member:
        parts.append(slug(person.member))
    if len(parts) == 1:
        parts.append("blank")
    return "-".join(parts) + f".{fmt}"
