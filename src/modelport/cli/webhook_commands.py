"""`modelport webhooks ...`: the operator's view of webhook endpoints, over the database alone.

`add` prints the endpoint's signing secret as its last line (so `| tail -n 1` captures it), once;
no other command shows it. Deliveries are made by the workers, not by these commands.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from modelport.cli.startup import load_settings
from modelport.db.engine import make_engine
from modelport.db.keys_repository import DEFAULT_WORKSPACE, KeyRepository
from modelport.db.migrations import SchemaError, ensure_schema
from modelport.db.webhook_endpoints import WebhookEndpoints
from modelport.db.webhook_outbox import WebhookOutbox
from modelport.domain.errors import ServiceError
from modelport.domain.webhooks import DEFAULT_EVENTS, Attempt, Delivery, EventType
from modelport.usecases.webhooks import DEFAULT_DELIVERIES, MAX_DELIVERIES, Webhooks
from modelport.webhooks.wire import delivery_object, endpoint_object

_EVENT_NAMES = ", ".join(event.value for event in EventType)


def _webhooks() -> Webhooks:
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
    except SchemaError as error:
        raise click.ClickException(str(error)) from None
    return Webhooks(
        WebhookEndpoints(engine),
        WebhookOutbox(engine),
        KeyRepository(engine),
        allow_private=settings.webhooks_allow_private,
    )


@click.group()
def webhooks() -> None:
    """Signed webhooks: endpoints per workspace, their deliveries, redelivery.

    \b
    modelport webhooks add --workspace default --url https://hooks.example.com/modelport
    modelport webhooks list
    modelport webhooks deliveries ep_...
    modelport webhooks redeliver msg_...
    modelport webhooks remove ep_...
    """


@webhooks.command("add")
@click.option("--workspace", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace whose jobs are reported.")
@click.option("--url", required=True, help="http(s) URL to POST events to; must resolve to public addresses.")
@click.option("--events", "events", multiple=True, metavar="EVENT[,EVENT...]",
              help=f"Events to send (repeat or comma-separate): {_EVENT_NAMES}. "
              f"Default: {', '.join(e.value for e in DEFAULT_EVENTS)}.")  # fmt: skip
def add_endpoint(workspace: str, url: str, events: tuple[str, ...]) -> None:
    """Add an endpoint; its signing secret (whsec_...) is printed once, as the last line."""
    chosen = [name for value in events for name in value.split(",") if name.strip()] if events else None
    try:
        created = _webhooks().add_to_workspace(workspace, url, chosen)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    endpoint = created.endpoint
    click.echo(
        f"Created webhook endpoint {endpoint.endpoint_id} in workspace {endpoint.workspace!r}: "
        f"{', '.join(event.value for event in endpoint.events)} -> {endpoint.url}"
    )
    click.echo("Its signing secret, for verifying signatures; store it now, it is not shown again:")
    click.echo(created.secret.reveal())


@webhooks.command("list")
@click.option("--workspace", default=None, help="Only this workspace's endpoints.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (secrets are never shown).")
def list_endpoints(workspace: str | None, as_json: bool) -> None:
    """List endpoints: id, workspace, events, URL."""
    endpoints = [e for e in _webhooks().list_endpoints(None) if workspace is None or e.workspace == workspace]
    if as_json:
        click.echo(json.dumps([{**endpoint_object(e), "workspace": e.workspace} for e in endpoints], indent=2))
        return
    if not endpoints:
        click.echo("No webhook endpoints. Add one with: modelport webhooks add --workspace default --url URL")
        return
    click.echo(f"{'ENDPOINT':<35} {'WORKSPACE':<20} {'EVENTS':<48} URL")
    for endpoint in endpoints:
        events = ",".join(event.value for event in endpoint.events)
        click.echo(f"{endpoint.endpoint_id:<35} {endpoint.workspace:<20} {events:<48} {endpoint.url}")


@webhooks.command("remove")
@click.argument("endpoint_id")
def remove_endpoint(endpoint_id: str) -> None:
    """Remove ENDPOINT_ID and its deliveries (pending ones are not sent)."""
    try:
        removed = _webhooks().remove(None, endpoint_id)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Removed webhook endpoint {removed.endpoint_id} ({removed.url}) of workspace {removed.workspace!r}.")


@webhooks.command("deliveries")
@click.argument("endpoint_id", required=False)
@click.option("--workspace", default=None, help="Without ENDPOINT_ID: only this workspace's endpoints.")
@click.option("--limit", default=DEFAULT_DELIVERIES, show_default=True, type=click.IntRange(1, MAX_DELIVERIES),
              help="How many of the latest deliveries, per endpoint.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every attempt.")
def list_deliveries(endpoint_id: str | None, workspace: str | None, limit: int, as_json: bool) -> None:
    """The latest deliveries of ENDPOINT_ID (or of every endpoint), newest first, with their attempts."""
    use_cases = _webhooks()
    try:
        if endpoint_id is not None:
            endpoints = [use_cases.endpoint(None, endpoint_id)]
        else:
            endpoints = [e for e in use_cases.list_endpoints(None) if workspace is None or e.workspace == workspace]
        shown = [(endpoint, use_cases.deliveries(None, endpoint.endpoint_id, limit)) for endpoint in endpoints]
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        document = [
            {
                **endpoint_object(endpoint),
                "workspace": endpoint.workspace,
                "deliveries": [delivery_object(d) for d in found],
            }
            for endpoint, found in shown
        ]
        click.echo(json.dumps(document if endpoint_id is None else document[0], indent=2, ensure_ascii=False))
        return
    if not shown:
        click.echo("No webhook endpoints. Add one with: modelport webhooks add --workspace default --url URL")
    for endpoint, found in shown:
        if endpoint_id is None:
            click.echo(f"{endpoint.endpoint_id} ({endpoint.workspace}) {endpoint.url}")
        if not found:
            click.echo("  No deliveries yet: events are sent when this workspace's jobs change status.")
        for delivery in found:
            click.echo("  " + _summary(delivery))
            for attempt in delivery.attempts:
                click.echo("      " + _attempt_line(attempt))


@webhooks.command("redeliver")
@click.argument("message_id")
def redeliver(message_id: str) -> None:
    """Send MESSAGE_ID again (same webhook-id, a fresh retry window); a worker delivers it."""
    try:
        queued = _webhooks().redeliver(None, message_id)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Queued {queued.message_id} ({queued.event_type.value} of job {queued.job_id}) for delivery again.")


def _summary(delivery: Delivery) -> str:
    state = delivery.status.value
    if delivery.delivered_at_ms is not None and state == "delivered":
        state += f" at {_when(delivery.delivered_at_ms)}"
    elif delivery.next_attempt_at_ms is not None:
        state += f", next attempt at {_when(delivery.next_attempt_at_ms)}"
    return (
        f"{delivery.message_id}  {delivery.event_type.value:<16} job {delivery.job_id}  "
        f"{state}  ({delivery.attempt_count} attempt(s), created {_when(delivery.created_at_ms)})"
    )


def _attempt_line(attempt: Attempt) -> str:
    answer = f"HTTP {attempt.status_code}" if attempt.status_code is not None else "no answer"
    detail = f": {attempt.error}" if attempt.error else ""
    return f"attempt {attempt.number} at {_when(attempt.started_at_ms)}, {attempt.duration_ms} ms, {answer}{detail}"


def _when(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
