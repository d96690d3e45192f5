"""`pipeline check`: a pre-flight of a home, one line per item, each OK or a problem and its fix.

Nothing here changes the home: the mail server is greeted and logged in to but sent nothing,
LibreOffice converts a one-line document in a scratch folder, and the folders are tested with a
file that is removed at once. The console shows the same list.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.core.config import CONFIG_FILE, Config, Settings, has_section, load_config
from pipeline.core.errors import PipelineError


@dataclass(frozen=True)
class Check:
    """One item of the pre-flight: what was checked, whether it is fine, and what to do if not."""

    item: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"OK       {self.item}: {self.detail}"
        return f"PROBLEM  {self.item}: {self.detail}" + (f" {self.fix}" if self.fix else "")

    def to_json(self) -> dict[str, object]:
        return {"item": self.item, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def run_checks(settings: Settings, *, today: date, office: bool = True, mail: bool = True) -> list[Check]:
    """Every pre-flight item for the home, in the order a clerk would put them right.

    `office=False` skips converting with LibreOffice (only says whether it is installed) and
    `mail=False` skips greeting the mail server (only says whether it is set up): both for a page
    that must answer at once, such as the console's Today."""
    config, settings_check = _settings(settings)
    checks = [settings_check, _mail(settings, config) if mail else _mail_settings(settings),
              _folders(settings)]
    checks.append(_libreoffice() if office else _libreoffice_installed())
    checks += _database_and_calendar(settings, today)
    return checks


def _settings(settings: Settings) -> tuple[Config, Check]:
    path = settings.home / CONFIG_FILE
    try:
        config = load_config(settings)
    except PipelineError as exc:
        return Config(), Check("Settings", False, str(exc), f"Correct {path} (it is a TOML file).")
    if not path.exists():
        return config, Check("Settings", True, f"no {CONFIG_FILE} in {settings.home}; using the defaults")
    return config, Check("Settings", True, f"{path} read")


def _mail(settings: Settings, config: Config) -> Check:
    from pipeline.schedule.mailer import SmtpMailer

    if not has_section(settings, "smtp"):
        return Check("Mail server", False, "no mail settings, so no email can be sent.",
                     f"Add an [smtp] section (host, port, security, username, sender) to "
                     f"{settings.home / CONFIG_FILE}, or send the emails yourself with "
                     "'pipeline tick --send-by-hand'.")
    try:
        done = SmtpMailer(config.smtp).probe()
    except PipelineError as exc:
        return Check("Mail server", False, str(exc),
                     "Check host, port, security and username under [smtp], and the password variable.")
    return Check("Mail server", True, f"{done} (nothing was sent)")


def _mail_settings(settings: Settings) -> Check:
    if has_section(settings, "smtp"):
        return Check("Mail server", True, "set up ('pipeline check' tests the login)")
    return Check("Mail server", False, "no mail settings, so no email can be sent.",
                 f"Add an [smtp] section to {settings.home / CONFIG_FILE}, or send the emails "
                 "yourself with 'pipeline tick --send-by-hand'.")


def _libreoffice_installed() -> Check:
    from pipeline.papers.convert import soffice_path

    if soffice_path() is None:
        return Check("LibreOffice", False, "not installed, so papers and packs get no PDF.",
                     "Install it (on Debian: apt-get install libreoffice-writer libreoffice-calc).")
    return Check("LibreOffice", True, "installed ('pipeline check' tests a conversion)")


def _folders(settings: Settings) -> Check:
    folders = (settings.inbox, settings.outbox, settings.archive, settings.rejected)
    unwritable = []
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
                pass
        except OSError:
            unwritable.append(str(folder))
    if unwritable:
        return Check("Folders", False, f"cannot write to {', '.join(unwritable)}.",
                     "Give the account that runs the pipeline permission to write there.")
    return Check("Folders", True, "inbox, outbox, archive and rejected can be written to")


def _libreoffice() -> Check:
    from docx import Document

    from pipeline.papers.convert import soffice_path, to_pdf

    if soffice_path() is None:
        return Check("LibreOffice", False, "not installed, so papers and packs get no PDF.",
                     "Install it (on Debian: apt-get install libreoffice-writer libreoffice-calc).")
    with tempfile.TemporaryDirectory(prefix="pipeline-check-") as scratch:
        source = Path(scratch) / "check.docx"
        document = Document()
        document.add_paragraph("Pipeline check")
        document.save(str(source))
        started = time.monotonic()
        try:
            pdfs = to_pdf([source], Path(scratch))
        except PipelineError as exc:
            return Check("LibreOffice", False, f"could not make a PDF: {exc}",
                         "Try 'soffice --headless --convert-to pdf' by hand to see why.")
        took = time.monotonic() - started
        if not pdfs or not next(iter(pdfs.values())).exists():
            return Check("LibreOffice", False, "ran but wrote no PDF.",
                         "Try 'soffice --headless --convert-to pdf' by hand to see why.")
    return Check("LibreOffice", True, f"made a PDF in {took:.1f} s")


def _database_and_calendar(settings: Settings, today: date) -> list[Check]:
    from pipeline.core.dates import long_date
    from pipeline.schedule import committees, register
    from pipeline.store import Store, admin, has_store

    if not has_store(settings):
        return [Check("Database", False, f"there is no database in {settings.home} yet.",
                      "Start with 'pipeline register import REGISTER.xlsx'.")]
    where = admin.describe(settings)
    try:
        with Store.for_home(settings, upgrade=False) as store:
            done, known = store.schema()
            if done < known:
                return [Check("Database", False, f"{where} is reachable but has schema {done} of {known}.",
                              "Bring it up to date with 'pipeline db upgrade'.")]
            partnerships = register.partnerships(store)
            upcoming = committees.meetings(store, from_date=today)
            rows = store.sent_status(today)
    except PipelineError as exc:
        return [Check("Database", False, str(exc), "")]
    checks = [Check("Database", True, f"{where}: reachable, schema {done} of {known} (current)")]
    if partnerships:
        checks.append(Check("Register", True, f"{len(partnerships)} partnerships"))
    else:
        checks.append(Check("Register", False, "no partnerships on the register.",
                            "Import it with 'pipeline register import REGISTER.xlsx' "
                            "('pipeline register template' writes a blank one)."))
    if upcoming:
        first = upcoming[0]
        checks.append(Check("Calendar", True,
                            f"next: {first.committee} on {long_date(first.date)}; its papers must be "
                            f"published by {long_date(first.publication_deadline)}"))
    else:
        checks.append(Check("Calendar", False, "no committee meetings from today on.",
                            "Add them with 'pipeline calendar import committees.yaml' (or an .ics file)."))
    overdue = sum(row.missing for row in rows)
    checks.append(Check("Overdue", True, "nothing is overdue" if overdue == 0 else
                        f"{overdue} form{'s are' if overdue != 1 else ' is'} overdue "
                        "(see 'pipeline status' for which)"))
    return checks
