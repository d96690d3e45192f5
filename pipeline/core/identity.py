"""Who a form is for and which definition made it: carried in the file's custom properties.

Generation writes these properties into every `.docx` and `.xlsx`; ingest reads them back to know
the form, its version and (for a personalised copy) the recipient's token. LibreOffice and Excel
keep custom properties through a re-save, which is why identity lives here and not in tags.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

PROP_FORM_ID = "PipelineFormId"
PROP_VERSION = "PipelineFormVersion"
PROP_HASH = "PipelineFormHash"
PROP_TOKEN = "PipelineToken"
PROP_PARTNERSHIP = "PipelinePartnership"
PROP_MEMBER = "PipelineMember"
PROP_MEETING_DATE = "PipelineMeetingDate"


@dataclass(frozen=True)
class Personalisation:
    """What the pipeline already knows about one recipient's copy of a form."""

    partnership: str | None = None
    member: str | None = None
    meeting_title: str | None = None
    meeting_date: date | None = None
    meeting_place: str | None = None
    token: str | None = None

    @property
    def is_blank(self) -> bool:
        return not any((self.partnership, self.member, self.meeting_title, self.meeting_date,
                        self.meeting_place))

    def prefill(self, key: str) -> str | None:
        """The text to pre-fill for a field whose definition says `prefill: key`."""
        value = getattr(self, key, None)
        if isinstance(value, date):
            return value.isoformat()
        return value or None

    def with_token(self) -> Personalisation:
        """This personalisation with a fresh recipient token (kept if it already has one)."""
        if self.token or self.is_blank:
            return self
        return Personalisation(self.partnership, self.member, self.meeting_title,
                               self.meeting_date, self.meeting_place, new_token())


def new_token() -> str:
    """A short, unguessable token that ties a returned copy to the copy that was sent."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class FormIdentity:
    form_id: str
    version: int
    hash: str = ""
    token: str | None = None
    partnership: str | None = None
    member: str | None = None
    meeting_date: str | None = None

    def to_properties(self) -> dict[str, str]:
        props = {PROP_FORM_ID: self.form_id, PROP_VERSION: str(self.version), PROP_HASH: self.hash}
        optional = {
            PROP_TOKEN: self.token,
            PROP_PARTNERSHIP: self.partnership,
            PROP_MEMBER: self.member,
            PROP_MEETING_DATE: self.meeting_date,
        }
        props.update({name: value for name, value in optional.items() if value})
        return props

    @classmethod
    def from_properties(cls, props: dict[str, str]) -> FormIdentity | None:
        """The identity in a file's custom properties, or None when it carries none we can use."""
        form_id = (props.get(PROP_FORM_ID) or "").strip()
        version = (props.get(PROP_VERSION) or "").strip()
        if not form_id or not version.isdigit():
            return None
        return cls(
            form_id=form_id,
            version=int(version),
            hash=props.get(PROP_HASH, ""),
            token=props.get(PROP_TOKEN) or None,
            partnership=props.get(PROP_PARTNERSHIP) or None,
            member=props.get(PROP_MEMBER) or None,
            meeting_date=props.get(PROP_MEETING_DATE) or None,
        )

    @classmethod
    def for_copy(cls, definition_id: str, version: int, digest: str,
                 person: Personalisation) -> FormIdentity:
        meeting = person.meeting_date.isoformat() if person.meeting_date else None
        return cls(definition_id, version, digest, person.token, person.partnership,
                   person.member, meeting)
