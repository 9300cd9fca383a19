"""The real libraries on an upload folder: PEFT's `PeftModel.from_pretrained` on a tiny base built by
transformers from the base's config (seeded, float32, CPU), and transformers'
`AutoModelForCausalLM.from_pretrained` for full checkpoints, with every exception, Python warning
and transformers/peft log record captured, and what the loaded model holds compared with the file.

Beside each loader runs a small serving reference, to catch an upload that loads in PEFT but that a
serving engine computes differently:
- LoRA: vLLM's reading of an adapter (vllm/lora/peft_helper.py, vllm/lora/utils.py
  `parse_fine_tuned_lora_name`, models.py `from_local_checkpoint`): only r, lora_alpha,
  target_modules, bias, modules_to_save, use_rslora and use_dora are read; scaling is
  lora_alpha / r (or / sqrt(r) with rsLoRA) for every module; keys must end in lora_A.weight,
  lora_B.weight, lora_embedding_A or lora_embedding_B; each pair is merged as W += s * B @ A.
- Full weights: the base's own architecture (its config.json, not the upload's) with the file's
  tensors loaded strictly; the upload's config.json must compute the same logits.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import math
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from peft.tuners.lora import LoraLayer
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel
from transformers.utils import logging as transformers_logging

from tests.support.oracle.judge import LoaderEvidence

# Tokens of the fixed input: low, middle and the last ids, so embedding and lm_head rows matter.
INPUT_IDS = torch.tensor([[3, 17, 101, 511, 640, 1023, 0, 64, 900, 257]])
BASE_SEED = 1234
ADAPTER = "default"

# Loader warnings judged to say nothing about the upload, each with the reason. Anything else the
# loaders say is evidence the gate must answer with a failure or a warning.
INERT_WARNINGS: tuple[tuple[str, str], ...] = (
    (
        r"`is_gradient_checkpointing` is deprecated",
        "transformers deprecation that PEFT's own code triggers on every load, whatever the upload holds",
    ),
    (
        r"`(eva|corda)_config` specified but will be ignored when `init_lora_weights` is not",
        "PEFT says the field is ignored: it only configures an initialisation, which loading overwrites",
    ),
    (
        r"`init_lora_weights` is 'eva' but `eva_config` is not specified",
        "EVA is an initialisation of lora_A from data; loading overwrites it with the file's values",
    ),
    (
        r"Both `max_new_tokens` \(=4\) and `max_length`\(=\d+\) seem to have been set",
        "our own generate() call passes max_new_tokens; the upload's max_length is only overridden by it",
    ),
    (
        r"You have requested `ensure_weight_tying`, but no tied modules were found in the model",
        "the field only acts on tied embeddings, which the base does not have: nothing changes",
    ),
)
_INERT = [re.compile(pattern) for pattern, _ in INERT_WARNINGS]

# vLLM's LoRA-capable module names for Qwen2/Qwen3 (packed qkv_proj and gate_up_proj expanded);
# only Qwen3 has embedding_modules (vLLM PR #29816), Qwen2's was still open (PR #33234).
_VLLM_LINEAR = frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})
_VLLM_EMBEDDING = {"qwen3": frozenset({"embed_tokens", "lm_head"}), "qwen2": frozenset()}


def quiet_libraries() -> None:
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_warning()
    # The models are tiny: a second intra-op thread only adds synchronisation, and on a shared
    # 2-core machine waiting for it dominates (the oracle ran 5x slower under load with 2).
    torch.set_num_threads(1)


@functools.cache
def base_model(config_json: str) -> tuple[PreTrainedModel, torch.Tensor]:
    """The tiny base built from its config (seeded random init, float32, eval) and its logits."""
    config = json.loads(config_json)
    hf_config = AutoConfig.for_model(config["model_type"], **{k: v for k, v in config.items() if k != "model_type"})
    torch.manual_seed(BASE_SEED)
    with _references():
        model = AutoModelForCausalLM.from_config(hf_config, dtype=torch.float32).eval()
        with torch.no_grad():
            logits = model(INPUT_IDS).logits
    return model, logits


@contextmanager
def _references() -> Iterator[None]:
    """Our own model code (the base, the serving references) is not evidence about an upload: what
    it might warn about must neither count nor trip the suite's warnings-are-errors filter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextmanager
def captured() -> Iterator[list[str]]:
    """Every Python warning and every transformers/peft log record at WARNING or above, as text."""
    heard: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(f"{record.name}: {record.getMessage()}")

    handler = Collect(level=logging.WARNING)
    loggers = [logging.getLogger("transformers"), logging.getLogger("peft")]
    # transformers deduplicates some warnings process-wide; each upload must be heard afresh.
    transformers_logging.warning_once.cache_clear()
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield heard
        heard[:0] = [f"{w.category.__name__}: {w.message}" for w in caught]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _relevant(heard: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_shorten(h) for h in heard if not any(p.search(h) for p in _INERT)))


def _shorten(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: BaseException) -> str:
    return _shorten(f"{type(error).__name__}: {error}")


def _digests(folder: Path, names: list[str]) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names if (folder / name).is_file()
    }


def _same(loaded: torch.Tensor, stored: torch.Tensor) -> bool:
    """The loaded parameter holds exactly the file's values (NaN where the file has NaN)."""
    if loaded.shape != stored.shape:
        return False
    cast = stored.to(loaded.dtype)
    lossless = bool(((cast.to(stored.dtype) == stored) | torch.isnan(stored)).all())
    both_nan = torch.isnan(loaded) & torch.isnan(cast)
    return lossless and bool(((loaded == cast) | both_nan).all())


def _close(a: torch.Tensor, b: torch.Tensor) -> tuple[bool, float]:
    difference = (a - b).abs().nan_to_num(nan=math.inf).max().item()
    scale = 1.0 + b.abs().nan_to_num(nan=0.0, posinf=0.0, neginf=0.0).max().item()
    return (torch.allclose(a, b, rtol=1e-4, atol=1e-4 * scale, equal_nan=True), difference)


def _checkpoint_key(model_key: str) -> str:
    """PEFT's saved name for a model key: the adapter name removed (peft tuners_utils
    `_remove_adapter_name_from_state_dict_key`)."""
    if model_key.endswith(f".{ADAPTER}"):
        return model_key.removesuffix(f".{ADAPTER}")
    head, _, suffix = model_key.rpartition(".")
    return f"{head.removesuffix(f'.{ADAPTER}')}.{suffix}" if head.endswith(f".{ADAPTER}") else model_key


def _modules_to_save_key(name: str, state: dict[str, torch.Tensor]) -> str | None:
    """Where PEFT's ModulesToSaveWrapper loads a full module copy (`lm_head.weight` ->
    `lm_head.modules_to_save.default.weight`), if the model has that wrapper."""
    head, _, parameter = name.rpartition(".")
    key = f"{head}.modules_to_save.{ADAPTER}.{parameter}"
    return key if key in state else None


def _base_key(model_key: str) -> str:
    name = model_key.removeprefix("base_model.model.")
    return name.replace(".base_layer", "").replace(".original_module", "")


def lora_evidence(base_config: dict[str, Any], folder: Path) -> LoaderEvidence:
    """PeftModel.from_pretrained(base, folder) and what the loaded model holds."""
    base, base_logits = base_model(json.dumps(base_config, sort_keys=True))
    read = _digests(folder, ["adapter_config.json", "adapter_model.safetensors"])
    with captured() as heard:
        try:
            model = PeftModel.from_pretrained(copy.deepcopy(base), str(folder)).eval()
            with torch.no_grad():
                logits = model(INPUT_IDS).logits
            error = None
        except Exception as raised:
            error = _describe(raised)
    if error is not None:
        return LoaderEvidence(kind="lora", error=error, warnings=_relevant(heard), read_files=read)

    stored = load_file(folder / "adapter_model.safetensors")
    state = model.state_dict()
    # A file key binds as PEFT binds it: through the adapter-name mapping, or verbatim when it
    # already is a model key (set_peft_model_state_dict passes unmapped keys through).
    to_model = {_checkpoint_key(key): key for key in state}
    adapter_keys = {key for key in state if _checkpoint_key(key) != key}
    skipped, altered, into_base, bound = [], [], [], set()
    for name, tensor in stored.items():
        key = to_model.get(name) or (name if name in state else None) or _modules_to_save_key(name, state)
        if key is None:
            skipped.append(name)
            continue
        bound.add(key)
        if key not in adapter_keys or ".modules_to_save." in key:
            into_base.append(f"{name} (into {key})")
        if not _same(state[key], tensor):
            altered.append(name)
    missing = sorted(_checkpoint_key(key) for key in adapter_keys - bound)
    pristine = base.state_dict()
    base_changed = []
    for key, value in state.items():
        original = pristine.get(_base_key(key))
        if key not in adapter_keys and original is not None and not torch.equal(original, value):
            base_changed.append(_base_key(key))
    variants = sorted(
        f"{name} ({type(module.lora_variant[ADAPTER]).__name__})"
        for name, module in model.named_modules()
        if isinstance(module, LoraLayer) and module.lora_variant.get(ADAPTER) is not None
    )
    with _references():
        served = vllm_logits(base, base_config["model_type"], folder)
    if isinstance(served, str):
        serving: str | None = served
    else:
        close, difference = _close(logits, served)
        serving = (
            None
            if close
            else f"vLLM's reading of the adapter gives other logits than PEFT's (max |diff| {difference:.3g})"
        )
    return LoaderEvidence(
        kind="lora",
        warnings=_relevant(heard),
        skipped=tuple(sorted(skipped)),
        altered=tuple(sorted(altered)),
        into_base=tuple(sorted(into_base)),
        missing=tuple(missing),
        base_changed=tuple(sorted(base_changed)),
        variants=tuple(variants),
        logits_finite=bool(torch.isfinite(logits).all()),
        logits_changed=not torch.equal(logits, base_logits),
        serving=serving,
        read_files=read,
    )


def vllm_logits(base: PreTrainedModel, model_type: str, folder: Path) -> torch.Tensor | str:
    """The logits vLLM's reading of the adapter gives, or why vLLM would refuse to load it."""
    try:
        config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
        tensors = load_file(folder / "adapter_model.safetensors")
    except Exception as raised:
        return f"vLLM cannot read the adapter: {_describe(raised)}"
    if not isinstance(config, dict):
        return "vLLM: adapter_config.json is not an object"
    absent = {"r", "lora_alpha", "target_modules"} - set(config)
    if absent:
        return f"vLLM: Missing required configuration fields: {sorted(absent)}"
    if config.get("modules_to_save"):
        return "vLLM: vLLM only supports modules_to_save being None."
    if config.get("use_dora"):
        return "vLLM: vLLM does not yet support DoRA."
    if config.get("bias", "none") != "none":
        return "vLLM: Adapter bias cannot be used without bias_enabled."
    try:
        rank, alpha = config["r"], config["lora_alpha"]
        scaling = float(alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank)
    except Exception as raised:
        return f"vLLM cannot compute the scaling: {_describe(raised)}"
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    allowed = _VLLM_LINEAR | _VLLM_EMBEDDING[model_type]
    for name, tensor in tensors.items():
        if name.endswith((".embed_tokens.base_layer.weight", ".lm_head.base_layer.weight")):
            continue
        parsed = _vllm_module(name)
        if parsed is None:
            return f"vLLM: {name} is unsupported LoRA weight"
        module, half = parsed
        if module.rsplit(".", 1)[-1] not in allowed:
            return f"vLLM: expected target modules in {sorted(allowed)} but received {module}"
        pairs.setdefault(module, {})[half] = tensor
    served = copy.deepcopy(base)
    modules = dict(served.named_modules())
    with torch.no_grad():
        for module, pair in sorted(pairs.items()):
            if set(pair) != {"A", "B"}:
                return f"vLLM: {module} has lora_{''.join(pair)} without its other half"
            target = modules.get(module)
            if target is None:  # vLLM only builds LoRA layers for modules the model has
                continue
            a, b = pair["A"].to(torch.float32), pair["B"].to(torch.float32)
            weight = target.weight
            try:
                delta = scaling * (b @ a)
                delta = delta.T if isinstance(target, torch.nn.Embedding) else delta
                if delta.shape != weight.shape:
                    raise ValueError(f"B @ A is {list(delta.shape)}, the weight {list(weight.shape)}")
            except Exception as raised:
                return f"vLLM cannot apply {module}: {_describe(raised)}"
            weight += delta
        return served(INPUT_IDS).logits


def _vllm_module(name: str) -> tuple[str, str] | None:
    """vLLM's parse_fine_tuned_lora_name: (module path, "A" or "B"), or None for an unsupported name."""
    start = 2 if name.startswith("base_model.model.") else 0
    parts = name.split(".")
    if len(parts) >= 2 and parts[-1] == "weight" and parts[-2] in ("lora_A", "lora_B"):
        return ".".join(parts[start:-2]), parts[-2][-1]
    if parts[-1] in ("lora_embedding_A", "lora_embedding_B"):
        return ".".join(parts[start:-1]), parts[-1][-1]
    return None


def _checkpoint_files(folder: Path) -> list[str]:
    """The weights files transformers reads: the shards the index names, or model.safetensors."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            return sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except Exception:
            return []
    return ["model.safetensors"]


def full_evidence(base_config: dict[str, Any], folder: Path) -> LoaderEvidence:
    """AutoModelForCausalLM.from_pretrained(folder), what the loaded model holds, and a short
    generate() with the upload's generation_config.json when it ships one (serving reads it for
    its stop tokens and sampling defaults)."""
    weights = _checkpoint_files(folder)
    read = _digests(folder, ["config.json", "generation_config.json", "model.safetensors.index.json", *weights])
    with captured() as heard:
        try:
            model, info = AutoModelForCausalLM.from_pretrained(
                str(folder), dtype=torch.float32, output_loading_info=True
            )
            model.eval()
            with torch.no_grad():
                logits = model(INPUT_IDS).logits
            error = "; ".join(info.get("error_msgs") or []) or None
        except Exception as raised:
            error = _describe(raised)
        if error is None and (folder / "generation_config.json").is_file():
            torch.manual_seed(BASE_SEED)
            try:
                model.generate(INPUT_IDS, attention_mask=torch.ones_like(INPUT_IDS), max_new_tokens=4)
            except Exception as raised:
                error = f"generate() with the upload's generation_config.json: {_describe(raised)}"
    if error is not None:
        return LoaderEvidence(kind="full", error=error, warnings=_relevant(heard), read_files=read)
    stored: dict[str, torch.Tensor] = {}
    for name in weights:
        stored |= load_file(folder / name)
    state = model.state_dict()
    skipped = set(info.get("unexpected_keys") or ()) | {name for name in stored if name not in state}
    altered = {name for name, tensor in stored.items() if name in state and not _same(state[name], tensor)}
    altered |= {str(entry[0]) for entry in info.get("mismatched_keys") or ()}
    with _references():
        served = _base_architecture_logits(base_config, stored)
    if isinstance(served, str):
        serving: str | None = served
    else:
        close, difference = _close(logits, served)
        serving = (
            None
            if close
            else f"the upload's config.json computes other logits than the base architecture with the same "
            f"weights (max |diff| {difference:.3g})"
        )
    return LoaderEvidence(
        kind="full",
        warnings=_relevant(heard),
        skipped=tuple(sorted(skipped)),
        altered=tuple(sorted(altered)),
        missing=tuple(sorted(info.get("missing_keys") or ())),
        logits_finite=bool(torch.isfinite(logits).all()),
        serving=serving,
        read_files=read,
    )


def _base_architecture_logits(base_config: dict[str, Any], stored: dict[str, torch.Tensor]) -> torch.Tensor | str:
    base, _ = base_model(json.dumps(base_config, sort_keys=True))
    model = copy.deepcopy(base)
    tied = {name for name, _ in model.named_parameters(remove_duplicate=False)} - {
        name for name, _ in model.named_parameters()
    }
    try:
        result = model.load_state_dict({k: v.to(torch.float32) for k, v in stored.items()}, strict=False)
    except Exception as raised:
        return f"the weights do not fit the base architecture: {_describe(raised)}"
    missing = sorted(set(result.missing_keys) - tied)
    if result.unexpected_keys or missing:
        unexpected = result.unexpected_keys[:3]
        return f"the weights do not fit the base architecture (unexpected {unexpected}, missing {missing[:3]})"
    with torch.no_grad():
        logits: torch.Tensor = model(INPUT_IDS).logits
    return logits
