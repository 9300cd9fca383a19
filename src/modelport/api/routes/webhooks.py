"""The webhook routes, a modelport extension: the endpoints of the caller's workspace (add, list,
remove), an endpoint's latest deliveries, and a redeliver. Same auth, envelope and error rules as
every other route; another workspace's endpoint or delivery is NotFound.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.routes.common import ERRORS, caller, envelope
from modelport.api.schemas import read_capped_body
from modelport.api.webhook_schemas import (
    NewWebhookEndpointEnvelope,
    WebhookDeliveryEnvelope,
    WebhookDeliveryListEnvelope,
    WebhookEndpointEnvelope,
    WebhookEndpointListEnvelope,
    create_webhook_body_schema,
    parse_deliveries_limit,
    parse_webhook_body,
)
from modelport.usecases.webhooks import DEFAULT_DELIVERIES, MAX_DELIVERIES, Webhooks
from modelport.webhooks.wire import delivery_object, endpoint_object

router = APIRouter(prefix="/api/v1/custom_models/webhooks", tags=["modelport webhooks"])

ENDPOINT_ID = {"name": "endpoint_id", "in": "path", "required": True, "schema": {"type": "string"}}
MESSAGE_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}
LIMIT = {
    "name": "limit",
    "in": "query",
    "required": False,
    "description": "How many of the latest deliveries, newest first.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES, "default": DEFAULT_DELIVERIES},
}
ENDPOINT_LINKS = {
    name: {"operationId": operation, "parameters": {"endpoint_id": "$response.body#/output/endpoint_id"}}
    for name, operation in (("DeleteEndpoint", "deleteWebhookEndpoint"), ("ListDeliveries", "listWebhookDeliveries"))
}


def webhooks_of(request: Request) -> Webhooks:
    webhooks: Webhooks = request.app.state.webhooks
    return webhooks


@router.post(
    "",
    summary="Add a webhook endpoint to the caller's workspace; the answer holds its secret, shown once",
    operation_id="createWebhookEndpoint",
    responses={200: {"model": NewWebhookEndpointEnvelope, "links": ENDPOINT_LINKS}, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": create_webhook_body_schema()}},
        }
    },
)
async def create_webhook_endpoint(request: Request) -> JSONResponse:
    body = await read_capped_body(request)
    result: JSONResponse = await run_in_threadpool(_create, request, body)
    return result


def _create(request: Request, body: bytes) -> JSONResponse:
    workspace_id = caller(request)
    wanted = parse_webhook_body(body)
    created = webhooks_of(request).add(workspace_id, wanted.url, wanted.events)
    return envelope(request, {**endpoint_object(created.endpoint), "secret": created.secret.reveal()})


@router.get(
    "",
    summary="The webhook endpoints of the caller's workspace (without their secrets)",
    operation_id="listWebhookEndpoints",
    responses={200: {"model": WebhookEndpointListEnvelope}, **ERRORS},
)
def list_webhook_endpoints(request: Request) -> JSONResponse:
    endpoints = webhooks_of(request).list_endpoints(caller(request))
    return envelope(request, {"total": len(endpoints), "list": [endpoint_object(e) for e in endpoints]})


@router.delete(
    "/{endpoint_id}",
    summary="Remove a webhook endpoint; its pending deliveries are not sent",
    operation_id="deleteWebhookEndpoint",
    responses={200: {"model": WebhookEndpointEnvelope}, **ERRORS},
    openapi_extra={"parameters": [ENDPOINT_ID]},
)
def delete_webhook_endpoint(request: Request) -> JSONResponse:
    removed = webhooks_of(request).remove(caller(request), request.path_params["endpoint_id"])
    return envelope(request, endpoint_object(removed))


@router.get(
    "/{endpoint_id}/deliveries",
    summary="An endpoint's latest deliveries, newest first, each with its attempts",
    operation_id="listWebhookDeliveries",
    responses={200: {"model": WebhookDeliveryListEnvelope}, **ERRORS},
    openapi_extra={"parameters": [ENDPOINT_ID, LIMIT]},
)
def list_webhook_deliveries(request: Request) -> JSONResponse:
    workspace_id = caller(request)
    limit = parse_deliveries_limit(dict(request.query_params))
    deliveries = webhooks_of(request).deliveries(workspace_id, request.path_params["endpoint_id"], limit)
    return envelope(request, {"limit": limit, "list": [delivery_object(d) for d in deliveries]})


@router.post(
    "/{endpoint_id}/deliveries/{message_id}/redeliver",
    summary="Send a delivery again (same webhook-id, a fresh retry window)",
    operation_id="redeliverWebhook",
    responses={200: {"model": WebhookDeliveryEnvelope}, **ERRORS},
    openapi_extra={"parameters": [ENDPOINT_ID, MESSAGE_ID]},
)
def redeliver_webhook(request: Request) -> JSONResponse:
    workspace_id = caller(request)
    params = request.path_params
    queued = webhooks_of(request).redeliver(workspace_id, params["message_id"], params["endpoint_id"])
    return envelope(request, delivery_object(queued))
