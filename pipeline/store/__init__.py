"""The store: the only place that talks to the database. `from pipeline.store import Store`.

Its parts, one module per kind of thing kept: schema (tables and migrations), intakes,
submissions, sent (tokens and forms sent), register (partnerships and the committee calendar),
papers, mailbox, events, users; rows (what goes in and comes out); connection (the driver and
its errors); for_papers (read-only aggregates the committee papers ask for).
"""

from pipeline.store.database import *  # noqa: F403 (the store's public names, listed in __all__)
from pipeline.store.database import __all__  # noqa: F401
