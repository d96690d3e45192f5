"""What a returned file is about, as a reply names it: the form, the partnership, the meeting.

Read again from the kept copy when the reply is written, so a rejected return (whose answers
were never stored) is named as well as an accepted one. Anything unreadable is simply unnamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipeline.core.definitions import FormDefinition, FormLibrary
from pipeline.core.errors import PipelineError
from pipeline.core.values import RawValues
from pipeline.ingest.readers import read_form
from pipeline.ingest.validation import answer_text, parse_date


@dataclass(frozen=True)
class ReturnAbout:
    """The form's title, and the partnership and meeting it was for, where they are known."""

    form_title: str | None = None
    partnership: str | None = None
    meeting_date: date | None = None


def about_return(data: bytes, name: str, library: FormLibrary) -> ReturnAbout:
    """Name the return in `data`: its personal copy's own details first, else what was typed."""
    try:
        read = read_form(data, name, library)
    except PipelineError:
        return ReturnAbout()
    identity = read.identity
    partnership = (identity.partnership if identity else None) or \
        _typed(read.definition, read.raw, "partnership")
    meeting = (identity.meeting_date if identity else None) or \
        _typed(read.definition, read.raw, "meeting_date")
    return ReturnAbout(read.definition.title, partnership or None, _day(meeting))


def _typed(definition: FormDefinition, raw: RawValues, key: str) -> str | None:
    for f in definition.fields:
        if f.prefill == key and not f.is_table:
            text = answer_text(raw.get(f.id)).strip()
            if text:
                return text
    return None


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parse_date(text)
    except (PipelineError, ValueError):
        return None
