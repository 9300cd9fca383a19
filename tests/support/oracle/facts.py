"""Platform rules an upload breaks, measured from the folder itself (never from the gate's code).

These are the rules the loaders cannot show, because they load such uploads happily: the ranks and
dtypes DashScope imports accept, finite values, positive alpha, one dtype per checkpoint, a shard
index that matches the shards, the base's architecture name and compute dtype, no config key the
config class does not declare, no quantisation, no auto_map, no generate() option vLLM does not
read, and no PEFT variant field vLLM does not read. Each comes from the README's "What the gate
checks" or from what vLLM reads; the oracle counts a gate that accepts one as wrong, and a gate
that refuses an otherwise clean upload for one as right.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from tests.support.oracle.judge import Fact

ALLOWED_RANKS = (8, 16, 32, 64)
ALLOWED_DTYPES = frozenset({"BF16", "F16", "F32"})
# LoRA variants PEFT enables with these fields (a truthy value, or `is not None` for the *_config
# objects, as peft/tuners/lora/layer.py `lora_variants` and config.py test them); vLLM's PEFTHelper
# reads none of them, so it would serve such an adapter as plain LoRA.
_VARIANT_FLAGS = ("layer_replication", "use_qalora", "trainable_token_indices", "target_parameters",
                  "megatron_config", "alora_invocation_tokens", "loftq_config")  # fmt: skip
_VARIANT_OBJECTS = ("use_bdlora", "arrow_config", "kasa_config", "velora_config", "monteclora_config")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except Exception:
        return None


def _header(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
        size = struct.unpack("<Q", data[:8])[0]
        header: dict[str, Any] = json.loads(data[8 : 8 + size])
        return {k: v for k, v in header.items() if k != "__metadata__"}
    except Exception:
        return {}


def _tensor_facts(files: list[Path]) -> list[Fact]:
    facts: list[Fact] = []
    dtypes: dict[str, str] = {}
    for path in files:
        dtypes |= {name: entry.get("dtype") for name, entry in _header(path).items() if isinstance(entry, dict)}
    odd = sorted(name for name, dtype in dtypes.items() if dtype not in ALLOWED_DTYPES)
    if odd:
        facts.append(Fact("dtype.not_allowed", f"{odd[0]} is {dtypes[odd[0]]}; imports take BF16, F16 or F32"))
    for path in files:
        try:
            tensors = load_file(path)
        except Exception:
            continue
        broken = sorted(n for n, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all()))
        if broken:
            facts.append(Fact("values.non_finite", f"{broken[0]} holds NaN or Inf"))
    return facts


def _config_type_facts(config: dict[str, Any]) -> list[Fact]:
    """Strict types and known keys, from PEFT's own LoraConfig (not from the gate): a key PEFT does
    not declare is dropped by both loaders (docs/config-keys.md §1 refuses it), and a value whose JSON
    type is not the field's (a string for a bool: "false" is truthy in PEFT and vLLM alike) is one
    the gate must not read differently from the loaders."""
    import dataclasses
    import typing

    import peft

    fields = {field.name for field in dataclasses.fields(peft.LoraConfig)}
    hints = typing.get_type_hints(peft.LoraConfig)
    facts = [
        Fact("config.unknown_key", f"{key} is not a field of PEFT's LoraConfig") for key in config if key not in fields
    ]
    for key, value in config.items():
        hint = hints.get(key)
        if hint is bool and type(value) is not bool:
            facts.append(Fact("config.type", f"{key} is {value!r}; PEFT declares a bool"))
        elif hint is int and key != "lora_alpha" and type(value) is not int:
            facts.append(Fact("config.type", f"{key} is {value!r}; PEFT declares an int"))
        elif hint is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            facts.append(Fact("config.type", f"{key} is {value!r}; PEFT declares a float"))
    if config.get("task_type") not in (None, "CAUSAL_LM"):
        facts.append(
            Fact("config.task_type", f"task_type is {config.get('task_type')!r}; chat serving takes CAUSAL_LM")
        )
    return facts


def lora_facts(folder: Path) -> tuple[Fact, ...]:
    config = _json(folder / "adapter_config.json")
    weights = folder / "adapter_model.safetensors"
    facts = _tensor_facts([weights] if weights.is_file() else [])
    if not isinstance(config, dict):
        return tuple(facts)
    facts += _config_type_facts(config)
    if config.get("peft_type") != "LORA":
        facts.append(Fact("peft_type", f"peft_type is {config.get('peft_type')!r}; only LORA adapters import"))
    rank = config.get("r")
    if type(rank) is int and rank not in ALLOWED_RANKS:
        facts.append(Fact("rank.not_allowed", f"r is {rank}; imports take ranks {ALLOWED_RANKS}"))
    ranks = set()
    for name, entry in _header(weights).items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if isinstance(shape, list) and len(shape) == 2:
            if name.endswith(("lora_A.weight", "lora_embedding_A")):
                ranks.add(shape[0])
            elif name.endswith(("lora_B.weight", "lora_embedding_B")):
                ranks.add(shape[1])
    pattern = config.get("rank_pattern")
    if isinstance(pattern, dict):
        ranks |= {v for v in pattern.values() if isinstance(v, int)}
    if len(ranks | ({rank} if type(rank) is int else set())) > 1:
        facts.append(Fact("rank.mixed", f"modules use ranks {sorted(ranks)} (r {rank}); every module must share one"))
    if config.get("target_modules") is None:
        facts.append(Fact("target_modules", "target_modules is absent or null; vLLM's PEFTHelper requires it"))
    alpha = config.get("lora_alpha")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not math.isfinite(alpha) or alpha <= 0:
        facts.append(Fact("alpha.invalid", f"lora_alpha is {alpha!r}; it must be a positive finite number"))
    for field in _VARIANT_FLAGS:
        if config.get(field):
            facts.append(Fact("variant", f"{field} is {config[field]!r}, a PEFT variant vLLM does not read"))
    for field in _VARIANT_OBJECTS:
        if config.get(field) is not None:
            facts.append(Fact("variant", f"{field} is {config[field]!r}, a PEFT variant vLLM does not read"))
    return tuple(facts)


def full_facts(folder: Path, base_config: dict[str, Any]) -> tuple[Fact, ...]:
    config = _json(folder / "config.json")
    index_path = folder / "model.safetensors.index.json"
    present = sorted(p.name for p in folder.glob("*.safetensors"))
    facts: list[Fact] = []
    index = _json(index_path) if index_path.is_file() else None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    shards = sorted(set(weight_map.values())) if isinstance(weight_map, dict) else present
    files = [folder / name for name in shards if (folder / name).is_file()]
    facts += _tensor_facts(files)
    dtypes = {entry.get("dtype") for path in files for entry in _header(path).values() if isinstance(entry, dict)}
    if len(dtypes) > 1:
        facts.append(Fact("dtype.mixed", f"the checkpoint mixes {sorted(map(str, dtypes))}; it must use one dtype"))
    if isinstance(config, dict):
        for key in ("architectures", "model_type"):
            if config.get(key) != base_config.get(key):
                facts.append(
                    Fact("config.architecture", f"{key} is {config.get(key)!r}, the base's {base_config[key]!r}")
                )
        if "quantization_config" in config:
            facts.append(Fact("config.quantized", "config.json declares quantization_config"))
        facts += _config_class_facts(config, base_config)
        # Policy: the context length and position encoding are the base's; long-context options are
        # set at deployment (vLLM's --max-model-len, --rope-scaling), not smuggled in an upload.
        for key in ("max_position_embeddings", "rope_theta", "rope_scaling", "rope_parameters"):
            if key in config and config.get(key) != base_config.get(key):
                facts.append(Fact("config.positions", f"{key} is {config[key]!r}, the base's {base_config.get(key)!r}"))
    for name in ("config.json", "generation_config.json", "model.safetensors.index.json"):
        if '"auto_map"' in ((folder / name).read_text(errors="replace") if (folder / name).is_file() else ""):
            facts.append(Fact("config.auto_map", f"{name} holds auto_map"))
    facts += _index_facts(folder, present, index, weight_map)
    facts += _generation_facts(folder, base_config)
    return tuple(_collapse(facts))


def _config_class_facts(config: dict[str, Any], base_config: dict[str, Any]) -> list[Fact]:
    """What transformers makes of config.json, built by the base's config class (from transformers,
    not from the gate's tables):
    - the compute dtype: from_pretrained's default is dtype="auto" in transformers 5, which computes
      in the config's dtype (dtype winning over the legacy torch_dtype), and vLLM's dtype=auto starts
      from it (docs/config-keys.md §2). The oracle's loader pins float32 to compare values exactly,
      so it cannot see this; the README's rule is that a full fine-tune keeps the base's dtype;
    - keys the class does not declare: transformers sets them as attributes, and both stacks read
      attributes by name (is_causal), so the README refuses them unless the base carries the same
      value (as the LoRA side refuses keys PEFT's LoraConfig does not declare)."""
    import dataclasses

    from transformers import CONFIG_MAPPING

    config_class = CONFIG_MAPPING[base_config["model_type"]]
    try:
        upload, base = config_class.from_dict(dict(config)), config_class.from_dict(dict(base_config))
    except Exception:
        return []  # transformers cannot build it: the loader reports that
    facts = []
    if upload.dtype is not None and upload.dtype != base.dtype:
        facts.append(Fact("config.dtype", f"config.json computes in {upload.dtype}, the base in {base.dtype}"))
    declared = {field.name for field in dataclasses.fields(config_class)} | set(vars(config_class()))
    for key in sorted(config):
        # model_type is the class's own attribute (the architecture fact compares it); a key
        # transformers normalises away (torch_dtype, rope_theta) never becomes an attribute.
        if key in declared or key == "model_type" or key not in vars(upload):
            continue
        if key not in base_config or base_config[key] != config[key]:
            facts.append(Fact("config.unknown_key", f"{key} is not a field of {config_class.__name__}"))
    return facts


def _collapse(facts: list[Fact]) -> list[Fact]:
    """One fact per code (the first, with a count), so a broken index is one line, not one per tensor."""
    by_code: dict[str, list[Fact]] = {}
    for fact in facts:
        by_code.setdefault(fact.code, []).append(fact)
    return [
        group[0] if len(group) == 1 else Fact(code, f"{group[0].sentence} (and {len(group) - 1} more)")
        for code, group in by_code.items()
    ]


def _generation_facts(folder: Path, base_config: dict[str, Any]) -> list[Fact]:
    """vLLM takes its default stop tokens and sampling from generation_config.json; an id outside
    the vocabulary can never be produced, so generation would not stop where it should."""
    document = _json(folder / "generation_config.json") if (folder / "generation_config.json").is_file() else {}
    if not isinstance(document, dict):
        return [Fact("generation_config", "generation_config.json is not a JSON object")]
    vocab = base_config["vocab_size"]
    facts = []
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = document.get(key)
        ids = value if isinstance(value, list) else [] if value is None else [value]
        if any(not isinstance(i, int) or not 0 <= i < vocab for i in ids):
            facts.append(Fact("generation_config", f"{key} {value!r} is outside the vocabulary (0-{vocab - 1})"))
    defaults = _generate_only_defaults()
    for key in sorted(defaults.keys() & document.keys()):
        if document[key] is not None and document[key] != defaults[key]:
            facts.append(
                Fact("generation_config.transformers_only", f"{key} is {document[key]!r}; vLLM does not read it")
            )
    return facts


# What vLLM takes from generation_config.json (V config/model.py get_diff_sampling_param and
# try_get_generation_config): its sampling defaults and the stop tokens. The other token ids are
# checked above; do_sample is transformers' switch for the sampling defaults vLLM always applies
# (their disagreement is the temperature-greedy regression); the rest only shape what generate()
# returns, or how it caches and compiles, not which tokens it picks.
_VLLM_READS = frozenset({"temperature", "top_p", "top_k", "min_p", "repetition_penalty", "presence_penalty",
                         "frequency_penalty", "max_new_tokens", "eos_token_id"})  # fmt: skip
_NOT_TOKEN_CHOICE = frozenset({"bos_token_id", "pad_token_id", "decoder_start_token_id", "do_sample",
                               "transformers_version", "_from_model_config", "use_cache", "cache_implementation",
                               "cache_config", "max_cache_len", "compile_config", "disable_compile",
                               "prefill_chunk_size", "continuous_batching_config", "output_attentions",
                               "output_hidden_states", "output_scores", "output_logits",
                               "return_dict_in_generate"})  # fmt: skip


def _generate_only_defaults() -> dict[str, Any]:
    """generate() options vLLM does not read, with transformers' default for each (GenerationConfig
    leaves every attribute None and generate() fills these defaults in). The README's rule:
    generation_config.json holds no option only transformers' generate() would honour, or the two
    engines would serve the model differently."""
    from transformers import GenerationConfig

    defaults: dict[str, Any] = GenerationConfig._get_default_generation_params()
    return {
        key: defaults.get(key) for key in GenerationConfig().to_dict() if key not in _VLLM_READS | _NOT_TOKEN_CHOICE
    }


def _index_facts(folder: Path, present: list[str], index: Any, weight_map: Any) -> list[Fact]:
    if index is None:
        extra = [name for name in present if name != "model.safetensors"]
        return [Fact("index.missing", f"{extra[0]} is a shard without model.safetensors.index.json")] if extra else []
    if not isinstance(weight_map, dict):
        return [Fact("index.schema", "model.safetensors.index.json has no weight_map object")]
    facts: list[Fact] = []
    located: dict[str, list[str]] = {}
    sizes = 0
    for name in present:
        for tensor, entry in _header(folder / name).items():
            located.setdefault(tensor, []).append(name)
            offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
            if isinstance(offsets, list) and len(offsets) == 2 and name in weight_map.values():
                sizes += offsets[1] - offsets[0]
    for tensor, shard in sorted(weight_map.items()):
        if located.get(tensor) != [shard]:
            facts.append(Fact("index.mismatch", f"the index puts {tensor} in {shard}; it is in {located.get(tensor)}"))
    for tensor in sorted(set(located) - set(weight_map)):
        facts.append(Fact("index.mismatch", f"{tensor} ({located[tensor]}) is not in the index"))
    for name in sorted(set(present) - set(weight_map.values())):
        facts.append(Fact("index.unreferenced", f"{name} is not named by the index"))
    for name in sorted(set(weight_map.values()) - set(present)):
        facts.append(Fact("index.missing_shard", f"the index names {name}, which is absent"))
    metadata = index.get("metadata") if isinstance(index, dict) else None
    total = metadata.get("total_size") if isinstance(metadata, dict) else None
    if total is not None and total != sizes:
        facts.append(Fact("index.total_size", f"metadata.total_size is {total}; the shards hold {sizes} bytes"))
    return facts
