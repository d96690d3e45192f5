"""(Re)build the default paper templates, package data in `pipeline/papers/templates/docx/` (and
their HTML twins in `../html/`), from each paper's prose in `pipeline/papers/prose/KIND.yaml`.

    python -m pipeline.papers.make_templates [FOLDER]

A prose file lists the paper's blocks in order: `opening`, `chart` and `bibliography` (the report
format's fixed parts), and mappings for a `section` or numbered `para` (with its `number`), a
`note`, a docxtpl `tag` paragraph, or a looped `table` (its `rows`, `columns`, and optionally
`totals`, `more`, `keep_together`). Every figure is a Jinja tag filled from the records: see
docs/papers for what each paper provides. The same prose gives the same bytes on every run.

The templates are the clerk's to edit in Word afterwards (wording, layout, the Title in
File > Properties): `pipeline templates copy` puts copies into a home's `templates/docx/`, which
override the defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.errors import GenerationError
from pipeline.papers.monitoring import TITLE as MONITORING_TITLE
from pipeline.papers.render import DEFAULT_TEMPLATES
from pipeline.papers.risk_register import TITLE as RISK_TITLE
from pipeline.papers.survey import TITLE as SURVEY_TITLE
from pipeline.papers.template_builder import ReportTemplate, TableColumn

PROSE = Path(__file__).resolve().parent / "prose"
TITLES = {
    "monitoring-summary": MONITORING_TITLE,
    "risk-register": RISK_TITLE,
    "survey-results": SURVEY_TITLE,
}
FIXED_PARTS = {
    "opening": ReportTemplate.opening,
    "chart": ReportTemplate.chart,
    "bibliography": ReportTemplate.bibliography,
}
Block = Mapping[str, Any]


def paper_template(kind: str) -> ReportTemplate:
    """The template of paper `kind`, built block by block from its prose file."""
    prose = yaml.safe_load((PROSE / f"{kind}.yaml").read_text(encoding="utf-8"))
    paper = ReportTemplate(TITLES[kind], prose["subject"])
    for block in prose["blocks"]:
        _add(paper, block, kind)
    return paper


def _add(paper: ReportTemplate, block: str | Block, kind: str) -> None:
    if isinstance(block, str) and block in FIXED_PARTS:
        FIXED_PARTS[block](paper)
        return
    adders = [add for name, add in BLOCKS.items() if isinstance(block, Mapping) and name in block]
    if len(adders) != 1:
        raise GenerationError(f"The prose of the {kind} paper has a block make_templates does not "
                              f"know: {block!r}. Use one of {', '.join([*FIXED_PARTS, *BLOCKS])}.")
    adders[0](paper, block)  # type: ignore[arg-type]


def _table(paper: ReportTemplate, block: Block) -> None:
    paper.loop_table(block["table"], block["rows"], [TableColumn(**column) for column in block["columns"]],
                     totals=block.get("totals", False), more=block.get("more"),
                     keep_together=block.get("keep_together", False))


BLOCKS: dict[str, Callable[[ReportTemplate, Block], None]] = {
    "section": lambda paper, block: paper.section(block["number"], block["section"]),
    "para": lambda paper, block: paper.para(block["number"], block["para"]),
    "note": lambda paper, block: paper.note(block["note"]),
    "tag": lambda paper, block: paper.tag(block["tag"]),
    "table": _table,
}


def write_templates(folder: Path) -> list[Path]:
    """Write every default Word template into `folder` and its HTML twin beside it in `../html`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    html_folder = folder.parent / "html"  # templates/docx/ and templates/html/ side by side
    html_folder.mkdir(parents=True, exist_ok=True)
    for kind in TITLES:
        paper = paper_template(kind)
        path = folder / f"{kind}.docx"
        path.write_bytes(paper.save())
        html = html_folder / f"{kind}.html"
        html.write_text(paper.html_template(), encoding="utf-8")
        written += [path, html]
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else DEFAULT_TEMPLATES
    for path in write_templates(folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
