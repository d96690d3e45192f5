"""Blank forms as tagged, accessible PDF (PDF/UA-1): to read on screen, or print and fill in by hand.

The blank Word form is exported by LibreOffice (papers/convert.py: tagged, /Title from the form's
title, /Lang from its en-GB, bookmarks from its headings), then its tables are made readable: a
question table (label | answer box) has no header row, so each row's label cell becomes the row's
header (TH, scope Row) and a screen reader announces the question with its answer box; the
one-cell box round the instructions is a box, not a table, so it is read as the paragraphs it holds;
and the form's title (Word's Title style, which LibreOffice tags as a plain paragraph) becomes the
one H1, its sections' headings H2.
Measured with LibreOffice 7.4: content controls come out as their placeholder text, not as PDF
form fields (see FACTS.md), so the PDF is a readable form, not a fillable one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline.core.definitions import FormDefinition
from pipeline.core.errors import GenerationError
from pipeline.core.files import write_new_file
from pipeline.core.identity import Personalisation
from pipeline.generate.forms import form_bytes, form_file_name
from pipeline.papers import convert

ConvertToPdf = Callable[[list[Path], Path], dict[Path, Path]]


def write_blank_pdfs(definitions: Iterable[FormDefinition], out_dir: Path, *,
                     to_pdf: ConvertToPdf = convert.to_pdf) -> list[Path]:
    """Each form's blank copy as `<id>-blank.pdf` in `out_dir` (one LibreOffice run for all);
    never overwrites: a name taken gets -2, as generated forms do."""
    definitions = list(definitions)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-blank-pdf-") as work:
        folder = Path(work)
        sources = []
        for definition in definitions:
            data, _ = form_bytes(definition, "docx", Personalisation())
            source = folder / form_file_name(definition, Personalisation(), "docx")
            source.write_bytes(data)
            sources.append(source)
        made = to_pdf(sources, folder)
        for source in sources:
            pdf = made[source]
            make_tables_readable(pdf)
            written.append(write_new_file(out_dir, pdf.name, pdf.read_bytes()))
    return written


def make_tables_readable(path: Path) -> None:
    """Rewrite the structure of LibreOffice's tables in the PDF at `path` (see the module's note)."""
    import pikepdf

    try:
        with pikepdf.open(path, allow_overwriting_input=True) as pdf:
            tree = pdf.Root.get("/StructTreeRoot")
            if tree is None:
                raise GenerationError(f"The PDF {path.name} is not tagged, so it is not accessible.")
            for table in _elements(tree, "/Table"):
                _read_table(table)
            _title_heading(tree)
            pdf.save(path)
    except pikepdf.PdfError as exc:
        raise GenerationError(f"The PDF {path.name} could not be made accessible: {exc}") from exc


def _read_table(table) -> None:  # type: ignore[no-untyped-def]
    import pikepdf

    rows = [kid for kid in _kids(table) if _role(kid) == "/TR"]
    cells = [[cell for cell in _kids(row) if _role(cell) in {"/TH", "/TD"}] for row in rows]
    if any(_role(cell) == "/TH" for row in cells for cell in row):
        for row in cells:  # a header row (Word's "repeat as header row"): it heads the columns
            for cell in row:
                if _role(cell) == "/TH":
                    _scope(cell, "/Column")
        return
    if all(len(row) <= 1 for row in cells):  # a box drawn round some paragraphs
        for element in [table, *rows, *(cell for row in cells for cell in row)]:
            element.S = pikepdf.Name.Div
            if "/A" in element:  # a table's layout attributes (BBox, Width) do not belong on a Div
                del element["/A"]
        return
    for row in cells:  # question | answer: the question heads its row
        if len(row) > 1:
            row[0].S = pikepdf.Name.TH
            _scope(row[0], "/Row")


def _title_heading(tree) -> None:  # type: ignore[no-untyped-def]
    """The first paragraph (the form's title) as H1 and every heading one level below it."""
    import pikepdf

    roles = tree.get("/RoleMap") or {}
    everything = _elements(tree, None)
    first = next((e for e in everything if _role(e) not in {"/Document", "/Sect", "/Part", "/Div"}), None)
    if first is None or str(roles.get(_role(first), _role(first))) != "/P":  # LibreOffice: /Title -> /P
        return
    for element in everything:
        role = _role(element)
        if len(role) == 3 and role.startswith("/H") and role[2] in "12345":
            element.S = pikepdf.Name(f"/H{int(role[2]) + 1}")
    first.S = pikepdf.Name.H1


def _scope(cell, scope: str) -> None:  # type: ignore[no-untyped-def]
    from pikepdf import Array, Dictionary, Name

    attributes = cell.get("/A")
    table_attributes = Dictionary(O=Name.Table, Scope=Name(scope))
    if attributes is None:
        cell.A = table_attributes
    elif isinstance(attributes, Dictionary) and attributes.get("/O") == Name.Table:
        attributes.Scope = Name(scope)
    elif isinstance(attributes, Dictionary):
        cell.A = Array([attributes, table_attributes])
    else:
        attributes.append(table_attributes)


def _elements(node, role: str | None) -> list:  # type: ignore[no-untyped-def]
    """Every structure element with `role` (None: any) under `node`, in reading order."""
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        if (role is None and _role(item)) or (role is not None and _role(item) == role):
            found.append(item)
        stack.extend(reversed(_kids(item)))
    return found


def _kids(element) -> list:  # type: ignore[no-untyped-def]
    import pikepdf

    if not isinstance(element, pikepdf.Dictionary):
        return []
    kids = element.get("/K")
    if isinstance(kids, pikepdf.Array):
        return [kid for kid in kids if isinstance(kid, pikepdf.Dictionary) and "/S" in kid]
    if isinstance(kids, pikepdf.Dictionary) and "/S" in kids:
        return [kids]
    return []


def _role(element) -> str:  # type: ignore[no-untyped-def]
    import pikepdf

    return str(element.get("/S", "")) if isinstance(element, pikepdf.Dictionary) else ""
