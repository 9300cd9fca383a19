"""Operator commands: API keys, database migrations and per-workspace quotas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

import click

from modelport.cli.startup import load_settings
from modelport.db.engine import make_engine
from modelport.db.keys_repository import DEFAULT_WORKSPACE, KeyManagementError, KeyRepository
from modelport.db.migrations import SchemaError, ensure_schema, upgrade
from modelport.db.quotas import QuotaRepository
from modelport.usecases.quotas import Quotas, WorkspaceQuota
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


# -- quotas ---------------------------------------------------------------------------------------

_UNLIMITED = ("unlimited", "none")
_BYTE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def _limit(sizes: bool = False) -> Callable[[click.Context, click.Parameter, str | None], int | None]:
    """A callback parsing a count, a byte size (500GiB, 2TB, plain bytes) or "unlimited" (None)."""

    def parse(_ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
        if value is None:
            return None
        text = value.strip().lower().replace(" ", "")
        if text in _UNLIMITED:
            return None
        number = text.rstrip("kmgtib")
        unit = text[len(number) :]
        if number.isdigit() and (unit in _BYTE_UNITS if sizes else unit == ""):
            return int(number) * _BYTE_UNITS[unit]
        example = "500GiB, 2TB or 1073741824" if sizes else "a whole number such as 10"
        raise click.BadParameter(f"{value!r} is not a limit: give {example}, or 'unlimited'.", param=param)

    return parse


@contextmanager
def _quotas() -> Iterator[tuple[Quotas, KeyRepository]]:
    """The quota use case over the database alone, closed after the command."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        try:
            ensure_schema(engine)
        except SchemaError as error:
            raise click.ClickException(str(error)) from None
        yield Quotas(QuotaRepository(engine), settings.default_max_pending), KeyRepository(engine)
    finally:
        engine.dispose()


@click.group()
def quotas() -> None:
    """Per-workspace limits: RUNNING jobs, PENDING jobs and stored bytes.

    A create beyond a limit is answered Throttling (HTTP 429) with a sentence naming it; a workspace
    at max_running keeps its jobs PENDING until one of its running jobs ends.
    """


@quotas.command("set")
@click.option("--workspace", required=True, help="The workspace (created if it does not exist yet).")
@click.option(
    "--max-running",
    callback=_limit(),
    metavar="N",
    help="Jobs of the workspace RUNNING at once ('unlimited' clears it).",
)
@click.option(
    "--max-pending", callback=_limit(), metavar="N", help="Jobs waiting to start; 'unlimited' goes back to the default."
)
@click.option(
    "--max-stored-bytes",
    callback=_limit(sizes=True),
    metavar="B",
    help="Bytes its imported models may take: 500GiB, 2TB...",
)
def set_quota(workspace: str, max_running: int | None, max_pending: int | None, max_stored_bytes: int | None) -> None:
    """Set limits of WORKSPACE; the limits not given keep their value."""
    context = click.get_current_context()
    given = {"max_running": max_running, "max_pending": max_pending, "max_stored_bytes": max_stored_bytes}
    changed = {
        name: value
        for name, value in given.items()
        if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }
    if not changed:
        raise click.UsageError("Give at least one of --max-running, --max-pending, --max-stored-bytes.")
    with _quotas() as (use, keys_repository):
        try:
            workspace_id = keys_repository.ensure_workspace(workspace)
        except KeyManagementError as error:
            raise click.ClickException(str(error)) from None
        use.set(workspace_id, replace(use.own(workspace_id), **changed))
        shown = use.show(workspace)
    _print_quotas(shown)


@quotas.command("show")
@click.option("--workspace", help="Only this workspace.")
def show_quotas(workspace: str | None) -> None:
    """The limits in force and current use of every workspace (or one)."""
    with _quotas() as (use, _keys):
        shown = use.show(workspace)
    if not shown:
        raise click.ClickException(f"There is no workspace {workspace!r}." if workspace else "There are no workspaces.")
    _print_quotas(shown)


def _print_quotas(shown: list[WorkspaceQuota]) -> None:
    def limit(used: int, value: int | None) -> str:
        return f"{used} of {'unlimited' if value is None else value}"

    click.echo(f"{'WORKSPACE':<20} {'RUNNING':<18} {'PENDING':<18} STORED BYTES")
    for quota in shown:
        limits, usage = quota.limits, quota.usage
        click.echo(
            f"{quota.workspace:<20} {limit(usage.running, limits.max_running):<18} "
            f"{limit(usage.pending, limits.max_pending):<18} {limit(usage.stored_bytes, limits.max_stored_bytes)}"
        )
