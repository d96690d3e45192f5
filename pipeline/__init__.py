"""The partnership forms pipeline: generate fillable forms, ingest returns, write committee papers."""

__version__ = "0.1.0"

import logging as _logging

# A library logs; the program decides where it goes (`serve` and `watch` configure it). Without
# this, Python's last-resort handler would print every logged error a second time on stderr.
_logging.getLogger("pipeline").addHandler(_logging.NullHandler())
