"""Wire shapes of the webhook routes: the add body (parsed with pydantic, errors turned into one
sentence), the deliveries query, and the response models the OpenAPI document shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelport.domain.errors import InvalidParameter
from modelport.domain.webhooks import DEFAULT_EVENTS, DeliveryStatus, EventType
from modelport.usecases.webhooks import DEFAULT_DELIVERIES, MAX_DELIVERIES
from modelport.webhooks.addresses import MAX_URL_CHARS

_EVENTS = [event.value for event in EventType]
_EVENTS_SCHEMA: dict[str, Any] = {"items": {"type": "string", "enum": _EVENTS}, "minItems": 1}


class CreateWebhookBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    url: str = Field(
        description=(
            "http:// or https:// URL the events are POSTed to. Its host must resolve to public addresses "
            "only (unless the operator allows private ones); no user name or password, no #fragment; "
            "redirects are not followed."
        ),
        json_schema_extra={"maxLength": MAX_URL_CHARS, "pattern": "^https?://"},
    )
    events: list[str] = Field(
        default_factory=lambda: [event.value for event in DEFAULT_EVENTS],
        description="The events to send; by default the end of every job (import.succeeded, import.failed).",
        json_schema_extra=_EVENTS_SCHEMA,
    )


@dataclass(frozen=True)
class NewWebhook:
    url: str
    events: list[str]


def create_webhook_body_schema() -> dict[str, Any]:
    return CreateWebhookBody.model_json_schema(ref_template="#/components/schemas/{model}")


def parse_webhook_body(raw: bytes) -> NewWebhook:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidParameter("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    try:
        body = CreateWebhookBody.model_validate(document)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        if first["type"] == "missing":
            raise InvalidParameter(f"{where} is required.") from None
        if first["type"] == "string_type":
            raise InvalidParameter(f"{where} must be a string.") from None
        if first["type"] == "list_type":
            raise InvalidParameter(f"{where} must be a list of event names.") from None
        raise InvalidParameter(f"{where}: {first['msg']}.") from None
    return NewWebhook(url=body.url, events=body.events)


def parse_deliveries_limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_DELIVERIES
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_DELIVERIES:
        raise InvalidParameter(f"limit must be an integer between 1 and {MAX_DELIVERIES}; got {raw!r}.")
    return int(raw)


# -- response models, for the OpenAPI document only ------------------------------------------------


class WebhookEndpointOut(BaseModel):
    endpoint_id: str = Field(description="ep_ followed by 32 hexadecimal digits.")
    url: str
    events: list[str]
    gmt_create: str


class NewWebhookEndpointOut(WebhookEndpointOut):
    secret: str = Field(
        description="The signing secret (whsec_...), shown only in this answer; verify signatures with it."
    )


class WebhookEndpointListOut(BaseModel):
    total: int
    list: list[WebhookEndpointOut]


class WebhookAttemptOut(BaseModel):
    attempt: int
    started_at: str
    duration_ms: int
    status_code: int | None = Field(description="The receiver's HTTP status; null when there was no answer.")
    error: str | None = Field(description="Why the attempt failed (bounded); null when the answer was 2xx.")


class WebhookDeliveryOut(BaseModel):
    message_id: str = Field(description="The webhook-id header: the same on every attempt and redelivery.")
    endpoint_id: str
    event_type: str = Field(description="One of " + ", ".join(_EVENTS) + ".")
    job_id: str
    status: str = Field(description="One of " + ", ".join(status.value for status in DeliveryStatus) + ".")
    attempt_count: int
    gmt_create: str
    next_attempt_at: str | None
    delivered_at: str | None
    last_status_code: int | None
    last_error: str | None
    attempts: list[WebhookAttemptOut] = Field(description="The latest attempts, oldest first.")


class WebhookDeliveryListOut(BaseModel):
    limit: int
    list: list[WebhookDeliveryOut]


class NewWebhookEndpointEnvelope(BaseModel):
    request_id: str
    output: NewWebhookEndpointOut


class WebhookEndpointEnvelope(BaseModel):
    request_id: str
    output: WebhookEndpointOut


class WebhookEndpointListEnvelope(BaseModel):
    request_id: str
    output: WebhookEndpointListOut


class WebhookDeliveryEnvelope(BaseModel):
    request_id: str
    output: WebhookDeliveryOut


class WebhookDeliveryListEnvelope(BaseModel):
    request_id: str
    output: WebhookDeliveryListOut
