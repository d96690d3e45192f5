"""Who a form goes back to, and whether it shows its source line: the authority's settings
(`[forms]` in pipeline.toml) and the register, never the names printed in the 2009 sources.

The definitions keep the seeds' wording ("Please return the completed checklist to ..."); the
form as sent adds one line naming today's contact: the partnership's own lead officer when the
register gives one, else `[forms] return_name`, `return_role` and `return_email`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pipeline.core.config import Config
from pipeline.core.definitions import FormDefinition
from pipeline.schedule.register import Partnership


@dataclass(frozen=True)
class FormContact:
    name: str = ""
    role: str = ""
    email: str = ""

    def sentence(self) -> str:
        """`To return it, email it to Jo Bloggs, the Partnerships Officer (jo@example.gov.uk).`
        (blanks left out): how to return it, after the form's own "Please return it to ..."."""
        who = ", ".join(part for part in (self.name, self.role) if part)
        if not who and not self.email:
            return ""
        if not who:
            return f"To return it, email it to {self.email}."
        if not self.email:
            return f"To return it, give it to {who}."
        return f"To return it, email it to {who} ({self.email})."


def contact_for(config: Config, partnership: Partnership | None = None) -> FormContact:
    """The partnership's own contact on the register, else the authority's settings."""
    if partnership is not None and partnership.lead_officer_email:
        return FormContact(partnership.lead_officer or "", "", partnership.lead_officer_email)
    forms = config.forms
    email = forms.return_email or config.smtp.reply_to or config.smtp.sender
    return FormContact(forms.return_name.strip(), forms.return_role.strip(), email.strip())


def as_sent(definition: FormDefinition, config: Config, contact: FormContact | None = None) -> FormDefinition:
    """`definition` as the authority sends it: today's contact added, the source line if wanted.

    The form's identity (id, version, hash) is unchanged: a return is read against `definition`.
    """
    contact = contact or contact_for(config)
    return_to = " ".join(part for part in (definition.return_to, contact.sentence()) if part)
    source = definition.source if config.forms.show_source else ""
    return dataclasses.replace(definition, return_to=return_to, source=source)
