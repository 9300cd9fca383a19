"""What every long-running command does first: settings, database, catalog, storage, keys."""

from __future__ import annotations

import click

from modelport.catalog.catalog import CatalogError
from modelport.db.keys_repository import DEFAULT_WORKSPACE, KeyManagementError
from modelport.db.migrations import SchemaError
from modelport.services import Services, open_services
from modelport.settings import Settings, SettingsError
from modelport.storage.config import StorageConfigError
from modelport.usecases.workspaces import Workspaces


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def open_services_or_exit(settings: Settings) -> Services:
    try:
        return open_services(settings)
    except (SchemaError, CatalogError, StorageConfigError) as error:
        raise click.ClickException(str(error)) from None


def provision_keys(services: Services) -> None:
    """MODELPORT_API_KEY is made valid in workspace 'default'; with no key at all, one is created."""
    try:
        created = Workspaces(services.keys).provision(services.settings.api_key)
    except KeyManagementError as error:
        raise click.ClickException(str(error)) from None
    if created is not None:
        click.echo(
            f"No API key existed, so one was created in workspace {DEFAULT_WORKSPACE!r}. It is shown only once:\n"
            f"  {created.plaintext}\n"
            "Use it as 'Authorization: Bearer <key>'; `modelport keys create` makes more.",
            err=True,
        )
