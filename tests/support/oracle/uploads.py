"""Uploads as drafts the mutations edit, and the writer that turns a draft into a folder.

A draft holds what PEFT's `save_pretrained` or transformers' `save_pretrained` would write, as
plain data (a config dict, named tensors with their values), so a mutation is a few lines that
change it. Valid drafts come from the base's config alone; the loaders decide whether they are.
The writer lays safetensors files out as the reference writer does and knows any dtype, so
mutations can ask for F64 or I32 tensors that samples.py would refuse to write.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelport import samples
from modelport.catalog.architecture import Architecture

LINEAR_LEAVES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1"}
_ALIGN = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "I8": 1, "U8": 1}

TINY_BASES: dict[str, dict[str, Any]] = {
    "tiny-qwen3": samples.tiny_base_config("qwen3"),
    "tiny-qwen2": samples.tiny_base_config("qwen2"),
    "tiny-qwen3-tied": samples.tiny_base_config("qwen3", tie_word_embeddings=True),
}
LORA_BASES = ("tiny-qwen3", "tiny-qwen2")
FULL_BASES = ("tiny-qwen3", "tiny-qwen2", "tiny-qwen3-tied")

FileEdit = Callable[[Path], None]


@dataclass
class Tensor:
    dtype: str
    values: np.ndarray  # float64 values in the tensor's shape; cast on writing

    def encode(self) -> bytes:
        with np.errstate(over="ignore", invalid="ignore"):  # out of range becomes inf, as a cast stores it
            if self.dtype == "BF16":  # the high half of the float32 pattern (keeps NaN and Inf)
                return (self.values.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
            if self.dtype.startswith(("I", "U")):
                return np.rint(np.nan_to_num(self.values)).astype(_NUMPY[self.dtype]).tobytes()
            return self.values.astype(_NUMPY[self.dtype]).tobytes()


def write_safetensors(path: Path, tensors: dict[str, Tensor], metadata: dict[str, str] | None) -> None:
    ordered = sorted(tensors.items(), key=lambda item: (-_ALIGN[item[1].dtype], item[0]))
    header: dict[str, Any] = {} if metadata is None else {"__metadata__": metadata}
    blobs: list[bytes] = []
    offset = 0
    for name, tensor in ordered:
        blob = tensor.encode()
        header[name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.values.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


@dataclass
class LoraDraft:
    base_id: str
    config: dict[str, Any]  # adapter_config.json
    tensors: dict[str, Tensor]  # adapter_model.safetensors
    values: np.random.Generator
    metadata: dict[str, str] | None = field(default_factory=lambda: {"format": "pt"})
    edits: list[FileEdit] = field(default_factory=list)  # raw edits after writing (BOM, 1e999, ...)
    dtype: str = "F32"

    @property
    def architecture(self) -> Architecture:
        return Architecture.from_config(TINY_BASES[self.base_id])

    def module_path(self, leaf: str, layer: int | None) -> str:
        if leaf == "lm_head":
            return "lm_head"
        if leaf == "embed_tokens":
            return "model.embed_tokens"
        sub = next(path for path in self.architecture.lora_modules() if path.endswith("." + leaf))
        return f"model.layers.{layer}.{sub}"

    def lora_pair(self, leaf: str, layer: int | None, rank: int, scale: float = 0.1) -> dict[str, Tensor]:
        """lora_A and lora_B of one module at `rank`, as PEFT names and shapes them."""
        architecture = self.architecture
        if leaf in ("lm_head", "embed_tokens"):
            shape = architecture.lora_top_level()[leaf]
        else:
            shape = next(s for path, s in architecture.lora_modules().items() if path.endswith("." + leaf))
        module = "base_model.model." + self.module_path(leaf, layer)
        a, b = (
            ("lora_embedding_A", "lora_embedding_B") if leaf == "embed_tokens" else ("lora_A.weight", "lora_B.weight")
        )
        return {
            f"{module}.{a}": self.random((rank, shape.in_features), scale),
            f"{module}.{b}": self.random((shape.out_features, rank), scale),
        }

    def random(self, shape: tuple[int, ...], scale: float = 0.1) -> Tensor:
        return Tensor(self.dtype, self.values.standard_normal(shape) * scale)

    def retrain(self, *, rank: int, leaves: list[str], layers: list[int]) -> None:
        """Replace every tensor by a fresh adapter of `rank` on `leaves` of `layers` (config unchanged)."""
        self.tensors = {}
        for leaf in leaves:
            for layer in [None] if leaf in ("lm_head", "embed_tokens") else layers:
                self.tensors |= self.lora_pair(leaf, layer, rank)

    def modules(self) -> list[str]:
        """Module paths (as in the file, without base_model.model.) that have LoRA tensors."""
        names = {name.removeprefix("base_model.model.").rsplit(".lora_", 1)[0] for name in self.tensors}
        return sorted(names)

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter_config.json").write_text(json.dumps(self.config, indent=2))
        write_safetensors(folder / "adapter_model.safetensors", self.tensors, self.metadata)
        (folder / "README.md").write_text(f"---\nbase_model: {self.base_id}\nlibrary_name: peft\n---\n")
        for edit in self.edits:
            edit(folder)


def valid_lora(base_id: str, rng: random.Random, values: np.random.Generator) -> LoraDraft:
    rank = rng.choice((8, 8, 16))
    leaves = sorted(rng.sample(LINEAR_LEAVES, rng.randint(1, len(LINEAR_LEAVES))), key=LINEAR_LEAVES.index)
    dtype = rng.choice(("F32", "F32", "BF16", "F16"))
    config = samples.adapter_config(base_id, rank=rank, targets=leaves, lora_alpha=rng.choice((rank, 2 * rank, 32)))
    form = rng.random()
    if form < 0.15 and len(leaves) == len(LINEAR_LEAVES):
        config["target_modules"] = "all-linear"
    elif form < 0.3:
        config["target_modules"] = r".*\.(" + "|".join(leaves) + ")"
    if rng.random() < 0.15:
        config["use_rslora"] = True
    draft = LoraDraft(base_id=base_id, config=config, tensors={}, values=values, dtype=dtype)
    draft.retrain(rank=rank, leaves=leaves, layers=list(range(draft.architecture.num_hidden_layers)))
    return draft


@dataclass
class FullDraft:
    base_id: str
    config: dict[str, Any]  # config.json
    tensors: dict[str, Tensor]
    values: np.random.Generator
    shards: int = 1
    generation_config: dict[str, Any] | None = None
    metadata: dict[str, str] | None = field(default_factory=lambda: {"format": "pt"})
    edits: list[FileEdit] = field(default_factory=list)  # raw edits after writing (index, shards, BOM, ...)
    duplicated: list[str] = field(default_factory=list)  # also written to the last shard (index: first)

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True))
        if self.generation_config is not None:
            (folder / "generation_config.json").write_text(json.dumps(self.generation_config, indent=2))
        names = list(self.tensors)
        if self.shards <= 1:
            write_safetensors(folder / "model.safetensors", self.tensors, self.metadata)
        else:
            weight_map: dict[str, str] = {}
            for number in range(1, self.shards + 1):
                shard = f"model-{number:05d}-of-{self.shards:05d}.safetensors"
                group = names[number - 1 :: self.shards]
                copies = [n for n in self.duplicated if n not in group] if number == self.shards else []
                write_safetensors(folder / shard, {n: self.tensors[n] for n in group + copies}, self.metadata)
                weight_map |= dict.fromkeys(group, shard)
            total = sum(len(t.encode()) for t in self.tensors.values())
            index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
            (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
        for edit in self.edits:
            edit(folder)


_SAFETENSORS_DTYPE = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


def valid_full(base_id: str, rng: random.Random, values: np.random.Generator) -> FullDraft:
    """A full fine-tune as a trainer of the base saves it: the base's config.json (its torch_dtype
    included) and every tensor in that dtype. transformers 5 loads with dtype="auto", so the config's
    dtype is the one the model computes in; another dtype is a mutation (config.torch_dtype.other,
    tensors.dtype.*), not a valid draft."""
    config = dict(TINY_BASES[base_id])
    dtype = _SAFETENSORS_DTYPE[config["torch_dtype"]]
    tensors: dict[str, Tensor] = {}
    for spec in samples.full_tensors(Architecture.from_config(config), dtype):
        noise = values.standard_normal(spec.shape) * 0.05
        tensors[spec.name] = Tensor(dtype, 1.0 + noise if spec.name.endswith("norm.weight") else noise)
    generation = {"bos_token_id": 1, "eos_token_id": 2} if rng.random() < 0.5 else None
    return FullDraft(base_id, config, tensors, values, shards=rng.choice((1, 1, 2, 3)), generation_config=generation)
