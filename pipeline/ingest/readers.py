"""Identify and read one returned form file into raw field values, through an ordered list of
readers, one per format (`READERS`): the first that recognises the file reads it.

Identity comes from the file's custom properties (or a PDF's footer); a file whose identity is
gone is recognised by its format's own layout check (`word.matches_layout`,
`excel.matches_layout`) when exactly one definition fits, and rejected otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Protocol

from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import DefinitionError, UnknownForm, UnreadableFile
from pipeline.core.identity import FormIdentity
from pipeline.core.values import RawValues
from pipeline.generate.word import blank_loose_text
from pipeline.ingest import excel, word
from pipeline.ooxml.package import Package, read_custom_properties
from pipeline.ooxml.worddoc import read_content

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


class ReturnedFile:
    """A file as the readers see it: its bytes, its name, and (opened once, when first asked)
    its Office package, through the safety preflight."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name = data, name
        self.suffix = PurePath(name).suffix.lower()

    @cached_property
    def package(self) -> Package:
        return Package.open(self.data, source_name=self.name)


class Reader(Protocol):
    """One format: `recognises` says whether the file is in it; `read` reads it or refuses it."""

    def recognises(self, file: ReturnedFile) -> bool: ...

    def read(self, file: ReturnedFile, library: FormLibrary) -> ReadForm: ...


def looks_like_form(name: str) -> bool:
    return PurePath(name).suffix.lower() in FORM_SUFFIXES


def read_form(data: bytes, name: str, library: FormLibrary) -> ReadForm:
    """Identify the form in `data` and read its raw values; raises a RejectedFile otherwise."""
    file = ReturnedFile(data, name)
    for reader in READERS:
        if reader.recognises(file):
            return reader.read(file, library)
    raise UnknownForm(f"This Office file is not one of our forms. We accept {ACCEPTED_KINDS}.")


# --- the readers, one per format ---------------------------------------------------------------


class OpenDocumentReader:
    """An .odt or .ods: not read, with how to save it as Word or Excel instead."""

    def recognises(self, file: ReturnedFile) -> bool:
        return file.suffix in (".odt", ".ods")

    def read(self, file: ReturnedFile, library: FormLibrary) -> ReadForm:
        raise UnreadableFile(
            "This is an OpenDocument file. Please save it as a Word document (.docx) or Excel "
            "workbook (.xlsx) — in LibreOffice use File, Save As, and choose the Word or Excel type."
        )


class PdfReader:
    """A PDF (by its content, whatever its name): identity from its footer, answers from its
    form fields or its flat layout."""

    def recognises(self, file: ReturnedFile) -> bool:
        return file.data[:5] == b"%PDF-" or file.suffix == ".pdf"

    def read(self, file: ReturnedFile, library: FormLibrary) -> ReadForm:
        if file.data[:5] != b"%PDF-":
            raise UnreadableFile("This file is named .pdf but is not a PDF: it may be damaged.")
        from pipeline.ingest import pdf  # pdfplumber is slow to import: only when a PDF arrives

        found = pdf.pdf_identity(file.data)
        if found is None:
            raise UnknownForm(
                "We could not tell which form this PDF is. Please send the Word or Excel form itself "
                "rather than a PDF, or a PDF saved from the form we sent, without changing it."
            )
        form_id, version = found
        identity = FormIdentity(form_id, version, token=pdf.pdf_token(file.data))
        definition = _definition_for(identity, library)
        return ReadForm(definition, identity, pdf.read_pdf_values(file.data, definition), "pdf")


class WordReader:
    """A Word document: its content controls, rows added without controls, and stray text."""

    def recognises(self, file: ReturnedFile) -> bool:
        return file.package.kind == "docx"

    def read(self, file: ReturnedFile, library: FormLibrary) -> ReadForm:
        identity = FormIdentity.from_properties(read_custom_properties(file.package))
        content = read_content(file.package)
        controls = content.controls
        if not controls and identity is not None:
            raise UnknownForm(
                "The answer boxes have been taken out of this form: this happens when it is edited in "
                "a program that does not keep Word's form boxes (Google Docs or Word on the web, for "
                "example). Please fill in the form again in Word or LibreOffice and send it.")
        if not controls:
            raise UnknownForm("This Word document has no boxes to fill in, so it is not one of our forms.")
        definition = (_definition_for(identity, library) if identity
                      else _only_fit(library, lambda d: word.matches_layout(d, controls)))
        raw = word.docx_values(definition, controls, content.plain_rows)
        stray = word.stray_texts(raw, content.loose, blank_loose_text(definition))
        return ReadForm(definition, identity, raw, "docx",
                        (*_notes(identity, definition), *_stray_notes(stray)), tuple(stray))


class ExcelReader:
    """An Excel workbook: its answers through the defined names of the form's inputs."""

    def recognises(self, file: ReturnedFile) -> bool:
        return file.package.kind == "xlsx"

    def read(self, file: ReturnedFile, library: FormLibrary) -> ReadForm:
        excel.check_size(file.package)
        workbook = excel.open_workbook(file.data, file.package)
        identity = workbook.identity
        definition = (_definition_for(identity, library) if identity
                      else _only_fit(library, lambda d: excel.matches_layout(d, workbook)))
        return ReadForm(definition, identity, workbook.values(definition), "xlsx",
                        _notes(identity, definition))


#: Tried in this order: the cheap checks by name and first bytes before opening a package.
READERS: tuple[Reader, ...] = (OpenDocumentReader(), PdfReader(), WordReader(), ExcelReader())


# --- what every reader shares -------------------------------------------------------------------


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


def _stray_notes(stray: list[str]) -> tuple[str, ...]:
    """A note for the clerk quoting text typed where no answer box is (never dropped silently)."""
    if not stray:
        return ()
    quoted = "; ".join(f"\u201c{text}\u201d" for text in stray[:10])
    more = f" and {len(stray) - 10} more" if len(stray) > 10 else ""
    return (f"text typed outside the answer boxes, kept here for the clerk: {quoted}{more}",)


def _only_fit(library: FormLibrary, fits: Callable[[FormDefinition], bool]) -> FormDefinition:
    """The one definition (any version) whose layout fits the file, when its identity is lost."""
    candidates = [d for form_id in library.ids() for d in library.versions(form_id) if fits(d)]
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
