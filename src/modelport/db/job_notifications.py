"""PostgreSQL only: wake idle workers on other hosts the moment a job is created or handed back.

Without this a separate `modelport worker` sees a new job at its next poll (`MODELPORT_POLL_SECONDS`,
1 s by default: 0.4 s from create to RUNNING at the median, BENCHMARKS.md). The API's create
transaction sends `NOTIFY`, which PostgreSQL delivers at commit to every connection that `LISTEN`s;
each worker keeps one such connection. A notification is only a hint to claim now: the claim itself
stays the usual conditional UPDATE, and the poll stays the fallback for a listener that is
reconnecting. SQLite has no equivalent and needs none: it cannot be shared across hosts, and an
in-process worker is woken directly (`Services.notify_new_job`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, Engine, text

from modelport.db.engine import libpq_conninfo

logger = logging.getLogger(__name__)

CHANNEL = "modelport_jobs"
_RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
_CHECK_STOP_SECONDS = 1.0
_NOTIFY = text(f"NOTIFY {CHANNEL}")


def announce_claimable_job(connection: Connection) -> None:
    """Within a write transaction: tell listening workers, at commit, that a job can be claimed."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY)


class ClaimableJobListener:
    """One LISTEN connection; calls `on_job` for each notification and once after every (re)connect,
    so that a job created while it was not listening is claimed without waiting for the poll."""

    def __init__(self, engine: Engine, on_job: Callable[[], None]) -> None:
        self._conninfo = libpq_conninfo(engine)
        self._on_job = on_job
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def connect(self) -> bool:
        """Start listening; False (and a warning) if the database cannot be reached now."""
        try:
            connection = psycopg.connect(self._conninfo, autocommit=True)
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            logger.warning("cannot LISTEN for new jobs (%s); polling until the database answers", error)
            return False
        self._connection = connection
        self._on_job()
        return True

    def run(self, stopping: threading.Event) -> None:
        """Deliver notifications until `stopping` is set, reconnecting with backoff."""
        failures = 0
        while not stopping.is_set():
            if self._connection is None and not self.connect():
                stopping.wait(_RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0
            assert self._connection is not None
            try:
                for _notification in self._connection.notifies(timeout=_CHECK_STOP_SECONDS):
                    self._on_job()
            except psycopg.Error as error:
                logger.warning("lost the LISTEN connection for new jobs (%s); reconnecting", error)
                self._close()
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
