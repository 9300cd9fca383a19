"""The serving-side configuration: what the vLLM resolver plugin reads from the vLLM process's
environment, checked whole at start so that a wrong setting stops vLLM with a sentence naming the
variable instead of surfacing as a 404 later.

Besides the settings it shares with the workers (`MODELPORT_DATA_DIR`, `MODELPORT_CONFIG`,
`MODELPORT_DATABASE_URL`), it owns `MODELPORT_VLLM_BASE`, `MODELPORT_VLLM_WORKSPACES` and
`MODELPORT_VLLM_CACHE_DIR`. It reads nothing from the model store or the database: that is the
resolver's job.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelport.catalog.catalog import Catalog, CatalogError, load_catalog
from modelport.settings import Settings, SettingsError

BASE_VARIABLE = "MODELPORT_VLLM_BASE"
WORKSPACES_VARIABLE = "MODELPORT_VLLM_WORKSPACES"
CACHE_VARIABLE = "MODELPORT_VLLM_CACHE_DIR"
RUNTIME_LORA_VARIABLE = "VLLM_ALLOW_RUNTIME_LORA_UPDATING"
_OWN_PREFIX = "MODELPORT_VLLM_"
# The rule `modelport keys create --workspace` enforces.
_WORKSPACE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ServingConfigError(ValueError):
    """A setting the plugin cannot run with; the message names the variable and the fix."""


@dataclass(frozen=True)
class ServingConfig:
    settings: Settings
    catalog: Catalog
    base_model: str
    workspaces: frozenset[str] | None
    cache_dir: Path


def plugin_enabled(env: Mapping[str, str]) -> bool:
    """The plugin acts in a vLLM that can ask resolvers (runtime LoRA updating on), or where any of
    its own variables is set; anywhere else (`vllm serve DIR` of a pulled model, an offline `LLM`)
    it stays out of the way."""
    return runtime_lora_enabled(env) or any(name.startswith(_OWN_PREFIX) for name in env)


def runtime_lora_enabled(env: Mapping[str, str]) -> bool:
    # vLLM's own parsing of the variable (vllm/envs.py).
    return env.get(RUNTIME_LORA_VARIABLE, "0").strip().lower() in ("1", "true")


def load_serving_config(env: Mapping[str, str] | None = None) -> ServingConfig:
    env = os.environ if env is None else env
    if not runtime_lora_enabled(env):
        raise ServingConfigError(
            f"{RUNTIME_LORA_VARIABLE} is not 1, so vLLM never asks the modelport resolver for an adapter; set "
            f"{RUNTIME_LORA_VARIABLE}=1 (and start vLLM with --enable-lora), or unset the MODELPORT_VLLM_* variables."
        )
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        raise ServingConfigError(str(error)) from None
    try:
        catalog = load_catalog(settings.data_dir)
    except CatalogError as error:
        raise ServingConfigError(f"The base-model catalog cannot be loaded: {error}") from None
    return ServingConfig(
        settings=settings,
        catalog=catalog,
        base_model=_base_model(env, catalog),
        workspaces=_workspaces(env),
        cache_dir=_cache_dir(env, settings),
    )


def _base_model(env: Mapping[str, str], catalog: Catalog) -> str:
    value = env.get(BASE_VARIABLE, "").strip()
    if not value:
        raise ServingConfigError(
            f"{BASE_VARIABLE} is not set: set it to the modelport base id this vLLM's --model is (e.g. qwen3-8b; "
            "`modelport base-models` lists them), or keep the modelport plugin out with VLLM_PLUGINS."
        )
    base = catalog.get(value)
    if base is None:
        known = ", ".join(b.id for b in catalog.all())
        raise ServingConfigError(
            f"{BASE_VARIABLE} is {value!r}, which is not a base model of this modelport's catalog (known: {known}; "
            "an operator base must be in $MODELPORT_DATA_DIR/base_models/ on this host too)."
        )
    if "lora" not in base.weight_types:
        raise ServingConfigError(f"{BASE_VARIABLE} is {value!r}, a base that accepts no LoRA imports.")
    return value


def _workspaces(env: Mapping[str, str]) -> frozenset[str] | None:
    raw = env.get(WORKSPACES_VARIABLE)
    if raw is None or not raw.strip():
        return None
    names = [name.strip() for name in raw.split(",")]
    bad = [name for name in names if not _WORKSPACE.match(name)]
    if bad:
        raise ServingConfigError(
            f"{WORKSPACES_VARIABLE} must be a comma-separated list of workspace names ([A-Za-z0-9_-]); "
            f"{bad[0]!r} is not one."
        )
    return frozenset(names)


def _cache_dir(env: Mapping[str, str], settings: Settings) -> Path:
    raw = env.get(CACHE_VARIABLE, "").strip()
    if raw:
        folder = Path(raw).expanduser().absolute()
    else:
        home = Path(env["HOME"]) if env.get("HOME") else Path.home()
        folder = Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "modelport" / "vllm-adapters"
    if folder.is_relative_to(settings.models_dir):
        # A cache inside the local model store would look like models to it, and be swept as orphans.
        raise ServingConfigError(f"{CACHE_VARIABLE} ({folder}) must not be inside the model store.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ServingConfigError(f"{CACHE_VARIABLE} ({folder}) cannot be written: {error.strerror}.") from None
    return folder
