"""Webhook endpoints per workspace: add, list, find, remove. The signing secret goes in once, at
add time, and comes out only to the outbox's claim (db/webhook_outbox.py), never in a listing.

`workspace_id=None` in a read or a removal means the operator's view: every workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.exc import DBAPIError

from modelport.clock import now_ms
from modelport.db.engine import read_transaction, write_transaction
from modelport.db.schema import webhook_attempts, webhook_endpoints, webhook_messages, workspaces
from modelport.domain.errors import OperationDenied
from modelport.domain.webhooks import EventType, WebhookEndpoint, new_endpoint_id
from modelport.webhooks.signing import Secret

# Every job transition of a workspace writes one outbox row per endpoint: a bound keeps that cheap.
MAX_ENDPOINTS_PER_WORKSPACE = 20

_COLUMNS = (
    webhook_endpoints.c.endpoint_id,
    webhook_endpoints.c.url,
    webhook_endpoints.c.events,
    webhook_endpoints.c.created_at_ms,
    workspaces.c.name.label("workspace"),
)


class WebhookEndpoints:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, workspace_id: int, url: str, events: Sequence[EventType], secret: Secret) -> WebhookEndpoint:
        endpoint_id = new_endpoint_id()
        with write_transaction(self._engine) as connection:
            lock = select(workspaces.c.id).where(workspaces.c.id == workspace_id)
            if connection.dialect.name == "postgresql":
                # Two adds at once must not both pass the count below.
                lock = lock.with_for_update()
            connection.execute(lock)
            counted = select(func.count()).where(webhook_endpoints.c.workspace_id == workspace_id)
            count = connection.execute(counted).scalar_one()
            if count >= MAX_ENDPOINTS_PER_WORKSPACE:
                raise OperationDenied(
                    f"A workspace can have at most {MAX_ENDPOINTS_PER_WORKSPACE} webhook endpoints; remove one first."
                )
            try:
                connection.execute(
                    webhook_endpoints.insert().values(
                        endpoint_id=endpoint_id,
                        workspace_id=workspace_id,
                        url=url,
                        events=",".join(event.value for event in events),
                        secret=secret.reveal(),
                        created_at_ms=now_ms(),
                    )
                )
            except DBAPIError as error:
                # SQLAlchemy's message lists the statement's parameters, the secret among them.
                cause = type(error.orig).__name__
                raise RuntimeError(f"storing webhook endpoint {endpoint_id} failed ({cause})") from None
        found = self.get(endpoint_id, workspace_id)
        assert found is not None
        return found

    def list_endpoints(self, workspace_id: int | None) -> list[WebhookEndpoint]:
        query = _joined().order_by(webhook_endpoints.c.created_at_ms, webhook_endpoints.c.endpoint_id)
        if workspace_id is not None:
            query = query.where(webhook_endpoints.c.workspace_id == workspace_id)
        with read_transaction(self._engine) as connection:
            return [_endpoint(row._mapping) for row in connection.execute(query)]

    def get(self, endpoint_id: str, workspace_id: int | None) -> WebhookEndpoint | None:
        query = _joined().where(webhook_endpoints.c.endpoint_id == endpoint_id)
        if workspace_id is not None:
            query = query.where(webhook_endpoints.c.workspace_id == workspace_id)
        with read_transaction(self._engine) as connection:
            row = connection.execute(query).first()
        return None if row is None else _endpoint(row._mapping)

    def remove(self, endpoint_id: str, workspace_id: int | None) -> WebhookEndpoint | None:
        """Remove the endpoint and its deliveries (pending ones are not sent); None if it was not there."""
        found = self.get(endpoint_id, workspace_id)
        if found is None:
            return None
        messages = select(webhook_messages.c.message_id).where(webhook_messages.c.endpoint_id == endpoint_id)
        with write_transaction(self._engine) as connection:
            connection.execute(delete(webhook_attempts).where(webhook_attempts.c.message_id.in_(messages)))
            connection.execute(delete(webhook_messages).where(webhook_messages.c.endpoint_id == endpoint_id))
            removed = connection.execute(
                delete(webhook_endpoints).where(webhook_endpoints.c.endpoint_id == endpoint_id)
            ).rowcount
        return found if removed == 1 else None


def _joined() -> Select[Any]:
    return select(*_COLUMNS).join(workspaces, workspaces.c.id == webhook_endpoints.c.workspace_id)


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        endpoint_id=row["endpoint_id"],
        workspace=row["workspace"],
        url=row["url"],
        events=tuple(EventType(value) for value in row["events"].split(",")),
        created_at_ms=row["created_at_ms"],
    )
