"""A `.docx` package's main document: fill controls for a personal copy, read controls back."""

from __future__ import annotations

from pipeline.errors import UnknownForm
from pipeline.ooxml.package import Package
from pipeline.ooxml.wordml import Control, Fill, fill_controls, read_controls
from pipeline.ooxml.xml import to_bytes

DOCUMENT = "word/document.xml"


def fill_document(docx: bytes, values: dict[str, Fill]) -> bytes:
    """`word/document.xml` of `docx` with the controls tagged by `values`' keys filled in."""
    package = Package.open(docx)
    root = package.xml(DOCUMENT)
    fill_controls(root, values)
    return to_bytes(root)


def document_controls(package: Package) -> list[Control]:
    """Every input of a Word package's main document, in document order."""
    main = package.main_document() or DOCUMENT
    if not package.has(main):
        raise UnknownForm("This Word file has no main document, so it cannot be one of our forms.")
    return read_controls(package.xml(main))
