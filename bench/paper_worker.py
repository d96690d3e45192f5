"""Write one committee paper in a process of its own and report its time and peak memory.

    python -m bench.paper_worker HOME OUT_DIR   ->   one JSON line on stdout

Run by the paper benchmark as a subprocess, so the peak resident memory is this paper's alone.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from bench.measure import peak_rss_mb
from pipeline.core.config import Settings
from pipeline.core.definitions import FormLibrary
from pipeline.papers import PaperRequest, write_paper

AS_AT = date(2026, 11, 1)  # fixed, so every size of data set gives the same kind of paper


def main(home: Path, out_dir: Path) -> dict[str, object]:
    settings, library = Settings(home), FormLibrary.load()
    request = PaperRequest("monitoring-summary", meeting_date=AS_AT)
    start = time.perf_counter()
    files = write_paper(settings, library, request, out_dir, to_pdf=None, today=AS_AT)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "docx": str(files.docx),
            "annex": str(files.annex), "pdf": None if files.pdf is None else str(files.pdf)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))), flush=True)
