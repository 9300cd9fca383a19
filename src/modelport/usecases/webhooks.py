"""The webhook use cases: add, list and remove a workspace's endpoints, see their latest
deliveries, redeliver one. The HTTP routes call these for the workspace of the caller's key; the
operator's CLI calls them with `workspace_id=None`, which reaches every workspace.

An endpoint's URL passes the address policy (webhooks/addresses.py) here, when it is added; the
sender checks it again before every attempt. The secret is generated here and returned once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelport.db.keys_repository import KeyManagementError, KeyRepository
from modelport.db.webhook_endpoints import WebhookEndpoints
from modelport.db.webhook_outbox import WebhookOutbox
from modelport.domain.errors import InvalidParameter, NotFound
from modelport.domain.webhooks import Delivery, EventType, WebhookEndpoint, normalize_id
from modelport.services import Services
from modelport.webhooks.addresses import Resolver, UrlRefused, checked_addresses, parse_webhook_url, system_resolver
from modelport.webhooks.signing import Secret

DEFAULT_DELIVERIES = 20
MAX_DELIVERIES = 100


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: Secret  # for the one time it is shown; never stored anywhere but the endpoint's row


class Webhooks:
    def __init__(
        self,
        endpoints: WebhookEndpoints,
        outbox: WebhookOutbox,
        keys: KeyRepository,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._endpoints = endpoints
        self._outbox = outbox
        self._keys = keys
        self._allow_private = allow_private
        self._resolver = resolver

    @classmethod
    def over(cls, services: Services, resolver: Resolver = system_resolver) -> Webhooks:
        return cls(
            services.webhook_endpoints,
            services.outbox,
            services.keys,
            allow_private=services.settings.webhooks_allow_private,
            resolver=resolver,
        )

    def add(self, workspace_id: int, url: str, events: Sequence[str] | None = None) -> NewEndpoint:
        """A new endpoint of the workspace; InvalidParameter for a URL or event list it may not have."""
        subscribed = EventType.parse_list(list(events) if events is not None else None)
        try:
            parsed = parse_webhook_url(url)
            checked_addresses(parsed, allow_private=self._allow_private, resolver=self._resolver)
        except UrlRefused as refused:
            raise InvalidParameter(f"url: {refused}") from None
        secret = Secret.generate()
        return NewEndpoint(self._endpoints.add(workspace_id, parsed.text, subscribed, secret), secret)

    def add_to_workspace(self, workspace: str, url: str, events: Sequence[str] | None = None) -> NewEndpoint:
        """The operator's add: the workspace by name, created if it does not exist yet (as keys are)."""
        try:
            workspace_id = self._keys.ensure_workspace(workspace)
        except KeyManagementError as error:
            raise InvalidParameter(str(error)) from None
        return self.add(workspace_id, url, events)

    def list_endpoints(self, workspace_id: int | None) -> list[WebhookEndpoint]:
        return self._endpoints.list_endpoints(workspace_id)

    def remove(self, workspace_id: int | None, raw_endpoint_id: str) -> WebhookEndpoint:
        """Remove an endpoint with its deliveries; returns it as it was."""
        endpoint_id = normalize_id(raw_endpoint_id, "ep_")
        removed = self._endpoints.remove(endpoint_id, workspace_id) if endpoint_id else None
        if removed is None:
            raise endpoint_not_found(raw_endpoint_id)
        return removed

    def deliveries(
        self, workspace_id: int | None, raw_endpoint_id: str, limit: int = DEFAULT_DELIVERIES
    ) -> list[Delivery]:
        endpoint = self.endpoint(workspace_id, raw_endpoint_id)
        return self._outbox.deliveries(endpoint.endpoint_id, max(1, min(limit, MAX_DELIVERIES)))

    def redeliver(self, workspace_id: int | None, raw_message_id: str, raw_endpoint_id: str | None = None) -> Delivery:
        """Queue a delivery again (same webhook-id, a fresh retry window); returns it as queued."""
        message_id = normalize_id(raw_message_id, "msg_")
        delivery = self._outbox.delivery(message_id) if message_id else None
        if delivery is None or self._endpoints.get(delivery.endpoint_id, workspace_id) is None:
            raise delivery_not_found(raw_message_id)
        if raw_endpoint_id is not None and normalize_id(raw_endpoint_id, "ep_") != delivery.endpoint_id:
            raise delivery_not_found(raw_message_id)
        if not self._outbox.redeliver(delivery.message_id):
            raise delivery_not_found(raw_message_id)
        queued = self._outbox.delivery(delivery.message_id)
        if queued is None:
            raise delivery_not_found(raw_message_id)
        return queued

    def endpoint(self, workspace_id: int | None, raw_endpoint_id: str) -> WebhookEndpoint:
        """One endpoint; NotFound if it does not exist or belongs to another workspace."""
        endpoint_id = normalize_id(raw_endpoint_id, "ep_")
        endpoint = self._endpoints.get(endpoint_id, workspace_id) if endpoint_id else None
        if endpoint is None:
            raise endpoint_not_found(raw_endpoint_id)
        return endpoint


def endpoint_not_found(raw_endpoint_id: str) -> NotFound:
    """Missing, or another workspace's: the two are indistinguishable, as for jobs."""
    return NotFound(f"Webhook endpoint {raw_endpoint_id} does not exist.")


def delivery_not_found(raw_message_id: str) -> NotFound:
    return NotFound(f"Webhook delivery {raw_message_id} does not exist.")
