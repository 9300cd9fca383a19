"""Webhooks as the domain sees them: the event types a job emits, an endpoint, and a delivery
(one event for one endpoint) with its attempts. No I/O here; the outbox (db/webhook_outbox.py)
stores them and the sender (worker/webhook_sender.py) delivers them.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from modelport.domain.errors import InvalidParameter
from modelport.domain.jobs import JobStatus


class EventType(enum.StrEnum):
    RUNNING = "import.running"
    SUCCEEDED = "import.succeeded"
    FAILED = "import.failed"

    @classmethod
    def for_status(cls, status: JobStatus) -> EventType | None:
        """The event a job emits on becoming `status` (PENDING is never entered by a change)."""
        return _BY_STATUS.get(status)

    @classmethod
    def parse_list(cls, values: list[str] | tuple[str, ...] | None) -> tuple[EventType, ...]:
        """An endpoint's subscription: the given event names (deduplicated, in a stable order),
        or the terminal events when none are given; InvalidParameter names an unknown one."""
        if values is None:
            return DEFAULT_EVENTS
        chosen: set[EventType] = set()
        for value in values:
            try:
                chosen.add(cls(value.strip().lower()))
            except ValueError:
                allowed = ", ".join(event.value for event in cls)
                raise InvalidParameter(f"events: {value!r} is not an event; use one or more of {allowed}.") from None
        if not chosen:
            raise InvalidParameter("events must name at least one event, e.g. import.succeeded.")
        return tuple(event for event in cls if event in chosen)


_BY_STATUS = {
    JobStatus.RUNNING: EventType.RUNNING,
    JobStatus.SUCCEEDED: EventType.SUCCEEDED,
    JobStatus.FAILED: EventType.FAILED,
}
# What an endpoint hears unless it asks otherwise: the end of every job.
DEFAULT_EVENTS = (EventType.SUCCEEDED, EventType.FAILED)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or in flight)
    DELIVERED = "delivered"  # a 2xx answer was received
    FAILED = "failed"  # given up: no 2xx before the retry window closed


@dataclass(frozen=True)
class WebhookEndpoint:
    endpoint_id: str
    workspace: str
    url: str
    events: tuple[EventType, ...]
    created_at_ms: int


@dataclass(frozen=True)
class Attempt:
    number: int
    started_at_ms: int
    duration_ms: int
    status_code: int | None  # None: no HTTP answer (refused address, connection error, timeout)
    error: str | None  # None when the answer was a 2xx


@dataclass(frozen=True)
class Delivery:
    message_id: str  # the webhook-id header: the same on every attempt and redelivery
    endpoint_id: str
    event_type: EventType
    job_id: str
    status: DeliveryStatus
    attempt_count: int
    created_at_ms: int
    next_attempt_at_ms: int | None
    delivered_at_ms: int | None
    attempts: tuple[Attempt, ...]


def new_endpoint_id() -> str:
    return "ep_" + uuid.uuid4().hex


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def normalize_id(raw: str, prefix: str) -> str | None:
    """The canonical form of an endpoint (`ep_`) or message (`msg_`) id, or None if it names none."""
    candidate = raw.strip().lower()
    hex_part = candidate.removeprefix(prefix)
    if candidate.startswith(prefix) and len(hex_part) == 32 and all(c in "0123456789abcdef" for c in hex_part):
        return candidate
    return None
