"""Tagged PDF from reportlab: marked content while a story is drawn, and the structure tree it makes.

reportlab writes untagged PDF. `PageTags` wraps a story's flowables so that each one's drawing is a
marked-content sequence (`/H1 <</MCID n>> BDC ... EMC`) recorded as an element (heading, paragraph,
table cell), decoration (rules, cell shading, grid lines, the marking lines) is an `/Artifact`, and a
data table's cells become Table / TR / TH / TD (a header row repeated on a later page is an artifact
there: it was read once). `add_to_structure` then writes those elements into a pikepdf structure
tree, pointing each at the page it was drawn on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.platypus import Flowable, Table

ARTIFACT = "/Artifact BMC"
PAGINATION_ARTIFACT = "/Artifact <</Type /Pagination>> BDC"
END = "EMC"


@dataclass
class Marked:
    """One marked-content sequence: the 0-based page it is on and its MCID there."""

    page: int
    mcid: int


@dataclass
class Element:
    """A structure element: its role (H1, P, Table, TR, TH, TD), attributes and kids in reading order."""

    role: str
    kids: list[Element | Marked] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    title: str | None = None

    def elements(self, role: str) -> list[Element]:
        """Every element with `role` at or below this one, in reading order."""
        found = [self] if self.role == role else []
        for kid in self.kids:
            if isinstance(kid, Element):
                found += kid.elements(role)
        return found


class PageTags:
    """Records what a reportlab story draws as tagged content, under one root element."""

    def __init__(self, root_role: str = "Sect", title: str | None = None) -> None:
        self.root = Element(root_role, title=title)
        self._parents = [self.root]  # where a tagged flowable's element goes: the root, or a cell
        self._next_mcid: dict[int, int] = {}

    # --- wrapping the story --------------------------------------------------------------------

    def tagged(self, flowable: Flowable, role: str) -> Flowable:
        """`flowable` drawn as one element of `role` (a heading, a paragraph)."""
        return _Wrapped(flowable, lambda canvas: self._open(canvas, role, self._parents[-1]))

    def artifact(self, flowable: Flowable) -> Flowable:
        """`flowable` drawn as decoration, outside the structure (a rule, a spacer)."""
        return _Wrapped(flowable, _open_artifact)

    def data_table(self, rows: list[list[Any]], *, header_rows: int = 1, **options: Any) -> Table:
        """A reportlab Table whose cells are tagged TH (the first `header_rows` rows, scope column)
        or TD; every cell must be its own flowable object (a Paragraph, or a list of them). A cell
        of several flowables each wrapped with `tagged` holds them as its own elements (TD > P, P)."""
        table = Element("Table")
        places: dict[int, tuple[Element, str]] = {}
        for number, row in enumerate(rows):
            tr = Element("TR")
            table.kids.append(tr)
            for cell in row:
                if isinstance(cell, str):
                    raise TypeError("a tagged table cell must be a flowable, not a string")
                role = "TH" if number < header_rows else "TD"
                element = Element(role, attributes={"Scope": "Column"} if role == "TH" else {})
                tr.kids.append(element)
                places[_cell_key(cell)] = (element, role)
        drawn: set[int] = set()
        holding: list[bool] = []  # per cell being drawn: True when its flowables tag themselves

        def render(flowable: Table, command: str, *args: Any) -> None:
            canvas = flowable.canv
            if command == "startTable" and table not in self._parents[-1].kids:
                self._parents[-1].kids.append(table)  # in reading order: where it is first drawn
            elif command in {"startBG", "startLines"}:
                canvas._code.append(ARTIFACT)
            elif command in {"endBG", "endLines"}:
                canvas._code.append(END)
            elif command == "startCell":
                key, cell = _cell_key(args[2]), args[2]
                if key in drawn or key not in places:  # a header row repeated on a later page
                    holding.append(False)
                    canvas._code.append(ARTIFACT)
                    return
                drawn.add(key)
                element, role = places[key]
                holding.append(isinstance(cell, list | tuple) and len(cell) > 1
                               and all(isinstance(part, _Wrapped) for part in cell))
                if holding[-1]:
                    self._parents.append(element)
                else:
                    element.kids.append(self._mark(canvas, role))
            elif command == "endCell":
                if holding.pop():
                    self._parents.pop()
                else:
                    canvas._code.append(END)

        return Table(rows, renderCB=render, **options)

    def layout_table(self, rows: list[list[Any]], **options: Any) -> Table:
        """A reportlab Table used only to draw a box: its shading and lines are artifacts and its
        cells' flowables (wrapped with `tagged`) are read as they are, with no table structure."""

        def render(flowable: Table, command: str, *args: Any) -> None:
            if command in {"startBG", "startLines"}:
                flowable.canv._code.append(ARTIFACT)
            elif command in {"endBG", "endLines"}:
                flowable.canv._code.append(END)

        return Table(rows, renderCB=render, **options)

    @staticmethod
    def decoration(draw: Callable[[Any], None]) -> Callable[[Any], None]:
        """A page callback (header and footer lines) whose drawing is a pagination artifact."""

        def decorate(canvas: Any, *args: Any) -> None:
            canvas._code.append(PAGINATION_ARTIFACT)
            draw(canvas, *args)
            canvas._code.append(END)

        return decorate

    # --- recording -----------------------------------------------------------------------------

    def _open(self, canvas: Any, role: str, parent: Element) -> None:
        element = Element(role)
        element.kids.append(self._mark(canvas, role))
        parent.kids.append(element)

    def _mark(self, canvas: Any, role: str) -> Marked:
        page = canvas.getPageNumber() - 1
        mcid = self._next_mcid.get(page, 0)
        self._next_mcid[page] = mcid + 1
        canvas._code.append(f"/{role} <</MCID {mcid}>> BDC")
        return Marked(page, mcid)


def _cell_key(cell: Any) -> int:
    """Which cell this is: reportlab holds a cell's flowables in a tuple of its own making."""
    if isinstance(cell, list | tuple):
        return id(cell[0]) if cell else id(cell)
    return id(cell)


def _open_artifact(canvas: Any) -> None:
    canvas._code.append(ARTIFACT)


class _Wrapped(Flowable):
    """A flowable drawn between `open(canvas)` and EMC; splits into wrapped parts."""

    def __init__(self, inner: Flowable, open_: Callable[[Any], None]) -> None:
        super().__init__()
        self.inner, self._open = inner, open_

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width, self.height = self.inner.wrap(available_width, available_height)
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        return [_Wrapped(part, self._open) for part in self.inner.split(available_width, available_height)]

    def getSpaceBefore(self) -> float:  # noqa: N802 (reportlab's name)
        return self.inner.getSpaceBefore()

    def getSpaceAfter(self) -> float:  # noqa: N802
        return self.inner.getSpaceAfter()

    def draw(self) -> None:
        self._open(self.canv)
        self.inner.drawOn(self.canv, 0, 0)
        self.canv._code.append(END)


# --- writing the structure tree (pikepdf) ---------------------------------------------------------


def add_to_structure(pdf: Any, root: Element, parent: Any, pages: Sequence[Any], first_key: int,
                     nums: Any) -> int:
    """Write `root` (and everything under it) as structure elements under `parent`; `pages[i]` is
    the pack's page drawn as page i. Each page's parent-tree entry goes into `nums` from key
    `first_key`; returns the next free key."""
    from pikepdf import Array

    owners: dict[int, dict[int, Any]] = {}
    element = _write(pdf, root, parent, pages, owners)
    parent.K.append(element)
    key = first_key
    for page_index in sorted(owners):
        by_mcid = owners[page_index]
        page = pages[page_index]
        page.obj.StructParents = key
        nums.extend([key, Array([by_mcid[mcid] for mcid in range(max(by_mcid) + 1)])])
        key += 1
    return key


def _write(pdf: Any, node: Element, parent: Any, pages: Sequence[Any], owners: dict) -> Any:
    from pikepdf import Array, Dictionary, Name, String

    made = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name("/" + node.role), P=parent,
                                        K=Array()))
    if node.title:
        made.T = String(node.title)
    if node.attributes:
        attributes = {key: Name("/" + value) for key, value in node.attributes.items()}
        made.A = Dictionary(O=Name.Table, **attributes)
    marks = [kid for kid in node.kids if isinstance(kid, Marked)]
    if marks:
        made.Pg = pages[marks[0].page].obj
    for kid in node.kids:
        if isinstance(kid, Element):
            made.K.append(_write(pdf, kid, made, pages, owners))
            continue
        owners.setdefault(kid.page, {})[kid.mcid] = made
        if kid.page == marks[0].page:
            made.K.append(kid.mcid)
        else:
            made.K.append(Dictionary(Type=Name.MCR, Pg=pages[kid.page].obj, MCID=kid.mcid))
    return made
