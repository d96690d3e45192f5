"""Fill a generated Word form in real LibreOffice, headless, driven over UNO as a member fills it.

One file, two halves:
- the pytest side (the venv's Python): `fill_in_libreoffice`, `fill_forms_in_libreoffice`,
  `inputs_for` (field values -> control indexes) and `missing_reason` (why it cannot run here);
- the driver (Debian's /usr/bin/python3, which has the `uno` bridge from the python3-uno
  package): `/usr/bin/python3 tests/lo_fill.py JOB.json` starts its own soffice, fills, saves as
  .docx and stops soffice. Only the standard library is imported at the top, for that reason.

What LibreOffice 7.4 makes of our generated controls (measured here, 7.4.7):
- a plain text control (`w:sdt` with `w:text`) is imported as an *input field*
  (`com.sun.star.text.TextField.Input`, a portion of type "TextField"); a member edits it in the
  Input Field dialog, which sets its `Content`; exported again as a `w:sdt`;
- date, drop-down and check-box controls are *content controls* (portion type "ContentControl",
  property `ContentControl`), with `Date`/`CurrentDate`/`DateFormat`, `ListItems` (no selected
  item property in 7.4: the chosen item's display text is the content) and
  `Checkbox`/`Checked`/`CheckedState`/`UncheckedState`; their text is an XText of its own;
- table rows wrapped in a repeating section lose the wrapper; each cell's control stays, so the
  document order of controls is `pipeline.generate.layout.input_slots` order with every table's rows
  expanded row by row, column by column (tables' cells are visited A1, B1, A2, B2...).
The driver identifies controls by that order only, never by tag (LibreOffice keeps none).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.core.definitions import FormDefinition

SYSTEM_PYTHON = "/usr/bin/python3"
APT_PACKAGES = "libreoffice-writer python3-uno"
DRIVER_TIMEOUT = 240  # seconds for a whole driver run (soffice start, fill, save, stop)
CONNECT_TIMEOUT = 90.0
WORD_FILTER = "MS Word 2007 XML"


# --- the pytest side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fill:
    """One document to fill: indexes into the document-order list of its controls."""

    src: Path
    dst: Path
    texts: list[tuple[int, str]] = field(default_factory=list)
    ticks: list[int] = field(default_factory=list)
    expected_controls: int | None = None  # when given, the driver checks the count first
    #: Rows a member adds in LibreOffice (Table > Insert > Rows Below under the last row) and
    #: types in: (the text of the table's first header cell, [[cell text, ...], ...]).
    added_rows: list[tuple[str, list[list[str]]]] = field(default_factory=list)


@dataclass(frozen=True)
class Inputs:
    """What to type and tick in a generated form, by control index, and how many controls."""

    texts: list[tuple[int, str]]
    ticks: list[int]
    controls: int


def missing_reason() -> str | None:
    """Why real-LibreOffice filling cannot run here, or None when it can."""
    if shutil.which("soffice") is None:
        return f"LibreOffice (soffice) is not installed (apt-get install {APT_PACKAGES})"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing: the UNO bridge needs the system Python"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        return f"the LibreOffice UNO bridge is missing (apt-get install {APT_PACKAGES})"
    return None


def fill_in_libreoffice(src: Path, dst: Path, texts: list[tuple[int, str]], ticks: list[int],
                        *, expected_controls: int | None = None) -> Path:
    """Type `texts` into and tick `ticks` of the controls of `src` in LibreOffice; save as `dst`."""
    fill_forms_in_libreoffice([Fill(src, dst, texts, ticks, expected_controls)])
    return dst


def fill_forms_in_libreoffice(fills: list[Fill]) -> list[list[dict[str, Any]]]:
    """Fill several documents in one LibreOffice session; returns each one's controls as found.

    A date is given as YYYY-MM-DD and entered as the date picker does (shown in the control's
    format, its date set); a drop-down's text must be one of its items, as when picking it.
    """
    with tempfile.TemporaryDirectory(prefix="lo-fill-") as work:
        job = Path(work) / "job.json"
        job.write_text(json.dumps([_job_json(f) for f in fills]), encoding="utf-8")
        status, out, err = _run_driver(job)
    if status != 0:
        raise RuntimeError(f"The LibreOffice driver failed ({status}):\n{err[-3000:]}")
    for f in fills:
        if not f.dst.exists():
            raise RuntimeError(f"LibreOffice did not write {f.dst}:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _run_driver(job: Path) -> tuple[int, str, str]:
    """Run the driver in a process group of its own, so a hung soffice is stopped with it."""
    driver = subprocess.Popen([SYSTEM_PYTHON, __file__, str(job)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = driver.communicate(timeout=DRIVER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        out, err = driver.communicate()
        err += f"\n(stopped after {DRIVER_TIMEOUT} s)"
    return driver.returncode, out, err


def _job_json(f: Fill) -> dict[str, Any]:
    data = asdict(f)
    data["src"], data["dst"] = str(f.src.resolve()), str(f.dst.resolve())
    return data


def inputs_for(definition: FormDefinition, values: dict[str, object]) -> Inputs:
    """Map field values (the raw shape of `pipeline.core.values`) to control indexes.

    Text, number and date fields take their text (a date as YYYY-MM-DD); a drop-down its choice
    value (typed as the item's label); tick boxes a list of choice values; a table a list of row
    dicts, at most as many rows as the generated form has.
    """
    from pipeline.generate.layout import input_slots

    texts: list[tuple[int, str]] = []
    ticks: list[int] = []
    index = 0
    for slot in input_slots(definition):
        value = values.get(slot.field.id)
        if slot.kind == "table":
            index = _table_inputs(slot.field, value, index, texts)
            continue
        if slot.kind == "checkbox":
            if isinstance(value, list) and slot.choice in value:
                ticks.append(index)
        elif value not in (None, ""):
            shown = slot.field.choice_label(str(value)) if slot.kind == "dropdown" else str(value)
            texts.append((index, shown))
        index += 1
    return Inputs(texts, ticks, index)


def _table_inputs(f: Any, rows: object, index: int, texts: list[tuple[int, str]]) -> int:
    count = max(f.rows, 1)
    given = rows if isinstance(rows, list) else []
    if len(given) > count:
        raise ValueError(f"{f.id}: the generated form has {count} rows, not {len(given)}")
    for row_number in range(count):
        row = given[row_number] if row_number < len(given) else {}
        for column in f.columns:
            text = row.get(column.id)
            if text not in (None, ""):
                shown = column.choice_label(str(text)) if column.choices else str(text)
                texts.append((index, shown))
            index += 1
    return index


# --- the driver (system Python with uno) --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Office:
    """One headless soffice with its own profile, reachable over a UNO socket."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.profile = Path(tempfile.gettempdir()) / f"lo-uno-{uuid.uuid4().hex}"
        accept = f"socket,host=127.0.0.1,port={self.port};urp;"
        self.process = subprocess.Popen(
            ["soffice", "--headless", "--invisible", "--norestore", "--nologo",
             f"-env:UserInstallation=file://{self.profile}", f"--accept={accept}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.desktop = self._connect()

    def _connect(self) -> Any:
        import uno

        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:socket,host=127.0.0.1,port={self.port};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                context = resolver.resolve(url)
                break
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("soffice did not start listening") from None
                time.sleep(0.25)
        return context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)

    def stop(self) -> None:
        # The bridge goes down with soffice: a DisposedException here is normal.
        with contextlib.suppress(Exception):
            self.desktop.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


def _property(name: str, value: Any) -> Any:
    from com.sun.star.beans import PropertyValue

    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def _portions(text: Any) -> Any:
    """Every text portion of `text` in document order, going into table cells row by row."""
    paragraphs = text.createEnumeration()
    while paragraphs.hasMoreElements():
        element = paragraphs.nextElement()
        if element.supportsService("com.sun.star.text.TextTable"):
            for name in element.getCellNames():
                yield from _portions(element.getCellByName(name).getText())
        elif element.supportsService("com.sun.star.text.Paragraph"):
            portions = element.createEnumeration()
            while portions.hasMoreElements():
                yield portions.nextElement()


@dataclass
class _Control:
    kind: str  # "text" (input field), "date", "dropdown", "checkbox", "rich" (plain content control)
    obj: Any

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text()}

    def text(self) -> str:
        return str(self.obj.Content if self.kind == "text" else self.obj.getString())


def _controls(document: Any) -> list[_Control]:
    found = []
    for portion in _portions(document.getText()):
        kind = portion.TextPortionType
        if kind == "TextField" and portion.TextField.supportsService("com.sun.star.text.TextField.Input"):
            found.append(_Control("text", portion.TextField))
        elif kind == "ContentControl":
            found.append(_Control(_content_control_kind(portion.ContentControl), portion.ContentControl))
    return found


def _content_control_kind(control: Any) -> str:
    if control.Checkbox:
        return "checkbox"
    if control.Date:
        return "date"
    if len(control.ListItems):
        return "dropdown"
    return "rich"


def _replace_text(control: Any, text: str) -> None:
    """Select the control's whole text and type over it, staying inside the control.

    Measured: a cursor from `createTextCursor()` selects nothing with gotoEnd(True), and
    writing to the control's anchor (or its portion) puts the text outside the control; going
    right over the old text's length from the start selects exactly the content. Each further
    line is typed after Enter (a paragraph break), as a member does.
    """
    from com.sun.star.text.ControlCharacter import PARAGRAPH_BREAK

    first, *more = text.split("\n")
    cursor = control.createTextCursor()
    cursor.gotoStart(False)
    cursor.goRight(len(control.getAnchor().getString()), True)
    cursor.setString(first)
    control.ShowingPlaceHolder = False
    cursor.collapseToEnd()
    for line in more:
        cursor.getText().insertControlCharacter(cursor, PARAGRAPH_BREAK, False)
        cursor.getText().insertString(cursor, line, False)


def _add_rows(document: Any, header: str, rows: list[list[str]]) -> None:
    """Table > Insert > Rows Below the last row, then type in the new plain cells."""
    tables = document.getTextTables()
    for index in range(tables.getCount()):
        table = tables.getByIndex(index)
        if table.getCellByName("A1").getString().strip() != header:
            continue
        first = table.getRows().getCount()
        table.getRows().insertByIndex(first, len(rows))
        for offset, cells in enumerate(rows):
            for column, text in enumerate(cells):
                name = f"{chr(ord('A') + column)}{first + offset + 1}"
                table.getCellByName(name).setString(text)
        return
    raise ValueError(f"no table headed {header!r}")


def _type(control: _Control, text: str) -> None:
    """Enter `text` the way the LibreOffice user interface does for this kind of control."""
    if control.kind == "text":
        control.obj.Content = text  # what the Input Field dialog does
    elif control.kind == "date":
        day = date.fromisoformat(text)  # the date picker: shows the date in the control's format
        _replace_text(control.obj, day.strftime(_strftime(control.obj.DateFormat or "dd/MM/yyyy")))
        control.obj.CurrentDate = f"{day.isoformat()}T00:00:00Z"
    elif control.kind == "dropdown":
        shown = [_item(item, "DisplayText") for item in control.obj.ListItems]
        if text not in shown:
            raise ValueError(f"{text!r} is not in the drop-down list {shown}")
        _replace_text(control.obj, text)
    else:
        _replace_text(control.obj, text)


def _tick(control: _Control) -> None:
    """Clicking a check box in 7.4 flips `Checked` and swaps the glyph for the checked state."""
    if control.kind != "checkbox":
        raise ValueError(f"control is a {control.kind}, not a check box")
    control.obj.Checked = True
    if control.obj.CheckedState:
        _replace_text(control.obj, control.obj.CheckedState)


def _item(item: Any, name: str) -> str:
    return next(str(p.Value) for p in item if p.Name == name)


def _strftime(lo_format: str) -> str:
    return lo_format.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d")


def _fill_one(desktop: Any, job: dict[str, Any]) -> list[dict[str, Any]]:
    import uno

    url = uno.systemPathToFileUrl(job["src"])
    document = desktop.loadComponentFromURL(url, "_blank", 0, (_property("Hidden", True),))
    try:
        controls = _controls(document)
        seen = [c.describe() for c in controls]
        expected = job.get("expected_controls")
        if expected is not None and expected != len(controls):
            raise RuntimeError(f"{job['src']}: expected {expected} controls, found {len(controls)}: {seen}")
        for index, text in job["texts"]:
            _type(controls[index], text)
        for index in job["ticks"]:
            _tick(controls[index])
        for header, rows in job.get("added_rows") or ():
            _add_rows(document, header, rows)
        document.getTextFields().refresh()
        target = uno.systemPathToFileUrl(job["dst"])
        document.storeToURL(target, (_property("FilterName", WORD_FILTER), _property("Overwrite", True)))
        return seen
    finally:
        document.close(True)


def drive(job_file: str) -> int:
    jobs = json.loads(Path(job_file).read_text(encoding="utf-8"))
    office = _Office()
    try:
        found = [_fill_one(office.desktop, job) for job in jobs]
    finally:
        office.stop()
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SAL_USE_VCLPLUGIN", "svp")
    sys.exit(drive(sys.argv[1]))
