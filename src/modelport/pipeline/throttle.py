"""An optional bandwidth cap for a worker process (`MODELPORT_MAX_BYTES_PER_SECOND`), so imports
do not saturate a link shared with serving traffic. Shared by every copy in the process."""

from __future__ import annotations

import threading
import time


class Throttle:
    def __init__(self, bytes_per_second: int | None) -> None:
        self._rate = bytes_per_second
        self._lock = threading.Lock()
        self._next_free = time.monotonic()

    def consume(self, count: int) -> None:
        """Block until `count` more bytes fit under the cap (no-op without a cap)."""
        if not self._rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(self._next_free, now)
            self._next_free = start + count / self._rate
            delay = start - now
        if delay > 0:
            time.sleep(delay)
