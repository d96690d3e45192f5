"""Writing one committee paper: figures from the store, the Word paper, the annex, the PDF and
the manifest the agenda pack reads, each written whole or not at all.

    figures (SQL over the store) -> marking -> template + context -> .docx -> .xlsx -> .pdf -> .json
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.core.config import Config, Settings, load_config
from pipeline.core.dates import day_month_year
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import ConversionError, GenerationError
from pipeline.core.files import replacing
from pipeline.core.marking import highest_marking
from pipeline.papers.annex import annex_bytes
from pipeline.papers.figures import Figures, period_words
from pipeline.papers.monitoring import monitoring_figures
from pipeline.papers.render import find_template, open_template, render_paper, template_title
from pipeline.papers.request import (
    EXEMPT_PARAGRAPHS,
    SCHEDULE_12A,
    PaperFiles,
    PaperRequest,
)
from pipeline.papers.risk_register import risk_register_figures
from pipeline.papers.survey import survey_figures
from pipeline.store import Store, WrittenPaper, has_store
from pipeline.store.for_papers import StoredReturns

ToPdf = Callable[[list[Path], Path], dict[Path, Path]]


def write_paper(
    settings: Settings,
    library: FormLibrary,
    request: PaperRequest,
    out_dir: Path,
    *,
    to_pdf: ToPdf | None = None,
    today: date | None = None,
) -> PaperFiles:
    """Write the paper `request` asks for into `out_dir/<meeting date or today>/`.

    `to_pdf` (e.g. `pipeline.papers.convert.to_pdf`) makes the PDF; when it cannot (LibreOffice missing),
    the Word paper and annex are still written and `pdf_note` says why there is no PDF.
    What was due comes from the register (its partnerships and meetings) and the forms sent.
    A paper for the same kind and meeting is replaced: it is the same paper, written again.
    """
    today = today or date.today()
    config = load_config(settings)
    if has_store(settings):
        Store.for_home(settings).close()  # brings an older database up to date first
    with StoredReturns.for_home(settings) as source:
        figures = _figures(request, source, library, today)
    marking = highest_marking(config.authority.marking, figures.markings)
    template_path = find_template(settings, request.kind)
    template = open_template(template_path)
    title = template_title(template, figures.title)
    context = paper_context(request, config, figures, title=title, marking=marking, today=today)
    stamp = (request.meeting_date or today).isoformat()
    folder, stem = out_dir / stamp, f"{request.kind}-{stamp}"
    docx = _write(folder / f"{stem}.docx", render_paper(template, template_path, context, figures.chart))
    annex = _write(folder / f"{stem}.xlsx", annex_bytes(figures, _about(request, context, template_path)))
    pdf, note = _pdf(to_pdf, docx, folder)
    web = _html_edition(settings, request, context, figures, folder, stem, pdf)
    manifest = _write(folder / f"{stem}.json", _manifest(request, context, figures, docx, annex, pdf, web))
    files = PaperFiles(docx=docx, annex=annex, manifest=manifest, pdf=pdf, pdf_note=note)
    _record(settings, request, files)
    return files


def _record(settings: Settings, request: PaperRequest, files: PaperFiles) -> None:
    """A paper for a meeting is recorded with its files: `pack` finds it wherever it was written."""
    if request.meeting_date is None or not has_store(settings):
        return
    paths = tuple(p.resolve() for p in (files.docx, files.pdf, files.annex) if p is not None)
    with Store.for_home(settings) as store:
        store.record_paper(
            WrittenPaper(request.kind, request.committee_name, request.meeting_date, paths,
                         files.manifest.resolve(), datetime.now(UTC))
        )


def _figures(
    request: PaperRequest,
    source: StoredReturns,
    library: FormLibrary,
    today: date,
) -> Figures:
    if request.kind == "monitoring-summary":
        return monitoring_figures(source, library, request.period, today)
    if request.kind == "risk-register":
        return risk_register_figures(source, library, request.period, today)
    return survey_figures(source, library, request.period)


def paper_context(
    request: PaperRequest, config: Config, figures: Figures, *, title: str, marking: str, today: date
) -> dict[str, Any]:
    """Every name a template may use: the paper's metadata, then its figures and tables."""
    papers, paragraph = config.papers, request.exempt_paragraph
    return {
        "marking": marking,
        "committee": request.committee_name,
        "author": request.author or papers.author,
        "paper_date": day_month_year(request.meeting_date or today),
        "meeting_date": day_month_year(request.meeting_date) if request.meeting_date else "",
        "authority": config.authority.name,
        "title": title,
        "as_at": day_month_year(today),
        "submitted_on": day_month_year(today),
        "period_words": period_words(request.period_from, request.period_to),
        "source_documents": papers.source_documents,
        "contact_officer": request.contact_officer or papers.contact_officer,
        "contact_phone": request.contact_phone if request.contact_phone is not None else papers.contact_phone,
        "location": papers.location,
        "originating_officer": papers.originating_officer,
        "cleared_with": papers.cleared_with,
        "exempt": request.exempt,
        "exempt_answer": "Yes" if request.exempt else "No",
        "exempt_paragraph": paragraph or "",
        "exempt_statement": f"Paragraph {paragraph}: {EXEMPT_PARAGRAPHS[paragraph]}" if paragraph else "",
        "schedule_12a": SCHEDULE_12A,
        "chart_title": figures.chart_title,
        **figures.context,
        **{table.name: table.for_template() for table in figures.tables},
    }


def _html_edition(
    settings: Settings,
    request: PaperRequest,
    context: Mapping[str, Any],
    figures: Figures,
    folder: Path,
    stem: str,
    pdf: Path | None,
) -> dict[str, str]:
    """The HTML edition (page + chart picture) of a Part 1 paper with a PDF; never of an exempt one."""
    from pipeline.papers.html import paper_html

    page, chart = folder / f"{stem}.html", folder / f"{stem}-chart.png"
    if request.exempt or pdf is None:
        page.unlink(missing_ok=True)
        chart.unlink(missing_ok=True)
        return {}
    if figures.chart:
        _write(chart, figures.chart)
    else:
        chart.unlink(missing_ok=True)
    html = paper_html(settings, request.kind, dict(context), pdf_name=pdf.name,
                      pdf_bytes=pdf.stat().st_size, chart_name=chart.name if figures.chart else None)
    _write(page, html.encode("utf-8"))
    return {"html": page.name, **({"chart": chart.name} if figures.chart else {})}


def _about(request: PaperRequest, context: Mapping[str, Any], template: Path) -> list[tuple[str, str]]:
    return [
        ("Paper", str(context["title"])),
        ("Committee", str(context["committee"])),
        ("Meeting date", str(context["meeting_date"]) or "not set"),
        ("Period", str(context["period_words"])),
        ("Protective marking", str(context["marking"])),
        (
            "Exempt information",
            f"Yes: paragraph {request.exempt_paragraph} of {SCHEDULE_12A}" if request.exempt else "No",
        ),
        ("Figures as at", str(context["as_at"])),
        ("Template", template.name),
    ]


def _manifest(
    request: PaperRequest,
    context: Mapping[str, Any],
    figures: Figures,
    docx: Path,
    annex: Path,
    pdf: Path | None,
    web: Mapping[str, str] | None = None,
) -> bytes:
    data = {
        "kind": request.kind,
        "title": context["title"],
        "committee": context["committee"],
        "meeting_date": request.meeting_date.isoformat() if request.meeting_date else None,
        "period_from": request.period_from.isoformat() if request.period_from else None,
        "period_to": request.period_to.isoformat() if request.period_to else None,
        "exempt": request.exempt,
        "exempt_paragraph": request.exempt_paragraph,
        "marking": context["marking"],
        "docx": docx.name,  # names relative to the manifest's folder
        "pdf": pdf.name if pdf else None,
        "annex": annex.name,
        **(web or {}),  # "html" and "chart": the HTML edition of a Part 1 paper
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "figures_digest": figures.digest(),
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _pdf(to_pdf: ToPdf | None, docx: Path, folder: Path) -> tuple[Path | None, str | None]:
    """The PDF of the paper, or None and why; an older PDF of the same paper never stays behind."""
    stale = docx.with_suffix(".pdf")
    if to_pdf is None:
        stale.unlink(missing_ok=True)
        return None, None
    try:
        made = to_pdf([docx], folder)
    except ConversionError as exc:
        stale.unlink(missing_ok=True)
        reason = str(exc)
        return None, reason if reason.startswith("PDF") else f"PDF skipped: {reason}"
    pdf = next(iter(made.values()), None)
    return (pdf, None) if pdf is not None else (None, "PDF skipped: LibreOffice made no PDF.")


def _write(path: Path, data: bytes) -> Path:
    """Write `data` to `path` whole: a temporary file in the same folder, then renamed over it."""
    try:
        with replacing(path) as temporary:
            temporary.write_bytes(data)
    except OSError as exc:
        raise GenerationError(f"The paper file {path} could not be written: {exc.strerror}.") from exc
    return path
