"""This process's claims, in the store, on the files it is taking in: several workers (watchers,
`serve`, `pipeline ingest`, on one machine or several sharing the inbox) each take a file only
once it is theirs in the database, not only because a rename happened to succeed.

A claim is renewed every third of the timeout while the file is in hand (by a thread with a
connection of its own), so a worker killed with `kill -9` stops renewing and its files are taken
over by another worker once the timeout has passed. Claims use the computer's own clock (kept
right by NTP), never the clock a test or a replay gives the ingest.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pipeline.core.errors import PipelineError
from pipeline.store import Store

log = logging.getLogger("pipeline.ingest")
DEFAULT_TIMEOUT_SECONDS = 60.0


def inbox_key(name: str) -> str:
    """The claim on a file while it is still in the inbox (any bytes, shown readably)."""
    return "inbox/" + os.fsencode(name).decode("utf-8", "backslashreplace")


def processing_key(claimed_name: str) -> str:
    """The claim on a file taken into `.processing` under its own short name."""
    return f"processing/{claimed_name}"


class Claims:
    """The claims one worker holds; `close` stops renewing them (they are released as each
    file is finished)."""

    def __init__(self, opener: Callable[[], Store], *,
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.timeout = timedelta(seconds=timeout_seconds)
        self._opener = opener
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_until_stopped, daemon=True,
                                         name="claims-renewer")
        self._renewer.start()

    def take(self, store: Store, name: str) -> bool:
        """Claim `name`: True when it is ours (free, ours already, or its worker went silent)."""
        now = datetime.now(UTC)
        if not store.claim(name, self.worker, now, stale_before=now - self.timeout):
            return False
        with self._lock:
            self._held.add(name)
        return True

    def drop(self, store: Store, name: str) -> None:
        with self._lock:
            self._held.discard(name)
        store.release_claim(name, self.worker)

    def holds(self, name: str) -> bool:
        with self._lock:
            return name in self._held

    def tidy(self, store: Store, exists: Callable[[str], bool]) -> None:
        """Remove claims left by workers that died, on files no longer there."""
        stale = datetime.now(UTC) - self.timeout
        for claim in store.claims():
            if claim.worker != self.worker and _older(claim.claimed_at, stale) \
                    and not exists(claim.name):
                store.release_claim(claim.name, claim.worker)

    def held_by_others(self, store: Store) -> set[str]:
        """What other workers, still at work, hold now."""
        stale = datetime.now(UTC) - self.timeout
        return {claim.name for claim in store.claims()
                if claim.worker != self.worker and not _older(claim.claimed_at, stale)}

    def close(self) -> None:
        self._stop.set()
        self._renewer.join(timeout=10)

    def _renew_until_stopped(self) -> None:
        interval = max(self.timeout.total_seconds() / 3, 0.2)
        store: Store | None = None
        while not self._stop.wait(interval):
            with self._lock:
                names = sorted(self._held)
            if not names:
                continue
            try:
                store = store or self._opener()
                self._renew(store, names)
            except PipelineError as exc:  # the database is out of reach: try again soon
                log.error("Could not renew this worker's claims on its files: %s", exc)
        if store is not None:
            store.close()

    def _renew(self, store: Store, names: list[str]) -> None:
        now = datetime.now(UTC)
        for name in names:
            if not self.holds(name):
                continue
            if not store.renew_claim(name, self.worker, now) and self.holds(name):
                log.warning("Another worker took over %s (this one was silent too long)", name)


def _older(claimed_at: object, than: datetime) -> bool:
    if isinstance(claimed_at, datetime):
        moment = claimed_at
    else:
        moment = datetime.fromisoformat(str(claimed_at).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment < than
