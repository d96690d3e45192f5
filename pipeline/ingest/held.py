"""The clerk decides a held return: a return whose typed partnership or meeting contradicts its
copy's token is held (kept in `archive/held/`, counted as held). The clerk then either releases
it, counted as the copy was sent ("sent": the typed box was a slip) or as it was typed ("typed":
the member used someone else's copy), or rejects it with a reason.
"""

from __future__ import annotations

import getpass
import logging
import os
from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from pipeline.core.errors import ConfigError, PipelineError
from pipeline.core.files import write_new_file
from pipeline.ingest.readers import ReadForm
from pipeline.ingest.steps import FileResult, Ingest, Job, _open_regular, _read_all, local_day
from pipeline.ingest.validation import Checked
from pipeline.store import HeldReturn, IntakeOutcome, IntakeRow, IssuedToken

log = logging.getLogger("pipeline.ingest")


class CountAs(StrEnum):
    """Whose return a released return becomes."""

    SENT = "sent"  # the partnership and meeting the copy was made for (its token)
    TYPED = "typed"  # what the member typed in the form (the token is set aside)


def clerk() -> str:
    """Who acted, for the event log: the account running the command."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "command line"


def held_returns(ingest: Ingest) -> list[HeldReturn]:
    return ingest.store.held()


def release(ingest: Ingest, intake_id: int, count_as: CountAs, *, by: str) -> FileResult:
    """Store the held return as the clerk decided, archive it, and mark the hold decided."""
    row = _held(ingest, intake_id)
    job = _job(row)
    ingest._notes.clear()
    read = ingest._identify(job, intake_id)
    checked = ingest._validate(job, intake_id, read)
    token = read.identity.token if read.identity else None
    issued = ingest.store.issued_token(token) if token else None
    if issued is None:
        raise PipelineError(f"Held return {intake_id} no longer matches a form the pipeline sent, "
                            "so it cannot be released; reject it instead.")
    read, checked, issued_or_none = _decided(read, checked, issued, count_as)
    how = ("as the form was sent: for " + (issued.partnership or "no partnership")
           if count_as is CountAs.SENT else "as typed in the form; the copy's reference set aside")
    with ingest.store.transaction():
        ingest._note("held", "released", f"released by the clerk, counted {how}")
        result = ingest._store_and_archive(job, intake_id, read, checked, issued_or_none)
        ingest.store.deal_with(intake_id, "re-ingested", f"released, counted {how}", by)
    _remove_held_copy(row)
    log.info("Released held return %s (%s), counted %s", intake_id, row.original_name, how)
    return replace(result, message=f"Released {row.original_name}, counted {how}. "
                   + result.message)


def reject(ingest: Ingest, intake_id: int, reason: str, *, by: str) -> Path:
    """Refuse the held return for good: it moves to `rejected/` with the clerk's reason."""
    if not reason.strip():
        raise ConfigError("Say why it is rejected: pipeline held reject ID --reason \"...\"")
    row = _held(ingest, intake_id)
    job = _job(row)
    day = local_day(job.received_at).isoformat()
    from pipeline.ingest.steps import rejection_report, safe_file_name

    kept = write_new_file(ingest.settings.rejected, f"{day}-{safe_file_name(job.name)}", job.data,
                          reuse_identical=True)
    report = write_new_file(ingest.settings.rejected, f"{kept.name}.what-to-fix.txt",
                            rejection_report(job, reason).encode("utf-8"))
    with ingest.store.transaction():
        ingest.store.finish_intake(intake_id, outcome=IntakeOutcome.REJECTED, reason=reason,
                                   archived_path=str(kept), report_path=str(report))
        ingest.store.deal_with(intake_id, "dismissed", f"held return rejected: {reason}", by)
    _remove_held_copy(row)
    return kept


def _held(ingest: Ingest, intake_id: int) -> IntakeRow:
    if intake_id not in {held.intake_id for held in ingest.store.held()}:
        raise ConfigError(f"There is no return held with number {intake_id}. "
                          "'pipeline held' lists the returns held for you.")
    row = ingest.store.intake(intake_id)
    assert row is not None
    return row


def _job(row: IntakeRow) -> Job:
    """The held file as it was received (its bytes checked against those taken in)."""
    if not row.archived_path:
        raise PipelineError(f"The kept copy of held return {row.id} is not recorded.")
    try:
        handle = _open_regular(Path(row.archived_path), row.original_name)
    except FileNotFoundError:
        raise PipelineError(f"The kept copy of held return {row.id} is missing: "
                            f"{row.archived_path}. Nothing was changed.") from None
    try:
        data = _read_all(handle)
    finally:
        os.close(handle)
    received = datetime.fromisoformat(row.received_at.replace("Z", "+00:00"))
    job = Job(row.original_name, data, row.intake_name, row.source_path or row.original_name,
              row.sender, received)
    if job.sha256 != row.sha256:
        raise PipelineError(f"The kept copy of held return {row.id} ({row.archived_path}) is not "
                            "the file that was received, so it was not used. Nothing was changed.")
    return job


def _decided(read: ReadForm, checked: Checked, issued: IssuedToken,
             count_as: CountAs) -> tuple[ReadForm, Checked, IssuedToken | None]:
    """The form as it is to be stored: with the copy's identity, or with what was typed."""
    if count_as is CountAs.TYPED:  # the token belongs to another partnership: never count by it
        identity = (replace(read.identity, token=None, partnership=None, member=None,
                            meeting_date=None) if read.identity else None)
        return replace(read, identity=identity), checked, None
    values = dict(checked.values)
    for f in read.definition.fields:
        if f.prefill == "partnership" and issued.partnership:
            values[f.id] = issued.partnership
        elif f.prefill == "meeting_date" and issued.meeting_date:
            values[f.id] = date.fromisoformat(issued.meeting_date)
    return read, replace(checked, values=values), issued


def _remove_held_copy(row: IntakeRow) -> None:
    """The copy in archive/held goes once the decided one is kept elsewhere."""
    if row.archived_path:
        try:
            Path(row.archived_path).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("Could not remove %s: %s", row.archived_path, exc.strerror)
