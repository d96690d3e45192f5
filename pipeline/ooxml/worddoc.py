"""A `.docx` package's main document: fill controls for a personal copy, read controls back."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import UnknownForm
from pipeline.ooxml import zipcopy
from pipeline.ooxml.package import CUSTOM_PART, Package, custom_properties_xml, with_custom_properties
from pipeline.ooxml.wordml import Control, Fill, fill_controls, read_controls
from pipeline.ooxml.xml import parse_xml, to_bytes

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


@dataclass(frozen=True)
class WordMaster:
    """A ready-made form package; each copy changes only its document and custom properties."""

    package: bytes
    document: bytes

    @classmethod
    def of(cls, blank: bytes) -> WordMaster:
        prepared = with_custom_properties(blank, {})  # so every copy only replaces parts
        return cls(prepared, Package.open(prepared).read(DOCUMENT))

    def copy(self, values: dict[str, Fill], properties: dict[str, str]) -> bytes:
        """A copy with `values` in the tagged controls and exactly `properties` as custom ones."""
        parts = {CUSTOM_PART: custom_properties_xml(properties)}
        if values:
            root = parse_xml(self.document, DOCUMENT)
            fill_controls(root, values)
            parts[DOCUMENT] = to_bytes(root)
        return zipcopy.rewrite(self.package, parts)
