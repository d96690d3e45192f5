"""The protective marking a paper carries: the highest among the records it draws on.

Order, lowest first (Government Protective Marking Scheme, with its 2014 successor placed
among it):

    NOT PROTECTIVELY MARKED (also UNCLASSIFIED) < OFFICIAL < PROTECT < OFFICIAL-SENSITIVE
    < RESTRICTED < CONFIDENTIAL < SECRET < TOP SECRET

OFFICIAL covers what an unmarked paper covers plus routine business, so it sits above NOT
PROTECTIVELY MARKED and below PROTECT; OFFICIAL-SENSITIVE sits between PROTECT and RESTRICTED.
A marking with a descriptor ("PROTECT - PERSONAL", "RESTRICTED - POLICY") ranks as its level and
keeps its full wording. A marking this list does not know ranks as PROTECT, the lowest
protective level, so it is carried into the paper rather than dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_MARKING = "NOT PROTECTIVELY MARKED"  # what an unmarked form or paper carries

MARKING_ORDER: tuple[tuple[str, ...], ...] = (
    ("NOT PROTECTIVELY MARKED", "UNCLASSIFIED"),
    ("OFFICIAL",),
    ("PROTECT",),
    ("OFFICIAL-SENSITIVE", "OFFICIAL SENSITIVE"),
    ("RESTRICTED",),
    ("CONFIDENTIAL",),
    ("SECRET",),
    ("TOP SECRET",),
)
UNKNOWN_RANK = 2  # as PROTECT
_RANKS = {name: rank for rank, names in enumerate(MARKING_ORDER) for name in names}
# Longest first, so "TOP SECRET" is not read as "SECRET" and "OFFICIAL-SENSITIVE" not as "OFFICIAL".
_BY_LENGTH = sorted(_RANKS, key=len, reverse=True)


def normal_marking(text: str) -> str:
    """`  protect -  personal ` -> `PROTECT - PERSONAL`: capitals, single spaces."""
    return " ".join(text.upper().split())


def marking_rank(text: str) -> int:
    """Where a marking stands in MARKING_ORDER (0 = not protectively marked)."""
    marking = normal_marking(text)
    for name in _BY_LENGTH:
        if marking == name or marking.startswith((name + " ", name + "-", name + ":")):
            return _RANKS[name]
    return UNKNOWN_RANK


def highest_marking(floor: str | None, markings: Iterable[str | None]) -> str:
    """The highest of `floor` (the authority's own marking) and every record's marking.

    On a tie the floor's wording wins, then the first record's; blanks are ignored.
    """
    best = normal_marking(floor or "") or DEFAULT_MARKING
    best_rank = marking_rank(best)
    for marking in markings:
        if not marking or not marking.strip():
            continue
        rank = marking_rank(marking)
        if rank > best_rank:
            best, best_rank = normal_marking(marking), rank
    return best
