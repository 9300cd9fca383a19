"""Endpoints and deliveries as the API's `output` shows them (and `modelport webhooks ... --json`).

Times use the job object's format (`format_gmt`); a secret appears only in the object that
answers the add, never here.
"""

from __future__ import annotations

from typing import Any

from modelport.domain.jobs import format_gmt
from modelport.domain.webhooks import Attempt, Delivery, WebhookEndpoint


def endpoint_object(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint.endpoint_id,
        "url": endpoint.url,
        "events": [event.value for event in endpoint.events],
        "gmt_create": format_gmt(endpoint.created_at_ms),
    }


def delivery_object(delivery: Delivery) -> dict[str, Any]:
    last = delivery.attempts[-1] if delivery.attempts else None
    return {
        "message_id": delivery.message_id,
        "endpoint_id": delivery.endpoint_id,
        "event_type": delivery.event_type.value,
        "job_id": delivery.job_id,
        "status": delivery.status.value,
        "attempt_count": delivery.attempt_count,
        "gmt_create": format_gmt(delivery.created_at_ms),
        "next_attempt_at": _time(delivery.next_attempt_at_ms),
        "delivered_at": _time(delivery.delivered_at_ms),
        "last_status_code": last.status_code if last is not None else None,
        "last_error": last.error if last is not None else None,
        "attempts": [attempt_object(attempt) for attempt in delivery.attempts],
    }


def attempt_object(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt": attempt.number,
        "started_at": format_gmt(attempt.started_at_ms),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
    }


def _time(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else format_gmt(epoch_ms)
