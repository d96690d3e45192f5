"""Returns from names not on the partnership register: held as "not matched" until the clerk
matches each to a register entry (`pipeline match SUBMISSION_ID "PARTNERSHIP NAME"`) or adds the
partnership to the register. A return is matched by the clerk, else by the token of the form
sent, else by the name typed (capitals ignored); see the `submission_partnerships` view.
"""

from __future__ import annotations

import difflib

from pipeline.core.errors import ConfigError
from pipeline.schedule import register
from pipeline.store import Store, SubmissionStatus, UnmatchedReturn


def match_return(store: Store, submission_id: int, name: str) -> str:
    """Count return `submission_id` under the register's partnership `name`; what was done, in words."""
    found = store.submission(submission_id)
    if found is None:
        raise ConfigError(f"There is no return number {submission_id}. 'pipeline status' lists the "
                          "returns not matched to the register, with their numbers.")
    if found.status is not SubmissionStatus.CURRENT:
        raise ConfigError(f"Return {submission_id} has been replaced by a later copy"
                          f" (return {found.superseded_by}): match that one instead.")
    partnership = register.partnership(store, " ".join(name.split()))
    if partnership is None:
        raise ConfigError(_not_on_register(store, name))
    store.match(submission_id, partnership.id)
    typed = f' ("{found.partnership}")' if found.partnership else ""
    return (f"Return {submission_id}{typed} is now counted under {partnership.name} in the papers "
            "and the status.")


def _not_on_register(store: Store, name: str) -> str:
    names = [p.name for p in register.partnerships(store)]
    close = difflib.get_close_matches(name.casefold(), [n.casefold() for n in names], n=1, cutoff=0.6)
    meant = next((n for n in names if close and n.casefold() == close[0]), None)
    hint = (f' Did you mean "{meant}"?' if meant
            else " Add it to the register first (pipeline register import).")
    return f'There is no partnership called "{name}" on the register.{hint}'


def unmatched(store: Store) -> list[UnmatchedReturn]:
    """The current returns not matched to the register, oldest first."""
    return store.unmatched()
