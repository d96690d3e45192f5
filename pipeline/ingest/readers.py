"""Identify and read one returned form file (Word, Excel or PDF) into raw field values.

Identity comes from the file's custom properties (or a PDF's footer); a file whose identity is
gone is recognised from its content when exactly one definition fits, and rejected otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import DefinitionError, UnknownForm, UnreadableFile
from pipeline.core.identity import FormIdentity
from pipeline.core.values import RawValues
from pipeline.generate.word import blank_loose_text
from pipeline.ingest.excel import MAX_CELLS, open_workbook
from pipeline.ingest.word import docx_values, matches_layout, stray_texts
from pipeline.ooxml.package import Package, count_sheet_cells, read_custom_properties
from pipeline.ooxml.worddoc import read_content
from pipeline.ooxml.wordml import Control

FORM_SUFFIXES = {".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pdf", ".doc", ".xls", ".odt", ".ods"}
ACCEPTED_KINDS = "a Word form (.docx), an Excel form (.xlsx), a PDF of the form, or a saved email"


@dataclass(frozen=True)
class ReadForm:
    """A returned file, identified and read, not yet validated."""

    definition: FormDefinition
    identity: FormIdentity | None
    raw: RawValues
    kind: str  # "docx", "xlsx" or "pdf"
    notes: tuple[str, ...] = field(default=())
    #: Text found outside every answer box that is not part of the form (quoted in `notes`).
    stray: tuple[str, ...] = field(default=())


def looks_like_form(name: str) -> bool:
    return PurePath(name).suffix.lower() in FORM_SUFFIXES


def read_form(data: bytes, name: str, library: FormLibrary) -> ReadForm:
    """Identify the form in `data` and read its raw values; raises a RejectedFile otherwise."""
    suffix = PurePath(name).suffix.lower()
    if suffix in (".odt", ".ods"):
        raise UnreadableFile(
            "This is an OpenDocument file. Please save it as a Word document (.docx) or Excel "
            "workbook (.xlsx) — in LibreOffice use File, Save As, and choose the Word or Excel type."
        )
    if data[:5] == b"%PDF-":
        return _read_pdf(data, library)
    if suffix == ".pdf":
        raise UnreadableFile("This file is named .pdf but is not a PDF: it may be damaged.")
    package = Package.open(data, source_name=name)
    if package.kind == "docx":
        return _read_docx(package, library)
    if package.kind == "xlsx":
        _check_cells(package)
        return _read_xlsx(data, package, library)
    raise UnknownForm(f"This Office file is not one of our forms. We accept {ACCEPTED_KINDS}.")


def _definition_for(identity: FormIdentity, library: FormLibrary) -> FormDefinition:
    try:
        return library.get(identity.form_id, identity.version)
    except DefinitionError:
        raise UnknownForm(
            f"This form says it is version {identity.version} of \u201c{identity.form_id}\u201d, "
            "which this office does not use. Please fill in a form sent by the clerk."
        ) from None


def _notes(identity: FormIdentity | None, definition: FormDefinition) -> tuple[str, ...]:
    if identity is None:
        return ("identity missing: recognised from its layout",)
    if identity.hash and identity.hash != definition.hash:
        return ("the definition changed since this copy was generated (same version number)",)
    return ()


def _read_docx(package: Package, library: FormLibrary) -> ReadForm:
    identity = FormIdentity.from_properties(read_custom_properties(package))
    content = read_content(package)
    controls = content.controls
    if not controls and identity is not None:
        raise UnknownForm(
            "The answer boxes have been taken out of this form: this happens when it is edited in "
            "a program that does not keep Word's form boxes (Google Docs or Word on the web, for "
            "example). Please fill in the form again in Word or LibreOffice and send it.")
    if not controls:
        raise UnknownForm("This Word document has no boxes to fill in, so it is not one of our forms.")
    definition = (_definition_for(identity, library) if identity
                  else _recognise_docx(controls, library))
    raw = docx_values(definition, controls, content.plain_rows)
    stray = stray_texts(raw, content.loose, blank_loose_text(definition))
    return ReadForm(definition, identity, raw, "docx",
                    (*_notes(identity, definition), *_stray_notes(stray)), tuple(stray))


def _stray_notes(stray: list[str]) -> tuple[str, ...]:
    """A note for the clerk quoting text typed where no answer box is (never dropped silently)."""
    if not stray:
        return ()
    quoted = "; ".join(f"\u201c{text}\u201d" for text in stray[:10])
    more = f" and {len(stray) - 10} more" if len(stray) > 10 else ""
    return (f"text typed outside the answer boxes, kept here for the clerk: {quoted}{more}",)


def _recognise_docx(controls: list[Control], library: FormLibrary) -> FormDefinition:
    candidates = [d for form_id in library.ids() for d in library.versions(form_id)
                  if matches_layout(d, controls)]
    return _only(candidates)


def _only(candidates: list[FormDefinition]) -> FormDefinition:
    if len(candidates) == 1:
        return candidates[0]
    if candidates and len({d.id for d in candidates}) == 1:
        return max(candidates, key=lambda d: d.version)  # versions share a layout: read the latest
    if not candidates:
        raise UnknownForm(
            "We could not tell which form this is: it carries none of our form markings and "
            "its boxes match none of our forms. Please use a form sent by the clerk."
        )
    names = ", ".join(f"{d.title} (version {d.version})" for d in candidates)
    raise UnknownForm(f"This file could be more than one of our forms ({names}), so it was not "
                      "read. Please use a form sent by the clerk.")


def _check_cells(package: Package) -> None:
    if count_sheet_cells(package) > MAX_CELLS:
        raise UnknownForm(
            f"This workbook holds more than {MAX_CELLS:,} cells, far more than any of "
            "our forms, so it was not read. Please fill in the Excel form we sent and send it "
            "again.")


def _read_xlsx(data: bytes, package: Package, library: FormLibrary) -> ReadForm:
    workbook = open_workbook(data, package)
    identity = workbook.identity
    if identity:
        definition = _definition_for(identity, library)
    else:
        candidates = [d for form_id in library.ids() for d in library.versions(form_id)
                      if names_fit(d, workbook.names)]
        definition = _only(candidates)
    return ReadForm(definition, identity, workbook.values(definition), "xlsx",
                    _notes(identity, definition))


def _read_pdf(data: bytes, library: FormLibrary) -> ReadForm:
    from pipeline.ingest import pdf as pdf_reader  # pdfplumber is slow to import: only when a PDF arrives

    found = pdf_reader.pdf_identity(data)
    if found is None:
        raise UnknownForm(
            "We could not tell which form this PDF is. Please send the Word or Excel form itself "
            "rather than a PDF, or a PDF saved from the form we sent, without changing it."
        )
    form_id, version = found
    identity = FormIdentity(form_id, version, token=pdf_reader.pdf_token(data))
    definition = _definition_for(identity, library)
    return ReadForm(definition, identity, pdf_reader.read_pdf_values(data, definition), "pdf")


def names_fit(definition: FormDefinition, names: frozenset[str]) -> bool:
    """True when a workbook has every defined name `definition`'s Excel form gives its inputs."""
    expected = set()
    for f in definition.fields:
        if f.is_table:
            expected.update(f"{f.id}.{c.id}" for c in f.columns)
        elif f.type.value == "multi_choice":
            expected.update(f"{f.id}.{c.value}" for c in f.choices)
        else:
            expected.add(f.id)
    return expected <= set(names)
