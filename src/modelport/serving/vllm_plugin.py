"""The vLLM plugin: registers modelport's LoRA resolver, so a vLLM OpenAI server serves any adapter
modelport imported, by its `model_name`, and nothing modelport did not vouch for.

vLLM runs `register` (the `vllm.general_plugins` entry point `modelport`) in each of its processes,
while it parses its arguments. It reads the configuration (`serving.config`) and stops vLLM with
a sentence naming the variable when a setting is wrong; it does nothing where the plugin is not
wanted (no runtime LoRA updating and no MODELPORT_VLLM_* variable). vLLM asks resolvers only for a
name that is neither the base nor an adapter it already holds; a refusal returns None, which vLLM
answers with its own 404, and an adapter that modelport verified but vLLM cannot load (e.g. a rank
above --max-lora-rank) gets vLLM's own 400.

vLLM is imported inside functions only: this module must load (and type-check) without it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from modelport.serving.config import ServingConfig, ServingConfigError, load_serving_config, plugin_enabled
from modelport.serving.job_lookup import JobLookup
from modelport.serving.resolver import AdapterResolver, Refusal
from modelport.storage.config import StorageConfigError, build_storage

RESOLVER_NAME = "modelport"
# Under vLLM's own logger, so refusals appear in the vLLM log with its format and level.
logger = logging.getLogger("vllm.modelport")


def register() -> None:
    """The `vllm.general_plugins` entry point."""
    if not plugin_enabled(os.environ):
        return
    resolver = open_resolver()
    from vllm.lora.resolver import LoRAResolverRegistry

    LoRAResolverRegistry.register_resolver(RESOLVER_NAME, _vllm_resolver(resolver))


def open_resolver() -> AdapterResolver:
    """The resolver for this process's environment; a wrong setting exits with the sentence."""
    try:
        config = load_serving_config(os.environ)
        store = build_storage(config.settings).model_store
        jobs = JobLookup.open(config.settings.database_url) if config.workspaces is not None else None
    except (ServingConfigError, StorageConfigError) as error:
        raise SystemExit(f"modelport vLLM plugin: {error}") from None
    return AdapterResolver(config, store, jobs, logger)


def describe(config: ServingConfig) -> str:
    allowed = ", ".join(sorted(config.workspaces)) if config.workspaces is not None else "every workspace"
    return f"serving LoRA imports of base {config.base_model!r} from {allowed}; verified copies in {config.cache_dir}"


def _vllm_resolver(resolver: AdapterResolver) -> Any:
    from vllm.lora.request import LoRARequest
    from vllm.lora.resolver import LoRAResolver

    class ModelportResolver(LoRAResolver):  # type: ignore[misc]  # vLLM is untyped here
        described = False

        async def resolve_lora(self, base_model_name: str, lora_name: str) -> Any:
            if not self.described:
                # Said on first use, not at registration: vLLM sets up its log handler only after
                # parsing its arguments, and only the API process, which resolves, gets here.
                logger.info("modelport resolver: %s", describe(resolver.config))
                self.described = True
            # Store reads and hashing block: keep them off vLLM's event loop.
            outcome = await asyncio.to_thread(resolver.resolve, lora_name)
            if isinstance(outcome, Refusal):
                return None
            # vLLM replaces the id with its own counter; it only has to be positive here.
            return LoRARequest(lora_name=lora_name, lora_int_id=1, lora_path=str(outcome.path))

    return ModelportResolver()
