"""Rendering a paper: find its template (the home's own, else the default), fill it with docxtpl.

Rendering escapes every value (`autoescape=True`: "Smith & <Sons>" stays text), fails with a
clear message when the template uses a name the paper does not provide, and makes unique again
the ids its loops duplicated.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import jinja2
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from pipeline.core.config import Settings
from pipeline.core.errors import GenerationError
from pipeline.ooxml.paperxml import finish_rendered
from pipeline.papers.template_files import DEFAULT_DOCX

DEFAULT_TEMPLATES = DEFAULT_DOCX  # the defaults, inside the package
CHART_WIDTH = Mm(150)


def find_template(settings: Settings, kind: str) -> Path:
    """`<home>/templates/docx/<kind>.docx` if the clerk made one, else the default (package data)."""
    for folder in (settings.templates_dir, DEFAULT_TEMPLATES):
        path = folder / f"{kind}.docx"
        if path.is_file():
            return path
    raise GenerationError(
        f"There is no template for the {kind} paper: expected {settings.templates_dir / (kind + '.docx')} "
        f"or {DEFAULT_TEMPLATES / (kind + '.docx')}. Rebuild the defaults with "
        "'python -m pipeline.papers.make_templates'."
    )


def open_template(path: Path) -> DocxTemplate:
    try:
        template = DocxTemplate(path)
        template.init_docx()
    except Exception as exc:  # python-docx raises several kinds for a damaged file
        raise GenerationError(
            f"The paper template {path} could not be opened: it may be damaged or "
            "not a Word document. Save it again from Word as a .docx."
        ) from exc
    return template


def template_title(template: DocxTemplate, default: str) -> str:
    """The paper's title: the template's own Title property (File > Properties), else the default."""
    title = (template.get_docx().core_properties.title or "").strip()
    return title if title and "{" not in title else default


def chart_description(context: dict[str, Any]) -> str:
    """The chart's alternative text: what it shows, from the paper's figures, and where its data is."""
    if context.get("chart_alt"):
        return str(context["chart_alt"])
    title = str(context.get("chart_title") or "Chart")
    counts = []
    labels = context.get("labels") or {}
    for name, field in (("agenda", "agenda_rating"), ("attendance", "attendance_rating")):
        table = context.get(name)
        if isinstance(table, dict) and table.get("rows"):
            label = (labels.get(field) or {}).get("label", name.capitalize())
            levels = ", ".join(f"{row['level']} {row['meetings']}" for row in table["rows"])
            counts.append(f"{label}: {levels} meetings")
    figures = f" {'; '.join(counts)}." if counts else ""
    return (
        f"Bar chart: {title}, {context.get('period_words', 'all dates')}.{figures} "
        "The same figures are given as numbers in the table beside it and in the annex."
    )


def render_paper(template: DocxTemplate, path: Path, context: dict[str, Any], chart: bytes | None) -> bytes:
    """The filled paper's bytes."""
    context = {
        **context,
        "chart": InlineImage(template, io.BytesIO(chart), width=CHART_WIDTH) if chart else None,
    }
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    try:
        template.render(context, jinja_env=environment, autoescape=True)
    except jinja2.UndefinedError as exc:
        raise GenerationError(
            f"The paper template {path.name} uses a name the paper does not provide "
            f"({exc.message}). Correct the {{{{ }}}} tag in Word."
        ) from exc
    except jinja2.TemplateError as exc:
        raise GenerationError(
            f"The paper template {path.name} has a tag Word or a typing slip broke "
            f"({exc.message}). Check its {{{{ }}}} and {{% %}} tags in Word."
        ) from exc
    # template.docx, not get_docx(): after render get_docx() reloads the template
    finish_rendered(template.docx, chart_description(context) if chart else None,
                    str(context.get("chart_title", "")))
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()
