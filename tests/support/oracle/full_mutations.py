"""Mutations of a full-weight checkpoint draft: config.json fields that change loading or what the
model computes, missing and extra tensors, shapes, dtypes, names, values, the tied lm_head, and the
shards and their index.

Names are stable: regression cases and known gate bugs refer to them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.oracle.uploads import FullDraft, Tensor


@dataclass(frozen=True)
class FullMutation:
    name: str
    apply: Callable[[FullDraft, random.Random], None]


def _set(**changes: Any) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.config.update(changes)

    return apply


def _drop_key(key: str) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.config.pop(key, None)

    return apply


def _scale(key: str, factor: float) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        value = draft.config[key]
        draft.config[key] = type(value)(value * factor)

    return apply


def _pick(draft: FullDraft, rng: random.Random, fragment: str = "") -> str:
    return rng.choice(sorted(name for name in draft.tensors if fragment in name))


def _dtype(draft: FullDraft) -> str:
    return next(iter(draft.tensors.values())).dtype


def _drop(fragment: str) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, rng: random.Random) -> None:
        del draft.tensors[_pick(draft, rng, fragment)]

    return apply


def _extra(name: str, shape: tuple[int, ...]) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.tensors[name] = Tensor(_dtype(draft), draft.values.standard_normal(shape) * 0.05)

    return apply


def _lm_head(draft: FullDraft, _rng: random.Random) -> None:
    """lm_head.weight shipped beside a tied embedding (a copy that differs from embed_tokens)."""
    embed = draft.tensors["model.embed_tokens.weight"]
    draft.tensors["lm_head.weight"] = Tensor(embed.dtype, draft.values.standard_normal(embed.values.shape) * 0.05)


def _lm_head_copy(draft: FullDraft, _rng: random.Random) -> None:
    """lm_head.weight equal to embed_tokens, as some exporters write a tied model."""
    embed = draft.tensors["model.embed_tokens.weight"]
    draft.tensors["lm_head.weight"] = Tensor(embed.dtype, embed.values.copy())


def _reshape(fragment: str, change: Callable[[tuple[int, ...]], tuple[int, ...]]) -> Any:
    def apply(draft: FullDraft, rng: random.Random) -> None:
        name = _pick(draft, rng, fragment)
        old = draft.tensors[name]
        draft.tensors[name] = Tensor(old.dtype, draft.values.standard_normal(change(old.values.shape)) * 0.05)

    return apply


def _retype(every: bool, dtype: str | None = None) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, rng: random.Random) -> None:
        current = _dtype(draft)
        target = dtype or rng.choice([d for d in ("BF16", "F16", "F32") if d != current])
        for name in list(draft.tensors) if every else [_pick(draft, rng)]:
            draft.tensors[name] = Tensor(target, draft.tensors[name].values)

    return apply


def _redtype(draft: FullDraft, rng: random.Random) -> None:
    """Every tensor and config.json's torch_dtype in one other dtype, as a trainer saving in float16
    or float32 writes them: consistent, but not the base's compute dtype."""
    _retype(every=True)(draft, rng)
    draft.config["torch_dtype"] = {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}[_dtype(draft)]


def _rename(old: str, new: str) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.tensors = {n.replace(old, new, 1) if n.startswith(old) else n: t for n, t in draft.tensors.items()}

    return apply


def _values(fill: Callable[[np.ndarray], np.ndarray], fragment: str = "", every: bool = False) -> Any:
    def apply(draft: FullDraft, rng: random.Random) -> None:
        for name in [n for n in draft.tensors if fragment in n] if every else [_pick(draft, rng, fragment)]:
            old = draft.tensors[name]
            draft.tensors[name] = Tensor(old.dtype, fill(old.values.copy()))

    return apply


def _finite_huge(draft: FullDraft, rng: random.Random) -> None:
    """MLP weights times 1e30: finite in BF16 and F32 (F16 would store inf, a different case)."""
    if _dtype(draft) == "F16":
        raise ValueError("F16 cannot hold the values finitely")
    _values(lambda v: v * 1e30, "mlp", every=True)(draft, rng)


def _poke(value: float) -> Callable[[np.ndarray], np.ndarray]:
    def fill(values: np.ndarray) -> np.ndarray:
        values.flat[1] = value
        return values

    return fill


def _shards(count: int) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.shards = count

    return apply


def _index_edit(change: Callable[[dict[str, Any], random.Random], None]) -> Callable[[FullDraft, random.Random], None]:
    """Edit model.safetensors.index.json after writing (the draft is made sharded first)."""

    def apply(draft: FullDraft, rng: random.Random) -> None:
        draft.shards = max(draft.shards, 2)
        seed = rng.random()

        def edit(folder: Path) -> None:
            path = folder / "model.safetensors.index.json"
            index = json.loads(path.read_text())
            change(index, random.Random(seed))
            path.write_text(json.dumps(index, indent=2))

        draft.edits.append(edit)

    return apply


def _wrong_shard(index: dict[str, Any], rng: random.Random) -> None:
    weight_map = index["weight_map"]
    name = rng.choice(sorted(weight_map))
    weight_map[name] = next(s for s in sorted(set(weight_map.values())) if s != weight_map[name])


def _drop_entry(index: dict[str, Any], rng: random.Random) -> None:
    del index["weight_map"][rng.choice(sorted(index["weight_map"]))]


def _ghost_entry(index: dict[str, Any], _rng: random.Random) -> None:
    index["weight_map"]["model.layers.0.self_attn.ghost.weight"] = sorted(index["weight_map"].values())[0]


def _total_size(index: dict[str, Any], _rng: random.Random) -> None:
    index["metadata"]["total_size"] += 2


def _files(change: Callable[[Path, random.Random], None]) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, rng: random.Random) -> None:
        draft.shards = max(draft.shards, 2)
        seed = rng.random()
        draft.edits.append(lambda folder: change(folder, random.Random(seed)))

    return apply


def _remove_index(folder: Path, _rng: random.Random) -> None:
    (folder / "model.safetensors.index.json").unlink()


def _remove_shard(folder: Path, rng: random.Random) -> None:
    rng.choice(sorted(folder.glob("model-*.safetensors"))).unlink()


def _unreferenced_shard(folder: Path, _rng: random.Random) -> None:
    first = sorted(folder.glob("model-*.safetensors"))[0]
    (folder / "model-extra.safetensors").write_bytes(first.read_bytes())


def _duplicate_in_shards(draft: FullDraft, rng: random.Random) -> None:
    """The last shard also holds a tensor the index puts in the first (the same bytes)."""
    draft.shards = max(draft.shards, 2)
    draft.duplicated.append(next(iter(draft.tensors)))


def _bom(draft: FullDraft, _rng: random.Random) -> None:
    def edit(folder: Path) -> None:
        path = folder / "config.json"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    draft.edits.append(edit)


def _flip_tie(draft: FullDraft, _rng: random.Random) -> None:
    draft.config["tie_word_embeddings"] = not draft.config["tie_word_embeddings"]


def _flip_attention_bias(draft: FullDraft, _rng: random.Random) -> None:
    """Qwen3 has no q/k/v biases and Qwen2 has them: claim the opposite."""
    draft.config["attention_bias"] = draft.config["model_type"] == "qwen3"


def _swap_model_type(draft: FullDraft, _rng: random.Random) -> None:
    draft.config["model_type"] = "qwen2" if draft.config["model_type"] == "qwen3" else "qwen3"


def _generation(document: dict[str, Any]) -> Callable[[FullDraft, random.Random], None]:
    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.generation_config = dict(document)

    return apply


def _vocab(delta: int) -> Callable[[FullDraft, random.Random], None]:
    """vocab_size changed in config.json and in the embedding and lm_head (a resized vocabulary)."""

    def apply(draft: FullDraft, _rng: random.Random) -> None:
        draft.config["vocab_size"] += delta
        for name in ("model.embed_tokens.weight", "lm_head.weight"):
            if name in draft.tensors:
                old = draft.tensors[name]
                rows, width = old.values.shape
                draft.tensors[name] = Tensor(old.dtype, draft.values.standard_normal((rows + delta, width)) * 0.05)

    return apply


FULL_MUTATIONS: tuple[FullMutation, ...] = (
    # -- config.json: loading-relevant dimensions -------------------------------------------------
    FullMutation("config.num_hidden_layers.more", _scale("num_hidden_layers", 1.5)),
    FullMutation("config.num_hidden_layers.fewer", _scale("num_hidden_layers", 0.5)),
    FullMutation("config.hidden_size", _scale("hidden_size", 2)),
    FullMutation("config.intermediate_size", _scale("intermediate_size", 0.5)),
    FullMutation("config.num_key_value_heads", _set(num_key_value_heads=4)),
    FullMutation("config.head_dim", _set(head_dim=8)),
    FullMutation("config.vocab_size", _scale("vocab_size", 2)),
    FullMutation("config.vocab.resized", _vocab(64)),
    FullMutation("config.tie_word_embeddings.flip", _flip_tie),
    FullMutation("config.attention_bias.flip", _flip_attention_bias),
    # -- config.json: what the model computes -----------------------------------------------------
    FullMutation("config.hidden_act.gelu", _set(hidden_act="gelu")),
    FullMutation("config.rms_norm_eps", _set(rms_norm_eps=0.5)),
    FullMutation("config.rope_theta", _set(rope_theta=10.0)),
    FullMutation("config.rope_parameters", _set(rope_parameters={"rope_type": "default", "rope_theta": 10.0})),
    FullMutation("config.rope_scaling.linear", _set(rope_scaling={"rope_type": "linear", "factor": 4.0})),
    FullMutation("config.sliding_window", _set(use_sliding_window=True, sliding_window=2, max_window_layers=0)),
    FullMutation("config.max_position_embeddings", _set(max_position_embeddings=1024)),
    FullMutation("config.attention_dropout", _set(attention_dropout=0.1)),
    FullMutation("config.torch_dtype.other", _set(torch_dtype="float16")),
    FullMutation("config.dtype_key", lambda d, _rng: d.config.update(dtype=d.config.pop("torch_dtype"))),
    FullMutation("config.architectures.other", lambda d, _rng: d.config.update(architectures=["LlamaForCausalLM"])),
    FullMutation("config.architectures.missing", _drop_key("architectures")),
    FullMutation("config.model_type.swapped", _swap_model_type),
    FullMutation("config.quantization_config", _set(quantization_config={"quant_method": "bitsandbytes"})),
    FullMutation("config.auto_map", _set(auto_map={"AutoModelForCausalLM": "modeling.Model"})),
    FullMutation("config.unknown_key", _set(my_training_note="lr 2e-5")),
    FullMutation("config.bom", _bom),
    # -- tensors -------------------------------------------------------------------------------
    FullMutation("tensors.drop_one", _drop("")),
    FullMutation("tensors.drop_norm", _drop("norm.weight")),
    FullMutation("tensors.drop_lm_head", _drop("lm_head.weight")),
    FullMutation("tensors.extra", _extra("model.layers.0.mlp.extra_proj.weight", (8, 64))),
    FullMutation("tensors.extra_inv_freq", _extra("model.layers.0.self_attn.rotary_emb.inv_freq", (8,))),
    FullMutation("tensors.lm_head.differs", _lm_head),
    FullMutation("tensors.lm_head.copy", _lm_head_copy),
    FullMutation("tensors.shape.half", _reshape("", lambda shape: (max(1, shape[0] // 2), *shape[1:]))),
    FullMutation("tensors.shape.transposed", _reshape("k_proj.weight", lambda shape: (shape[1], shape[0]))),
    FullMutation("tensors.dtype.one", _retype(every=False)),
    FullMutation("tensors.dtype.all", _retype(every=True)),
    FullMutation("tensors.dtype.f64", _retype(every=True, dtype="F64")),
    FullMutation("tensors.dtype.all_and_config", _redtype),
    FullMutation("tensors.prefix.missing", _rename("model.", "")),
    FullMutation("tensors.prefix.extra", _rename("model.", "model.model.")),
    FullMutation("tensors.nan", _values(_poke(float("nan")))),
    FullMutation("tensors.inf", _values(_poke(float("-inf")))),
    FullMutation("tensors.huge", _finite_huge),
    FullMutation("tensors.zeros", _values(np.zeros_like)),
    FullMutation("tensors.metadata.none", lambda d, _rng: setattr(d, "metadata", None)),
    FullMutation("tensors.metadata.other_format", lambda d, _rng: setattr(d, "metadata", {"format": "mlx"})),
    # -- shards and index ------------------------------------------------------------------------
    FullMutation("shards.two", _shards(2)),
    FullMutation("shards.three", _shards(3)),
    FullMutation("index.wrong_shard", _index_edit(_wrong_shard)),
    FullMutation("index.drop_entry", _index_edit(_drop_entry)),
    FullMutation("index.ghost_entry", _index_edit(_ghost_entry)),
    FullMutation("index.total_size", _index_edit(_total_size)),
    FullMutation("index.missing", _files(_remove_index)),
    FullMutation("shards.missing", _files(_remove_shard)),
    FullMutation("shards.unreferenced", _files(_unreferenced_shard)),
    FullMutation("shards.duplicate_tensor", _duplicate_in_shards),
    FullMutation("generation_config.eos_out_of_vocab", _generation({"bos_token_id": 1, "eos_token_id": 5000})),
    FullMutation("generation_config.forced_eos_out_of_vocab", _generation({"forced_eos_token_id": 5000})),
    FullMutation("generation_config.suppress_out_of_vocab", _generation({"suppress_tokens": [5000]})),
    FullMutation("generation_config.eos_string", _generation({"eos_token_id": "</s>"})),
    FullMutation("generation_config.top_k_negative", _generation({"eos_token_id": 2, "do_sample": True, "top_k": -3})),
    FullMutation("generation_config.temperature_greedy", _generation({"eos_token_id": 2, "temperature": 0.7})),
    FullMutation("generation_config.sampling", _generation({"eos_token_id": 2, "do_sample": True, "temperature": 0.7})),
)  # fmt: skip

FULL_BY_NAME = {mutation.name: mutation for mutation in FULL_MUTATIONS}
assert len(FULL_BY_NAME) == len(FULL_MUTATIONS), "mutation names must be unique"
