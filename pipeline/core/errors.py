"""Every error the pipeline raises on purpose, in one tree.

    PipelineError                 root: catch this at the CLI and show its message to the clerk
    ├── ConfigError               a bad setting, argument or folder (exit status 2)
    ├── DefinitionError           a form definition file is malformed or unknown (exit status 2)
    ├── GenerationError           a form or paper could not be written
    ├── StoreError                the database could not be opened or written
    ├── ConversionError           LibreOffice failed or is missing (PDF export, round trips)
    ├── SendError                 an email could not be sent (mail server or outbox)
    └── RejectedFile              this returned file stops here, for a reason the sender can act on
        ├── UnsafeFile            zip bomb, entity expansion, macros, encrypted or not OOXML at all
        ├── UnreadableFile        truncated, empty or not the kind its name claims
        └── UnknownForm           a document that is not (recognisably) one of our forms

Lower-level errors (zipfile, lxml, openpyxl, pypdf, sqlite3) are mapped at the boundary with
`raise SomeError(message) from exc`; their text never reaches a member or the clerk raw.
Messages are written for the person who will read them: plain words, what to do next.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every deliberate pipeline error."""

    exit_status = 1


class ConfigError(PipelineError):
    """A bad argument, setting or folder. Catch to report a usage problem."""

    exit_status = 2


class DefinitionError(PipelineError):
    """A form definition is malformed, or no definition has that id or version."""

    exit_status = 2


class GenerationError(PipelineError):
    """A form or paper could not be generated."""


class StoreError(PipelineError):
    """The database could not be opened, migrated or written."""


class ConversionError(PipelineError):
    """LibreOffice is missing or a conversion produced no output."""


class RejectedFile(PipelineError):
    """A returned file cannot be accepted; `reason` is what the sender is told."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeFile(RejectedFile):
    """The file could harm the reader: zip bomb, XML entities, macros, encryption."""


class UnreadableFile(RejectedFile):
    """The file is empty, truncated or not the kind of file its name says."""


class UnknownForm(RejectedFile):
    """The document is not one of our forms, or which form it is cannot be told for certain."""


class SendError(PipelineError):
    """An email could not be sent: the mail server refused or could not be reached."""
