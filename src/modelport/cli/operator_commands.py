"""Operator commands: API keys and database migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from modelport.cli.startup import load_settings
from modelport.db.engine import make_engine
from modelport.db.keys_repository import DEFAULT_WORKSPACE, KeyManagementError, KeyRepository
from modelport.db.migrations import SchemaError, ensure_schema, upgrade
from modelport.usecases.workspaces import Workspaces


def _workspaces() -> Workspaces:
    """The workspace use cases over the database alone (no catalog or storage needed)."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
    except SchemaError as error:
        raise click.ClickException(str(error)) from None
    return Workspaces(KeyRepository(engine))


@click.group()
def keys() -> None:
    """Create, list and revoke API keys (stored only as hashes)."""


@keys.command("create")
@click.option("--workspace", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace the key belongs to.")
def create_key(workspace: str) -> None:
    """Create a key; it is printed once, as the last line."""
    try:
        created = _workspaces().create_key(workspace)
    except KeyManagementError as error:
        raise click.ClickException(str(error)) from None
    record = created.record
    click.echo(f"Created key {record.id} in workspace {record.workspace!r}. Store it now; it is not shown again:")
    click.echo(created.plaintext)


@keys.command("list")
def list_keys() -> None:
    """List keys: id, workspace, prefix, creation time, state."""
    records = _workspaces().list_keys()
    if not records:
        click.echo("No API keys. Create one with: modelport keys create --workspace default")
        return
    click.echo(f"{'ID':>4}  {'WORKSPACE':<20} {'PREFIX':<14} {'CREATED (UTC)':<20} STATE")
    for record in records:
        created = datetime.fromtimestamp(record.created_at_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        state = "active" if record.active else "revoked"
        click.echo(f"{record.id:>4}  {record.workspace:<20} {record.key_prefix + '...':<14} {created:<20} {state}")


@keys.command("revoke")
@click.argument("key")
def revoke_key(key: str) -> None:
    """Revoke KEY, given as its id, its prefix as `keys list` shows it, or the key itself."""
    try:
        record = _workspaces().revoke_key(key)
    except KeyManagementError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Revoked key {record.id} ({record.key_prefix}...) of workspace {record.workspace!r}.")


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the schema to this version's head (run once before starting new processes)."""
    settings = load_settings()
    before, after = upgrade(make_engine(settings.database_url))
    if before == after:
        click.echo(f"The database schema is already at revision {after}.")
    else:
        click.echo(f"Upgraded the database schema from {before or 'empty'} to {after}.")
