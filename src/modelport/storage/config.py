"""Storage configuration: the embedded default, or the buckets and model store a TOML file names."""

from __future__ import annotations

from modelport.settings import Settings
from modelport.storage.local_models import LocalModelStore
from modelport.storage.registry import StorageRegistry


class StorageConfigError(ValueError):
    """The config file is unusable; the message names the file, the key and the problem."""


def build_storage(settings: Settings) -> StorageRegistry:
    if settings.config_path is not None:
        raise StorageConfigError("MODELPORT_CONFIG is not supported yet.")
    return StorageRegistry(
        model_store=LocalModelStore(settings.models_dir),
        local_buckets_root=settings.buckets_dir,
    )
