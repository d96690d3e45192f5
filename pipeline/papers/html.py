"""The HTML edition of a paper: the same figures and sentences as the Word paper, from an editable
Jinja2 template (`<home>/templates/html/<kind>.html` if the clerk made one, else the default inside
the package, written beside the Word one by `python -m pipeline.papers.make_templates`).

Every value is escaped (autoescape): "Smith & <Sons>" stays text. The page has no script, declares
lang="en-GB", and links a shared stylesheet with a print layout (PAPER_CSS, written as paper.css).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from pipeline.core.config import Settings
from pipeline.core.errors import GenerationError
from pipeline.papers.render import chart_description
from pipeline.papers.template_files import DEFAULT_HTML, home_templates

DEFAULT_HTML_TEMPLATES = DEFAULT_HTML
STYLESHEET = "paper.css"
AGENDA_PAGE = "index.html"


def html_template_dirs(settings: Settings) -> list[Path]:
    """Where HTML templates are looked for: the home's own first, then the defaults."""
    return [home_templates(settings) / "html", DEFAULT_HTML_TEMPLATES]


def environment(settings: Settings) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([str(path) for path in html_template_dirs(settings)])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def render_page(settings: Settings, template_name: str, context: dict[str, Any]) -> str:
    """One HTML page from its template, with a clear message for a template a typing slip broke."""
    try:
        return environment(settings).get_template(template_name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise GenerationError(
            f"There is no HTML template {template_name}: expected it in "
            f"{html_template_dirs(settings)[0]} or {DEFAULT_HTML_TEMPLATES}. Rebuild the defaults with "
            "'python -m pipeline.papers.make_templates'."
        ) from exc
    except jinja2.UndefinedError as exc:
        raise GenerationError(
            f"The HTML template {template_name} uses a name the page does not provide ({exc.message}). "
            "Correct its {{ }} tag."
        ) from exc
    except jinja2.TemplateError as exc:
        raise GenerationError(
            f"The HTML template {template_name} has a broken tag ({exc.message}). Check its {{{{ }}}} "
            "and {% %} tags."
        ) from exc


def paper_html(
    settings: Settings,
    kind: str,
    context: dict[str, Any],
    *,
    pdf_name: str,
    pdf_bytes: int,
    chart_name: str | None,
) -> str:
    """The paper's HTML page, linking its PDF, its chart picture and the agenda beside it."""
    page = {
        **context,
        "chart": bool(chart_name),
        "chart_src": chart_name or "",
        "chart_alt": chart_description(context) if chart_name else "",
        "pdf_href": pdf_name,
        "pdf_size": file_size(pdf_bytes),
        "agenda_href": AGENDA_PAGE,
        "stylesheet": STYLESHEET,
    }
    return render_page(settings, f"{kind}.html", page)


def file_size(size: int) -> str:
    """ "PDF, 84 KB" style sizes, as GOV.UK lists a download."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


PAPER_CSS = """/* Committee papers and agenda: screen and print. Colours pass WCAG 2.2 AA contrast. */
html { font-family: Arial, "Liberation Sans", Helvetica, sans-serif; font-size: 100%; color: #0b0c0c;
       background: #fff; line-height: 1.5; }
body { margin: 0 auto; max-width: 48rem; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 1rem 0; }
h2 { font-size: 1.25rem; margin: 1.75rem 0 .5rem; }
a { color: #1d4f91; text-decoration: underline; }
a:focus { outline: 3px solid #ffbf47; background: #ffbf47; color: #0b0c0c; }
.marking { font-weight: bold; text-align: center; margin: .25rem 0; }
.masthead { border-bottom: 2px solid #1f3864; padding-bottom: .5rem; }
.address { display: grid; grid-template-columns: 5rem 1fr; gap: .1rem .5rem; }
.address dt { font-weight: bold; }
.address dd { margin: 0; }
.number { display: inline-block; min-width: 2.75rem; font-weight: bold; }
.note { font-size: .9rem; font-style: italic; color: #505a5f; }
.strong { font-weight: bold; }
.table { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
caption { text-align: left; font-weight: bold; padding: .25rem 0; }
th, td { border: 1px solid #8a8a8a; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #d9e2f3; }
tfoot td { background: #f2f2f2; }
.numeric { text-align: right; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: .95rem; font-weight: bold; }
.bibliography dl { display: grid; grid-template-columns: minmax(10rem, 1fr) 2fr; gap: .25rem 1rem;
                   border: 1px solid #8a8a8a; padding: .75rem; }
.bibliography dt { font-weight: bold; }
.bibliography dd { margin: 0; }
.items { list-style: none; padding: 0; }
.items li { border-top: 1px solid #b1b4b6; padding: .6rem 0; }
.item-number { font-weight: bold; margin-right: .5rem; }
.exempt { color: #8a0000; font-weight: bold; }
.meta dt { font-weight: bold; }
.meta dd { margin: 0 0 .4rem; }
footer { border-top: 2px solid #1f3864; margin-top: 2rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden;
                   clip: rect(0 0 0 0); white-space: nowrap; border: 0; padding: 0; }
@media print {
  @page { size: A4; margin: 18mm 16mm; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  .back, .formats { display: none; }
  a { color: #000; text-decoration: none; }
  h2, caption, figcaption { break-after: avoid; }
  tr, figure, .bibliography { break-inside: avoid; }
  thead { display: table-header-group; }
}
"""
