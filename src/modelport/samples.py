"""Synthetic model folders shaped like the real thing: a PEFT LoRA adapter for any catalog base, a
full checkpoint (single file or sharded), and tiny Qwen base configs an operator can register.

They let a newcomer try an import without a GPU or a download (`modelport sample ...`), and give
tests and benchmarks files built in code. The safetensors writer lays files out as the reference
writer does (header padded with spaces to 8 bytes, tensors sorted by dtype alignment then name);
the test suite checks its output with the reference `safetensors` library.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelport.catalog.architecture import Architecture

_NUMPY_DTYPES: dict[str, np.dtype[np.floating]] = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}
_ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}
DEFAULT_TARGETS = ("q_proj", "v_proj")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count * _ITEMSIZE[self.dtype]


Filler = Callable[[TensorSpec], bytes]


def random_filler(seed: int = 0, scale: float = 0.02) -> Filler:
    generator = np.random.default_rng(seed)

    def fill(spec: TensorSpec) -> bytes:
        count = spec.nbytes // _ITEMSIZE[spec.dtype]
        values = generator.standard_normal(count, dtype=np.float32) * scale
        if spec.dtype == "BF16":
            return (values.view(np.uint32) >> 16).astype("<u2").tobytes()
        converted: bytes = values.astype(_NUMPY_DTYPES[spec.dtype]).tobytes()
        return converted

    return fill


def zero_filler(_spec: TensorSpec) -> bytes:
    return bytes(_spec.nbytes)


def write_safetensors(
    path: Path,
    tensors: Iterable[TensorSpec],
    fill: Filler,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Write a safetensors file tensor by tensor (memory stays at one tensor); returns its size."""
    ordered = sorted(tensors, key=lambda t: (-_ITEMSIZE[t.dtype], t.name))
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for spec in ordered:
        header[spec.name] = {
            "dtype": spec.dtype,
            "shape": list(spec.shape),
            "data_offsets": [offset, offset + spec.nbytes],
        }
        offset += spec.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for spec in ordered:
            data = fill(spec)
            assert len(data) == spec.nbytes, spec
            handle.write(data)
    return 8 + len(encoded) + offset


def lora_tensors(
    architecture: Architecture,
    *,
    rank: int,
    targets: Iterable[str] = DEFAULT_TARGETS,
    dtype: str = "F32",
    layers: Iterable[int] | None = None,
) -> list[TensorSpec]:
    prefix = architecture.text_prefixes()[0]
    modules = {name.rsplit(".", 1)[-1]: (name, shape) for name, shape in architecture.lora_modules().items()}
    specs: list[TensorSpec] = []
    for layer in layers if layers is not None else range(architecture.num_hidden_layers):
        for target in targets:
            path, shape = modules[target]
            module = f"base_model.model.{prefix}layers.{layer}.{path}"
            specs.append(TensorSpec(f"{module}.lora_A.weight", dtype, (rank, shape.in_features)))
            specs.append(TensorSpec(f"{module}.lora_B.weight", dtype, (shape.out_features, rank)))
    return specs


def adapter_config(
    base_id: str, *, rank: int, targets: Iterable[str] = DEFAULT_TARGETS, **overrides: Any
) -> dict[str, Any]:
    """An adapter_config.json as PEFT writes it (the keys that matter, and a few it always adds)."""
    config: dict[str, Any] = {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": f"Qwen/{base_id}",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.05,
        "modules_to_save": None,
        "peft_type": "LORA",
        "peft_version": "0.21.2",
        "r": rank,
        "rank_pattern": {},
        "revision": None,
        "target_modules": sorted(targets),
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }
    config.update(overrides)
    return config


def write_lora_adapter(
    folder: Path,
    base_id: str,
    architecture: Architecture,
    *,
    rank: int = 8,
    targets: Iterable[str] = DEFAULT_TARGETS,
    dtype: str = "F32",
    fill: Filler | None = None,
    seed: int = 0,
) -> list[Path]:
    """A PEFT-style adapter folder: adapter_config.json, adapter_model.safetensors, README.md."""
    targets = tuple(targets)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(
        json.dumps(adapter_config(base_id, rank=rank, targets=targets), indent=2)
    )
    write_safetensors(
        folder / "adapter_model.safetensors",
        lora_tensors(architecture, rank=rank, targets=targets, dtype=dtype),
        fill or random_filler(seed),
        metadata={"format": "pt"},
    )
    (folder / "README.md").write_text(f"# Synthetic LoRA adapter for {base_id}\n\nMade by `modelport sample lora`.\n")
    return sorted(folder.iterdir())


def full_tensors(architecture: Architecture, dtype: str = "BF16", layout: str | None = None) -> list[TensorSpec]:
    chosen = layout or architecture.full_layouts()[0]
    return [TensorSpec(name, dtype, tuple(shape)) for name, shape in architecture.expected_tensors(chosen).items()]


def write_full_checkpoint(
    folder: Path,
    config: Mapping[str, Any],
    *,
    shards: int = 1,
    dtype: str = "BF16",
    fill: Filler | None = None,
    seed: int = 0,
    layout: str | None = None,
) -> list[Path]:
    """config.json plus model.safetensors, or `shards` files and model.safetensors.index.json."""
    architecture = Architecture.from_config(config)
    specs = full_tensors(architecture, dtype, layout)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(dict(config), indent=2, sort_keys=True))
    filler = fill or random_filler(seed)
    if shards <= 1:
        write_safetensors(folder / "model.safetensors", specs, filler, metadata={"format": "pt"})
        return sorted(folder.iterdir())
    groups = _split_evenly(specs, shards)
    weight_map: dict[str, str] = {}
    for number, group in enumerate(groups, start=1):
        name = f"model-{number:05d}-of-{len(groups):05d}.safetensors"
        write_safetensors(folder / name, group, filler, metadata={"format": "pt"})
        weight_map.update({spec.name: name for spec in group})
    index = {
        "metadata": {"total_size": sum(s.nbytes for s in specs)},
        "weight_map": dict(sorted(weight_map.items())),
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return sorted(folder.iterdir())


def _split_evenly(specs: list[TensorSpec], parts: int) -> list[list[TensorSpec]]:
    total = sum(s.nbytes for s in specs)
    target = total / parts
    groups: list[list[TensorSpec]] = [[]]
    filled = 0
    for spec in specs:
        if filled >= target * len(groups) and len(groups) < parts:
            groups.append([])
        groups[-1].append(spec)
        filled += spec.nbytes
    return [g for g in groups if g]


def tiny_base_config(
    model_type: str = "qwen3",
    *,
    hidden_size: int = 64,
    intermediate_size: int = 128,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    vocab_size: int = 1024,
    tie_word_embeddings: bool = False,
) -> dict[str, Any]:
    """A small but complete Hugging Face config of a Qwen model: `qwen2`, `qwen3`, or the vision-language
    `qwen2_5_vl` and `qwen3_vl` (with a small vision tower)."""
    if model_type in ("qwen2_5_vl", "qwen3_vl"):
        return _tiny_vision_language_config(
            model_type,
            tiny_base_config(
                "qwen3" if model_type == "qwen3_vl" else "qwen2",
                hidden_size=hidden_size,
                intermediate_size=intermediate_size,
                num_hidden_layers=num_hidden_layers,
                num_attention_heads=num_attention_heads,
                num_key_value_heads=num_key_value_heads,
                vocab_size=vocab_size,
                tie_word_embeddings=tie_word_embeddings,
            ),
        )
    if model_type not in ("qwen2", "qwen3"):
        raise ValueError(f"unknown model_type {model_type!r}: use qwen2, qwen3, qwen2_5_vl or qwen3_vl")
    config: dict[str, Any] = {
        "architectures": ["Qwen3ForCausalLM" if model_type == "qwen3" else "Qwen2ForCausalLM"],
        "model_type": model_type,
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": num_hidden_layers,
        "num_attention_heads": num_attention_heads,
        "num_key_value_heads": num_key_value_heads,
        "vocab_size": vocab_size,
        "tie_word_embeddings": tie_word_embeddings,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "hidden_act": "silu",
        "torch_dtype": "bfloat16",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if model_type == "qwen3":
        config["head_dim"] = hidden_size // num_attention_heads
    return config


def _tiny_vision_language_config(model_type: str, text: dict[str, Any]) -> dict[str, Any]:
    vision: dict[str, Any] = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_heads": 2,
        "out_hidden_size": text["hidden_size"],
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    text = {k: v for k, v in text.items() if k not in ("architectures", "model_type")}
    if model_type == "qwen2_5_vl":
        vision.update(patch_size=14, in_chans=3)
        return {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": model_type, **text,
                "vision_config": vision}  # fmt: skip
    vision.update(patch_size=16, num_position_embeddings=16, deepstack_visual_indexes=[1])
    return {
        "architectures": ["Qwen3VLForConditionalGeneration"],
        "model_type": model_type,
        "text_config": text,
        "tie_word_embeddings": text["tie_word_embeddings"],
        "vision_config": vision,
    }


def scaled_base_config(
    model_type: str,
    total_bytes: int,
    *,
    dtype_bytes: int = 2,
    hidden: int = 2048,
    intermediate: int = 5632,
    vocab: int = 32_000,
    heads: int = 16,
) -> dict[str, Any]:
    """A base whose bf16 checkpoint is about `total_bytes` (for benchmarks): as many layers of the
    given width as the bytes allow, at least one."""
    per_layer = (4 * hidden * hidden + 3 * hidden * intermediate) * dtype_bytes
    fixed = 2 * vocab * hidden * dtype_bytes
    layers = max(1, round((total_bytes - fixed) / per_layer))
    return tiny_base_config(
        model_type,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        vocab_size=vocab,
    )


def register_base(data_dir: Path, base_id: str, config: Mapping[str, Any]) -> Path:
    """Write `<data_dir>/base_models/<base_id>/config.json`, which adds the base to the catalog."""
    folder = data_dir / "base_models" / base_id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "config.json"
    target.write_text(json.dumps(dict(config), indent=2, sort_keys=True))
    os.chmod(target, 0o644)
    return target
