"""Settings, built once at the edge (CLI or test) and passed down; nothing else reads the environment.

Every knob has an environment variable so that the same binary runs a laptop default and a
multi-host deployment; `Settings.from_env()` is the only place that reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATA_DIR = "./modelport-data"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    api_key: str | None = None
    config_path: Path | None = None
    lease_seconds: float = 30.0
    max_attempts: int = 3
    poll_seconds: float = 1.0
    chunk_bytes: int = 8 * 1024 * 1024
    read_concurrency: int = 4
    file_concurrency: int = 2
    max_bytes_per_second: int | None = None
    log_format: str = "text"
    # The validation sandbox (pipeline/sandbox.py): limits per inspection, and its process count.
    validation_cpu_seconds: int = 60
    validation_memory_mib: int = 2048
    validation_wall_seconds: float = 300.0
    validation_processes: int = 2
    # The PENDING jobs a workspace may hold unless the operator sets its own limit (`quotas set`):
    # a runaway client cannot grow the queue, and everybody's claims, without bound.
    default_max_pending: int = 10_000
    # Webhooks (webhooks/, worker/webhook_sender.py): which addresses may receive them, and how
    # deliveries are timed and retried.
    webhooks_allow_private: bool = False
    webhooks_timeout_seconds: float = 10.0
    webhooks_backoff_seconds: float = 5.0
    webhooks_max_backoff_seconds: float = 3600.0
    webhooks_max_age_seconds: float = 86400.0
    webhooks_concurrency: int = 8

    @property
    def heartbeat_seconds(self) -> float:
        return max(self.lease_seconds / 3, 0.05)

    @property
    def buckets_dir(self) -> Path:
        return self.data_dir / "buckets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def base_models_dir(self) -> Path:
        return self.data_dir / "base_models"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("MODELPORT_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().absolute()
        database_url = env.get("MODELPORT_DATABASE_URL") or f"sqlite:///{data_dir / 'modelport.db'}"
        config = env.get("MODELPORT_CONFIG")
        return cls(
            data_dir=data_dir,
            database_url=normalize_database_url(database_url),
            api_key=env.get("MODELPORT_API_KEY") or None,
            config_path=Path(config).expanduser().absolute() if config else None,
            lease_seconds=_float(env, "MODELPORT_LEASE_SECONDS", 30.0),
            max_attempts=_int(env, "MODELPORT_MAX_ATTEMPTS", 3),
            poll_seconds=_float(env, "MODELPORT_POLL_SECONDS", 1.0),
            chunk_bytes=_int(env, "MODELPORT_CHUNK_BYTES", 8 * 1024 * 1024),
            read_concurrency=_int(env, "MODELPORT_READ_CONCURRENCY", 4),
            file_concurrency=_int(env, "MODELPORT_FILE_CONCURRENCY", 2),
            max_bytes_per_second=_int(env, "MODELPORT_MAX_BYTES_PER_SECOND", 0) or None,
            log_format=env.get("MODELPORT_LOG_FORMAT", "text"),
            validation_cpu_seconds=_int(env, "MODELPORT_VALIDATION_CPU_SECONDS", 60),
            validation_memory_mib=_int(env, "MODELPORT_VALIDATION_MEMORY_MIB", 2048),
            validation_wall_seconds=_float(env, "MODELPORT_VALIDATION_WALL_SECONDS", 300.0),
            validation_processes=_int(env, "MODELPORT_VALIDATION_PROCESSES", 2),
            default_max_pending=_int(env, "MODELPORT_DEFAULT_MAX_PENDING", 10_000),
            webhooks_allow_private=_flag(env, "MODELPORT_WEBHOOKS_ALLOW_PRIVATE"),
            webhooks_timeout_seconds=_float(env, "MODELPORT_WEBHOOKS_TIMEOUT_SECONDS", 10.0),
            webhooks_backoff_seconds=_float(env, "MODELPORT_WEBHOOKS_BACKOFF_SECONDS", 5.0),
            webhooks_max_backoff_seconds=_float(env, "MODELPORT_WEBHOOKS_MAX_BACKOFF_SECONDS", 3600.0),
            webhooks_max_age_seconds=_float(env, "MODELPORT_WEBHOOKS_MAX_AGE_SECONDS", 86400.0),
            webhooks_concurrency=_int(env, "MODELPORT_WEBHOOKS_CONCURRENCY", 8),
        )


def normalize_database_url(url: str) -> str:
    """Accept the URLs people type (`postgresql://`, `postgres://`) and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}.")
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be 1 or 0 (or true/false), got {env.get(name)!r}.")


class SettingsError(ValueError):
    pass
