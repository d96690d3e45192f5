"""Cheap files that used to cost dear (issue 9, item 8): a small .xlsx whose named input ranges
reach the sheet's last row (1,048,576), and a .docx whose table has 2,000 rows. Each is ingested
end to end (`Ingest.ingest_path`, as the watcher hands files over) and must take well under a
second: the readers look only at cells and rows that exist, and a table past the limit is refused.
"""

from __future__ import annotations

import io
import re
import zipfile

from bench.context import Context
from bench.measure import Result, Timings, timed
from bench.returns import docx_return, xlsx_return
from pipeline.core.config import Settings
from pipeline.ingest.steps import Ingest
from pipeline.store import Store

LIMIT_S = 1.0


def _replaced(data: bytes, part: str, body: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, body if info.filename == part else source.read(info))
    return out.getvalue()


def whole_column_xlsx(ctx: Context) -> bytes:
    """A filled Excel return with every table column's name stretched to row 1,048,576."""
    data = xlsx_return(ctx.monitoring, 0).data
    workbook = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    stretched = re.sub(r"(\$[A-Z]+\$\d+:\$[A-Z]+\$)\d+", r"\g<1>1048576", workbook)
    return _replaced(data, "xl/workbook.xml", stretched.encode())


def long_table_docx(ctx: Context, rows: int = 2_000) -> bytes:
    """A filled Word return with a table of `rows` rows added at its end."""
    data = docx_return(ctx.monitoring, 0).data
    document = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    row = (b"<w:tr><w:tc><w:p><w:r><w:t>row</w:t></w:r></w:p></w:tc>"
           b"<w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr>")
    table = b"<w:tbl><w:tblPr/><w:tblGrid/>" + row * rows + b"</w:tbl>"
    return _replaced(data, "word/document.xml", document.replace(b"<w:sectPr", table + b"<w:sectPr", 1))


def worst_cases(ctx: Context) -> list[Result]:
    cases = {
        "worst-xlsx-whole-column": ("monitoring.xlsx", whole_column_xlsx(ctx),
                                    "named ranges to row 1,048,576 (was 16 s, 543 MB)"),
        "worst-docx-2000-rows": ("monitoring.docx", long_table_docx(ctx),
                                 "a 2,000-row table (was 23 s, growing with rows squared)"),
    }
    results = []
    for name, (file_name, data, what) in cases.items():
        home = ctx.folder(name)
        settings = Settings(home)
        timings, outcomes = Timings(), []
        with Store.for_home(settings) as store:
            ingest = Ingest(settings, ctx.library, store)
            for repeat in range(max(ctx.sizes.repeats, 1)):
                path = settings.inbox / f"{repeat}-{file_name}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                seconds, found = timed(lambda path=path, ingest=ingest: ingest.ingest_path(path))
                timings.runs.append(seconds)
                outcomes += [str(r.outcome) for r in found]  # type: ignore[attr-defined]
        # Correct: each copy finished (accepted, rejected or a duplicate), none stuck or crashed.
        correct = len(outcomes) == len(timings.runs) and "processing" not in outcomes
        results.append(Result(
            name=name, baseline="well under a second", median_s=timings.median,
            spread_s=(min(timings.runs), max(timings.runs)), baseline_median_s=LIMIT_S,
            ratio=timings.median / LIMIT_S, target=f"< {LIMIT_S:g} s", met=timings.median < LIMIT_S,
            per_second=1 / timings.median, correct=correct, repeats=len(timings.runs),
            notes=f"{len(data):,} bytes: {what}; outcomes {sorted(set(outcomes))}",
        ))
    return results
