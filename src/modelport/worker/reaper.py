"""The reaper: fails jobs that used up their attempts, removes staging data and blob claims no
running job owns, removes published models whose job is gone (a delete interrupted between the row
and the files), and collects blobs that nothing references any more.

Every pass is safe to run from any number of processes at once: each decision is re-checked in
the database, and removals are idempotent.
"""

from __future__ import annotations

import logging
import time

from modelport.services import Services
from modelport.usecases.deletion import collect_blobs, sweep_orphans

logger = logging.getLogger("modelport.reaper")

ORPHAN_SWEEP_SECONDS = 600.0


class Reaper:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._last_orphan_sweep = 0.0

    def run_once(self) -> None:
        store = self._services.model_store
        failed = self._services.queue.fail_exhausted(self._services.settings.max_attempts)
        if failed:
            logger.warning("failed %d job(s) that used up their attempts", failed)
        staged = store.staged_model_names()
        running = self._services.reads.running_model_names(staged)
        for name in staged:
            if name not in running and store.sweep_staging(name):
                logger.info("removed stale staging data of %s", name)
        if time.monotonic() - self._last_orphan_sweep >= ORPHAN_SWEEP_SECONDS:
            self.sweep_orphans()

    def sweep_orphans(self) -> int:
        """The reaper's half of the delete protocol (usecases.deletion), blobs included; returns how
        many models were removed."""
        self._last_orphan_sweep = time.monotonic()
        removed = sweep_orphans(self._services.reads, self._services.model_store)
        collect_blobs(self._services.reads, self._services.model_store)
        return removed
