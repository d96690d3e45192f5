"""Word documents to PDF with LibreOffice headless: one soffice call per batch, its own profile.

Each call gets a fresh `-env:UserInstallation` profile (two processes sharing one fail silently),
runs in its own process group so a timeout can kill soffice and its children, and checks every
expected PDF exists and is non-empty: soffice's exit status is not proof. Outputs are written to
a hidden folder inside `out_dir` and renamed into place, so a reader never sees half a PDF.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

from pipeline.core.errors import ConversionError, GenerationError

SOFFICE_ENV = "PIPELINE_SOFFICE"
# Tagged PDF/UA-1 with bookmarks from the headings, the document title shown as the window title
# (LibreOffice 7.4 takes the filter's options as JSON after the filter name; measured: /MarkInfo
# /Marked true, a /StructTreeRoot, /ViewerPreferences /DisplayDocTitle true, /Lang from the
# document's language).
PDF_EXPORT_OPTIONS = {
    "UseTaggedPDF": True,
    "PDFUACompliance": True,
    "ExportBookmarks": True,
    "ExportBookmarksToPDFDestination": False,
    "DisplayPDFDocumentTitle": True,
    "OpenBookmarkLevels": -1,
}
PDF_FILTER = "pdf:writer_pdf_Export:" + json.dumps(
    {
        name: {"type": "boolean" if isinstance(value, bool) else "long", "value": str(value).lower()}
        for name, value in PDF_EXPORT_OPTIONS.items()
    },
    separators=(",", ":"),
)
INSTALL_HINT = "Install it with: apt-get install -y libreoffice-writer"


def soffice_path(explicit: str | None = None) -> str | None:
    """The LibreOffice program to run: `explicit`, else $PIPELINE_SOFFICE, else soffice/libreoffice on PATH.

    A chosen program that does not exist gives None, exactly as if LibreOffice were not installed.
    """
    chosen = explicit or os.environ.get(SOFFICE_ENV)
    if chosen:
        return shutil.which(chosen)
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(
    docx_paths: Iterable[Path], out_dir: Path, timeout: float = 180.0, *, soffice: str | None = None
) -> dict[Path, Path]:
    """Convert every document to `out_dir/<stem>.pdf` in one soffice run; {source as given: pdf}."""
    given = {Path(path).resolve(): Path(path) for path in docx_paths}
    sources = list(given)
    if not sources:
        return {}
    _check_sources(sources)
    program = _require_soffice(soffice)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.gettempdir()) / f"pipeline-lo-{uuid.uuid4().hex}"
    staging = Path(tempfile.mkdtemp(prefix=".pipeline-pdf-", dir=out_dir))
    try:
        output = _run_soffice(program, profile, staging, sources, timeout)
        made = {source: staging / f"{source.stem}.pdf" for source in sources}
        _check_outputs(made, output)
        return {given[source]: _move_into(pdf, out_dir) for source, pdf in made.items()}
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def pdf_pages(path: Path) -> int:
    """How many pages the PDF at `path` has."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(path).pages)
    except (OSError, PdfReadError, ValueError) as exc:
        raise GenerationError(
            f"The PDF {path.name} could not be read: it may be damaged or incomplete."
        ) from exc


# --- the steps ------------------------------------------------------------------------------------


def _check_sources(sources: list[Path]) -> None:
    missing = [path.name for path in sources if not path.is_file()]
    if missing:
        raise ConversionError(f"PDF not made: {', '.join(missing)} could not be found.")
    stems: dict[str, Path] = {}
    for path in sources:
        if path.stem in stems:
            raise ConversionError(
                f"PDF not made: {stems[path.stem]} and {path} would both become {path.stem}.pdf. "
                "Convert them in separate runs or rename one."
            )
        stems[path.stem] = path


def _require_soffice(explicit: str | None) -> str:
    program = soffice_path(explicit)
    if program is not None:
        return program
    chosen = explicit or os.environ.get(SOFFICE_ENV)
    if chosen:
        raise ConversionError(
            f"PDF skipped: LibreOffice was not found at {chosen} (set by {SOFFICE_ENV} or the command). "
            f"Correct the path, or unset it to use the installed LibreOffice. {INSTALL_HINT}"
        )
    raise ConversionError(f"PDF skipped: LibreOffice is not installed. {INSTALL_HINT}")


def _soffice_command(program: str, profile: Path, staging: Path, sources: list[Path]) -> list[str]:
    return [
        program,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--convert-to",
        PDF_FILTER,
        "--outdir",
        str(staging),
        *(str(source) for source in sources),
    ]


def _run_soffice(program: str, profile: Path, staging: Path, sources: list[Path], timeout: float) -> str:
    """Run soffice in its own process group; on timeout kill the whole group. Returns its output."""
    command = _soffice_command(program, profile, staging, sources)
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise ConversionError(
            f"PDF skipped: LibreOffice ({program}) could not be started. {INSTALL_HINT}"
        ) from exc
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(process)
        raise ConversionError(
            f"PDF not made: LibreOffice did not finish converting {_names(sources)} within the timeout "
            f"of {timeout:g} seconds, so it was stopped. Try again; if it keeps happening, "
            "check the documents open in Word."
        ) from exc
    return output or ""


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _check_outputs(made: dict[Path, Path], output: str) -> None:
    failed = [source for source, pdf in made.items() if not pdf.is_file() or pdf.stat().st_size == 0]
    if not failed:
        return
    said = output.strip().splitlines()[-1] if output.strip() else "nothing"
    raise ConversionError(
        f"PDF not made: LibreOffice produced no output for {_names(failed)}. The document may be damaged "
        f"or not a Word document; open it in Word to check. (LibreOffice said: {said})"
    )


def _move_into(pdf: Path, out_dir: Path) -> Path:
    target = out_dir / pdf.name
    os.replace(pdf, target)  # same folder tree, so an atomic rename
    return target


def _names(paths: list[Path]) -> str:
    return ", ".join(path.name for path in paths)
