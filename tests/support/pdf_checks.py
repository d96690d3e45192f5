"""What a tagged, accessible PDF must have, checked with pikepdf, and the `pdfua` checker's verdict.

    structure_problems(path) -> [] when the PDF is tagged (/MarkInfo /Marked, a structure tree
        reaching every page), declares /Lang en-GB and a /Title shown as the window title
        (DisplayDocTitle), has bookmarks, and every /Figure has /Alt.
    pdfua_errors(path) -> the `pdfua` package's ERROR findings (its machine-checkable subset of PDF/UA-1).
    tagged_text(path, page) -> (role, text) of each structure element on a page, in reading order,
        read back with pdfplumber from the marked content; artifact_text(path, page) -> the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _walk(element, pages: set, figures: list, headings: list) -> None:  # type: ignore[no-untyped-def]
    import pikepdf

    if isinstance(element, pikepdf.Array):
        for kid in element:
            _walk(kid, pages, figures, headings)
        return
    if not isinstance(element, pikepdf.Dictionary):
        return
    if "/Pg" in element:
        pages.add(element.Pg.objgen)
    kind = str(element.get("/S", ""))
    if kind == "/Figure":
        figures.append(element)
    if kind in {"/H", "/H1", "/H2", "/H3", "/H4", "/H5", "/H6"}:
        headings.append(kind)
    if "/K" in element and str(element.get("/Type", "")) != "/MCR":
        _walk(element.K, pages, figures, headings)


def structure_problems(path: Path, language: str = "en-GB") -> list[str]:
    import pikepdf

    problems: list[str] = []
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        if not bool(root.get("/MarkInfo", {}).get("/Marked", False)):
            problems.append("not marked as tagged (/MarkInfo /Marked)")
        if str(root.get("/Lang", "")) != language:
            problems.append(f"/Lang is {root.get('/Lang')!r}, not {language}")
        if not str(pdf.docinfo.get("/Title", "")).strip():
            problems.append("no /Title")
        if not bool(root.get("/ViewerPreferences", {}).get("/DisplayDocTitle", False)):
            problems.append("the title is not shown as the window title (DisplayDocTitle)")
        with pdf.open_outline() as outline:
            if not outline.root:
                problems.append("no bookmarks")
        if "/StructTreeRoot" not in root:
            problems.append("no structure tree")
            return problems
        pages: set = set()
        figures: list = []
        headings: list = []
        _walk(root.StructTreeRoot.get("/K"), pages, figures, headings)
        unreached = [n for n, page in enumerate(pdf.pages, 1) if page.obj.objgen not in pages]
        if unreached:
            problems.append(f"pages not reached from the structure tree: {unreached}")
        for figure in figures:
            if not str(figure.get("/Alt", "")).strip():
                problems.append("a figure has no /Alt")
        levels = [int(h[2:]) for h in headings if h != "/H"]
        for before, after in zip(levels, levels[1:], strict=False):
            if after > before + 1:
                problems.append(f"heading level jumps from H{before} to H{after}")
                break
    return problems


def pdfua_errors(path: Path) -> list[str]:
    """The pdfua checker's errors (skips the test when the checker is not installed)."""
    try:
        import pdfua
    except ImportError:
        pytest.skip("the PDF/UA checker is not installed (pip install pdfua)")
    report = pdfua.validate(str(path))
    return [
        f"{finding.rule_id} (page {finding.location.page}): {finding.message}"
        for finding in report.findings
        if finding.severity >= pdfua.Severity.ERROR
    ]


def tagged_text(path: Path, page: int) -> list[tuple[str, str]]:
    """Every structure element on `page` (0-based) as (role, its text): Table and TR with "", cells
    and paragraphs with the characters their marked content holds."""
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        drawn = pdf.pages[page]
        texts: dict[int, str] = {}
        for char in drawn.chars:
            if char.get("mcid") is not None:
                texts[char["mcid"]] = texts.get(char["mcid"], "") + char["text"]
        found: list[tuple[str, str]] = []

        def text(element: dict) -> str:
            own = "".join(texts.get(m, "") for m in element.get("mcids") or [])
            return " ".join([own] * bool(own) + [text(child) for child in element.get("children", [])])

        def walk(element: dict) -> None:
            if element["type"] in {"TH", "TD"}:  # a cell: all it holds (TD > P, P read as one cell)
                found.append((element["type"], text(element)))
                return
            if element.get("mcids") or element["type"] in {"Table", "TR"}:
                found.append((element["type"], "".join(texts.get(m, "") for m in element.get("mcids") or [])))
            for child in element.get("children", []):
                walk(child)

        for element in drawn.structure_tree:
            walk(element)
    return found


def artifact_text(path: Path, page: int) -> str:
    """The text drawn on `page` (0-based) as artifacts: running heads, page numbers, repeated headers."""
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "".join(char["text"] for char in pdf.pages[page].chars if char.get("tag") == "Artifact")
