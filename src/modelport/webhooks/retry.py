"""When a failed delivery is tried again: exponential backoff from MODELPORT_WEBHOOKS_BACKOFF_SECONDS,
doubling per attempt up to MODELPORT_WEBHOOKS_MAX_BACKOFF_SECONDS, with jitter so that the events
of one outage do not return in lockstep, and no attempt after MODELPORT_WEBHOOKS_MAX_AGE_SECONDS
from the event (or from the operator's redeliver): then the delivery is given up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from modelport.settings import Settings


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_seconds: float
    max_delay_seconds: float
    max_age_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            first_delay_seconds=settings.webhooks_backoff_seconds,
            max_delay_seconds=settings.webhooks_max_backoff_seconds,
            max_age_seconds=settings.webhooks_max_age_seconds,
        )

    def delay_seconds(self, failed_attempts: int, draw: Callable[[], float] = random.random) -> float:
        """The wait after the `failed_attempts`-th failure: 0.8x to 1.2x of the doubled delay, capped."""
        exponent = min(max(failed_attempts - 1, 0), 64)
        nominal = min(self.first_delay_seconds * 2.0**exponent, self.max_delay_seconds)
        return min(nominal * (0.8 + 0.4 * draw()), self.max_delay_seconds)

    def next_attempt_at_ms(
        self, now_ms: int, retry_from_ms: int, failed_attempts: int, draw: Callable[[], float] = random.random
    ) -> int | None:
        """When to try again, or None to give up; the last attempt falls on the window's end."""
        deadline = retry_from_ms + int(self.max_age_seconds * 1000)
        if now_ms >= deadline:
            return None
        return min(now_ms + int(self.delay_seconds(failed_attempts, draw) * 1000), deadline)
