"""Committee papers from the stored returns: Word (docxtpl templates a clerk edits), an Excel
annex with the figures behind every table and chart, a PDF, and a manifest for the agenda pack.

    write_paper(settings, library, PaperRequest("monitoring-summary", ...), out_dir) -> PaperFiles
"""

from __future__ import annotations

from pipeline.papers.paper import write_paper
from pipeline.papers.request import DEFAULT_COMMITTEES, PAPER_KINDS, PAPER_TITLES, PaperFiles, PaperRequest

__all__ = ["DEFAULT_COMMITTEES", "PAPER_KINDS", "PAPER_TITLES", "PaperFiles", "PaperRequest", "write_paper"]
