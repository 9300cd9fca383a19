"""Mutations of a LoRA adapter draft: adapter_config.json keys (values, wrong types, unknown keys,
PEFT variants) and the tensors (missing halves, extras, shapes, dtypes, names, values).

Each mutation is a name and a few lines; the name is what regression cases and known gate bugs
refer to, so it must stay stable. A mutation receives the draft and a seeded `random.Random`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.oracle.uploads import LINEAR_LEAVES, LoraDraft, Tensor


@dataclass(frozen=True)
class Mutation:
    name: str
    apply: Callable[[LoraDraft, random.Random], None]


def _set(**changes: Any) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, _rng: random.Random) -> None:
        draft.config.update(changes)

    return apply


def _leaves(draft: LoraDraft) -> list[str]:
    return sorted({m.rsplit(".", 1)[-1] for m in draft.modules()}, key=lambda x: (x not in LINEAR_LEAVES, x))


def _layers(draft: LoraDraft) -> list[int]:
    return list(range(draft.architecture.num_hidden_layers))


def _rank(draft: LoraDraft) -> int:
    first = next(iter(draft.tensors.values()))
    return int(first.values.shape[0])


def _targets(targets: Callable[[LoraDraft, random.Random], Any]) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        draft.config["target_modules"] = targets(draft, rng)

    return apply


def _untargeted(draft: LoraDraft) -> list[str]:
    return [leaf for leaf in LINEAR_LEAVES if leaf not in _leaves(draft)]


def _add_untargeted_module(draft: LoraDraft, rng: random.Random) -> None:
    """Tensors for a module target_modules does not name (PEFT never builds a layer for it)."""
    if draft.config.get("target_modules") == "all-linear":
        raise ValueError("all-linear targets every linear layer")
    draft.tensors |= draft.lora_pair(rng.choice(_untargeted(draft)), rng.choice(_layers(draft)), _rank(draft))


def _add_target_without_tensors(draft: LoraDraft, rng: random.Random) -> None:
    if not isinstance(draft.config["target_modules"], list):
        raise ValueError("needs list targets")
    draft.config["target_modules"] = [*draft.config["target_modules"], rng.choice(_untargeted(draft))]


def _retrain_all_linear(draft: LoraDraft, _rng: random.Random) -> None:
    """A well-formed all-linear adapter (every linear layer has tensors)."""
    draft.retrain(rank=_rank(draft), leaves=list(LINEAR_LEAVES), layers=_layers(draft))
    draft.config["target_modules"] = "all-linear"


def _all_linear_partial(draft: LoraDraft, rng: random.Random) -> None:
    """target_modules 'all-linear' but tensors for some linear layers only."""
    leaves = rng.sample(LINEAR_LEAVES, rng.randint(1, len(LINEAR_LEAVES) - 1))
    draft.retrain(rank=_rank(draft), leaves=leaves, layers=_layers(draft))
    draft.config["target_modules"] = "all-linear"


def _regex_of(draft: LoraDraft, _rng: random.Random) -> str:
    return r".*\.(" + "|".join(_leaves(draft)) + ")"


def _regex_one_layer(draft: LoraDraft, rng: random.Random) -> None:
    """A regex naming one layer's modules, with tensors for exactly those (a valid, narrower adapter)."""
    layer = rng.choice(_layers(draft))
    draft.retrain(rank=_rank(draft), leaves=_leaves(draft), layers=[layer])
    draft.config["target_modules"] = rf"model\.layers\.{layer}\..*\.(" + "|".join(_leaves(draft)) + ")"


def _regex_missing_layer(draft: LoraDraft, rng: random.Random) -> None:
    """A regex that matches every layer, tensors for one layer only (PEFT leaves the rest unset)."""
    draft.config["target_modules"] = _regex_of(draft, rng)
    draft.retrain(rank=_rank(draft), leaves=_leaves(draft), layers=[rng.choice(_layers(draft))])


def _exclude(value: Callable[[LoraDraft, random.Random], Any]) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        draft.config["exclude_modules"] = value(draft, rng)

    return apply


def _restrict_layers(pattern: str | None) -> Callable[[LoraDraft, random.Random], None]:
    """A valid layers_to_transform adapter: tensors for the listed layer only (list targets)."""

    def apply(draft: LoraDraft, rng: random.Random) -> None:
        layer = rng.choice(_layers(draft))
        draft.retrain(rank=_rank(draft), leaves=_leaves(draft), layers=[layer])
        draft.config["target_modules"] = _leaves(draft)
        draft.config["layers_to_transform"] = [layer]
        draft.config["layers_pattern"] = pattern

    return apply


def _one_layer(*, as_list: bool) -> Callable[[LoraDraft, random.Random], None]:
    """layers_to_transform naming one layer while the tensors cover every layer."""

    def apply(draft: LoraDraft, rng: random.Random) -> None:
        layer = rng.choice(_layers(draft))
        draft.config["layers_to_transform"] = [layer] if as_list else layer

    return apply


def _regex_with_layers(draft: LoraDraft, rng: random.Random) -> None:
    """A regex target and layers_to_transform, tensors for that layer (PEFT refuses the combination)."""
    layer = rng.choice(_layers(draft))
    draft.retrain(rank=_rank(draft), leaves=_leaves(draft), layers=[layer])
    draft.config["target_modules"] = _regex_of(draft, rng)
    draft.config["layers_to_transform"] = [layer]


def _rank_pattern(kind: str) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        rank = _rank(draft)
        leaf = rng.choice(_leaves(draft))
        if kind == "same":
            draft.config["rank_pattern"] = {leaf: rank}
        elif kind == "nomatch":
            draft.config["rank_pattern"] = {"not_a_module": 2 * rank}
        else:  # a module trained at another rank, declared by rank_pattern as PEFT writes it
            other = 2 * rank
            for name in [n for n in draft.tensors if f".{leaf}." in n]:
                del draft.tensors[name]
            for layer in _layers(draft):
                draft.tensors |= draft.lora_pair(leaf, None if leaf in ("lm_head", "embed_tokens") else layer, other)
            draft.config["rank_pattern"] = {leaf: other}

    return apply


def _alpha_pattern(kind: str) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        alpha = draft.config["lora_alpha"]
        leaf = rng.choice(_leaves(draft))
        pattern = {"same": {leaf: alpha}, "other": {leaf: 2 * alpha}, "nomatch": {"not_a_module": 2 * alpha}}
        draft.config["alpha_pattern"] = pattern[kind]

    return apply


def _raw_config(old: str, new: str) -> Callable[[LoraDraft, random.Random], None]:
    """Edit adapter_config.json's text after writing (for what json.dumps cannot write)."""

    def apply(draft: LoraDraft, _rng: random.Random) -> None:
        def edit(folder: Path) -> None:
            path = folder / "adapter_config.json"
            path.write_text(path.read_text().replace(old, new, 1))

        draft.edits.append(edit)

    return apply


def _infinite_alpha(draft: LoraDraft, rng: random.Random) -> None:
    """lora_alpha 1e999: valid JSON that Python's json (PEFT's and vLLM's reader) parses as inf."""
    draft.config["lora_alpha"] = 424242
    _raw_config('"lora_alpha": 424242', '"lora_alpha": 1e999')(draft, rng)


def _bom(draft: LoraDraft, _rng: random.Random) -> None:
    def edit(folder: Path) -> None:
        path = folder / "adapter_config.json"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    draft.edits.append(edit)


def _pick(draft: LoraDraft, rng: random.Random, fragment: str = "") -> str:
    return rng.choice(sorted(name for name in draft.tensors if fragment in name))


def _drop(fragment: str) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        del draft.tensors[_pick(draft, rng, fragment)]

    return apply


def _drop_module(draft: LoraDraft, rng: random.Random) -> None:
    module = rng.choice(draft.modules())
    for name in [n for n in draft.tensors if n.startswith(f"base_model.model.{module}.")]:
        del draft.tensors[name]


def _extra(name: Callable[[LoraDraft, random.Random], str], shape: Callable[[LoraDraft], tuple[int, ...]]) -> Any:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        draft.tensors[name(draft, rng)] = draft.random(shape(draft))

    return apply


def _module_of(draft: LoraDraft, rng: random.Random) -> str:
    return "base_model.model." + rng.choice(draft.modules())


def _eight(_draft: LoraDraft) -> tuple[int, ...]:
    return (8,)


def _layer_out_of_range(draft: LoraDraft, rng: random.Random) -> None:
    """One module's pair moved to layer 7 of a 2-layer base (an adapter of a deeper model)."""
    module = rng.choice([m for m in draft.modules() if ".layers." in m])
    moved = module.replace(".layers.0.", ".layers.7.").replace(".layers.1.", ".layers.7.")
    draft.tensors = {n.replace(f".{module}.", f".{moved}."): t for n, t in draft.tensors.items()}


def _base_layer_weight(draft: LoraDraft, rng: random.Random) -> None:
    """A full weight of the adapted module under its PEFT name (`...q_proj.base_layer.weight`)."""
    module = rng.choice([m for m in draft.modules() if ".layers." in m])
    shape = next(s for path, s in draft.architecture.lora_modules().items() if module.endswith(path))
    draft.tensors[f"base_model.model.{module}.base_layer.weight"] = draft.random(shape.weight, 0.02)


def _lora_b_bias(draft: LoraDraft, rng: random.Random) -> None:
    module = rng.choice(draft.modules())
    out = draft.tensors[f"base_model.model.{module}.lora_B.weight"].values.shape[0]
    draft.tensors[f"base_model.model.{module}.lora_B.bias"] = draft.random((out,))


def _reshape(change: Callable[[tuple[int, ...], str], tuple[int, ...]], fragment: str) -> Any:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        name = _pick(draft, rng, fragment)
        draft.tensors[name] = draft.random(change(draft.tensors[name].values.shape, name))

    return apply


def _smaller_base(draft: LoraDraft, rng: random.Random) -> None:
    """Every tensor of one module shaped for a base of half the width (hidden 32)."""
    module = rng.choice([m for m in draft.modules() if ".layers." in m])
    for name in [n for n in draft.tensors if n.startswith(f"base_model.model.{module}.")]:
        shape = draft.tensors[name].values.shape
        halved = (shape[0], shape[1] // 2) if ".lora_A." in name else (shape[0] // 2, shape[1])
        draft.tensors[name] = draft.random(halved)


def _dtype(dtype: str, every: bool) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        names = list(draft.tensors) if every else [_pick(draft, rng)]
        for name in names:
            tensor = draft.tensors[name]
            values = np.rint(tensor.values * 8) if dtype.startswith("I") else tensor.values
            draft.tensors[name] = Tensor(dtype, values)

    return apply


def _rename(old: str, new: str, every: bool = True) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        chosen = set(draft.tensors) if every else {_pick(draft, rng, old)}
        draft.tensors = {(n.replace(old, new, 1) if n in chosen else n): t for n, t in draft.tensors.items()}

    return apply


def _values(fragment: str, fill: Callable[[np.ndarray], np.ndarray], every: bool = True) -> Any:
    def apply(draft: LoraDraft, rng: random.Random) -> None:
        names = [n for n in draft.tensors if fragment in n] if every else [_pick(draft, rng, fragment)]
        for name in names:
            tensor = draft.tensors[name]
            draft.tensors[name] = Tensor(tensor.dtype, fill(tensor.values.copy()))

    return apply


def _poke(value: float) -> Callable[[np.ndarray], np.ndarray]:
    def fill(values: np.ndarray) -> np.ndarray:
        values.flat[3] = value
        return values

    return fill


def _finite_huge(apply: Callable[[LoraDraft, random.Random], None]) -> Callable[[LoraDraft, random.Random], None]:
    """Values of 1e30 and more are finite in BF16 and F32; F16 would store them as inf."""

    def guarded(draft: LoraDraft, rng: random.Random) -> None:
        if any(t.dtype == "F16" for t in draft.tensors.values()):
            raise ValueError("F16 cannot hold the values finitely")
        apply(draft, rng)

    return guarded


def _embedding_targets(leaf: str) -> Callable[[LoraDraft, random.Random], None]:
    """LoRA on lm_head or embed_tokens, named in target_modules (lists only)."""

    def apply(draft: LoraDraft, _rng: random.Random) -> None:
        draft.tensors |= draft.lora_pair(leaf, None, _rank(draft))
        targets = draft.config["target_modules"]
        draft.config["target_modules"] = [*(targets if isinstance(targets, list) else _leaves(draft)), leaf]

    return apply


def _retrain_rank(rank: int) -> Callable[[LoraDraft, random.Random], None]:
    def apply(draft: LoraDraft, _rng: random.Random) -> None:
        draft.retrain(rank=rank, leaves=_leaves(draft), layers=_layers(draft))
        draft.config.update(r=rank, lora_alpha=2 * rank)

    return apply


def _with_modules_to_save(draft: LoraDraft, _rng: random.Random) -> None:
    draft.config["modules_to_save"] = ["lm_head"]
    architecture = draft.architecture
    draft.tensors["base_model.model.lm_head.weight"] = draft.random((architecture.vocab_size, architecture.hidden_size))


def _with_magnitude(draft: LoraDraft, _rng: random.Random) -> None:
    draft.config["use_dora"] = True
    for module in draft.modules():
        out = draft.tensors[f"base_model.model.{module}.lora_B.weight"].values.shape[0]
        draft.tensors[f"base_model.model.{module}.lora_magnitude_vector"] = Tensor(draft.dtype, np.ones(out))


LORA_MUTATIONS: tuple[Mutation, ...] = (
    # -- rank and alpha ------------------------------------------------------------------------
    Mutation("config.r.mismatch", lambda d, _rng: d.config.update(r=16 if d.config["r"] == 8 else 8)),
    Mutation("retrain.rank.4", _retrain_rank(4)),
    Mutation("retrain.rank.12", _retrain_rank(12)),
    Mutation("retrain.rank.32", _retrain_rank(32)),
    Mutation("retrain.rank.128", _retrain_rank(128)),
    Mutation("config.r.string", lambda d, _rng: d.config.update(r=str(d.config["r"]))),
    Mutation("config.r.float", lambda d, _rng: d.config.update(r=float(d.config["r"]))),
    Mutation("config.r.bool", _set(r=True)),
    Mutation("config.lora_alpha.float", lambda d, _rng: d.config.update(lora_alpha=d.config["lora_alpha"] + 0.5)),
    Mutation("config.lora_alpha.zero", _set(lora_alpha=0)),
    Mutation("config.lora_alpha.negative", lambda d, _rng: d.config.update(lora_alpha=-d.config["lora_alpha"])),
    Mutation("config.lora_alpha.bool", _set(lora_alpha=True)),
    Mutation("config.lora_alpha.string", lambda d, _rng: d.config.update(lora_alpha=str(d.config["lora_alpha"]))),
    Mutation("config.lora_alpha.inf", _infinite_alpha),
    Mutation("config.lora_alpha.huge", _set(lora_alpha=10**6)),
    Mutation("config.use_rslora", _set(use_rslora=True)),
    Mutation("config.use_rslora.string", _set(use_rslora="yes")),
    Mutation("config.rank_pattern.same", _rank_pattern("same")),
    Mutation("config.rank_pattern.other", _rank_pattern("other")),
    Mutation("config.rank_pattern.nomatch", _rank_pattern("nomatch")),
    Mutation("config.rank_pattern.list", _set(rank_pattern=[8])),
    Mutation("config.alpha_pattern.same", _alpha_pattern("same")),
    Mutation("config.alpha_pattern.other", _alpha_pattern("other")),
    Mutation("config.alpha_pattern.nomatch", _alpha_pattern("nomatch")),
    # -- target_modules, exclude_modules, layers ------------------------------------------------
    Mutation("targets.list", _targets(lambda d, _rng: _leaves(d))),
    Mutation("targets.paths", _targets(lambda d, _rng: sorted({m.split(".", 3)[-1] for m in d.modules()}))),
    Mutation("targets.regex", _targets(_regex_of)),
    Mutation("targets.regex.unanchored", _targets(lambda d, _rng: "|".join(_leaves(d)))),
    Mutation("targets.regex.invalid", _set(target_modules="(q_proj")),
    Mutation("targets.regex.one_layer", _regex_one_layer),
    Mutation("targets.regex.missing_layer", _regex_missing_layer),
    Mutation("targets.all_linear", _retrain_all_linear),
    Mutation("targets.all_linear.partial", _all_linear_partial),
    Mutation("targets.extra_without_tensors", _add_target_without_tensors),
    Mutation("targets.drop_one", _targets(lambda d, _rng: _leaves(d)[1:] or ["lm_head"])),
    Mutation("targets.unknown_name", _targets(lambda d, _rng: [*_leaves(d), "not_a_module"])),
    Mutation("targets.null", _set(target_modules=None)),
    Mutation("targets.empty", _set(target_modules=[])),
    Mutation("targets.integer", _set(target_modules=5)),
    Mutation("targets.lm_head", _embedding_targets("lm_head")),
    Mutation("targets.embed_tokens", _embedding_targets("embed_tokens")),
    Mutation("tensors.untargeted_module", _add_untargeted_module),
    Mutation("config.exclude_modules.targeted", _exclude(lambda d, rng: [rng.choice(_leaves(d))])),
    Mutation("config.exclude_modules.layer_regex", _exclude(lambda _d, rng: rf".*\.layers\.{rng.choice((0, 1))}\..*")),
    Mutation("config.exclude_modules.nomatch", _exclude(lambda _d, _rng: "not_a_module")),
    Mutation("config.exclude_modules.empty", _exclude(lambda _d, _rng: [])),
    Mutation("config.layers_to_transform.valid", _restrict_layers(None)),
    Mutation("config.layers_to_transform.pattern", _restrict_layers("layers")),
    Mutation("config.layers_to_transform.bad_pattern", _restrict_layers("blocks")),
    Mutation("config.layers_to_transform.one_of_all", _one_layer(as_list=True)),
    Mutation("config.layers_to_transform.int", _one_layer(as_list=False)),
    Mutation("config.layers_to_transform.empty", _set(layers_to_transform=[])),
    Mutation("config.layers_to_transform.string", _set(layers_to_transform="0")),
    Mutation("config.layers_to_transform.with_regex", _regex_with_layers),
    Mutation("config.layers_pattern.alone", _set(layers_pattern="layers")),
    # -- what PEFT writes beside them ------------------------------------------------------------
    Mutation("config.bias.all", _set(bias="all")),
    Mutation("config.bias.lora_only", _set(bias="lora_only")),
    Mutation("config.bias.unknown", _set(bias="some")),
    Mutation("config.lora_bias", _set(lora_bias=True)),
    Mutation("config.use_dora", _set(use_dora=True)),
    Mutation("config.use_dora.with_magnitudes", _with_magnitude),
    Mutation("config.use_dora.string_false", _set(use_dora="false")),
    Mutation("config.modules_to_save.lm_head", _set(modules_to_save=["lm_head"])),
    Mutation("config.modules_to_save.with_weight", _with_modules_to_save),
    Mutation("config.modules_to_save.empty", _set(modules_to_save=[])),
    Mutation("config.fan_in_fan_out", _set(fan_in_fan_out=True)),
    Mutation("config.init_lora_weights.false", _set(init_lora_weights=False)),
    Mutation("config.init_lora_weights.gaussian", _set(init_lora_weights="gaussian")),
    Mutation("config.init_lora_weights.orthogonal", _set(init_lora_weights="orthogonal")),
    Mutation("config.init_lora_weights.eva", _set(init_lora_weights="eva")),
    Mutation("config.init_lora_weights.pissa", _set(init_lora_weights="pissa")),
    Mutation("config.init_lora_weights.olora", _set(init_lora_weights="olora")),
    Mutation("config.init_lora_weights.loftq", _set(init_lora_weights="loftq")),
    Mutation("config.init_lora_weights.unknown", _set(init_lora_weights="kaiming")),
    Mutation("config.task_type.none", _set(task_type=None)),
    Mutation("config.task_type.seq_cls", _set(task_type="SEQ_CLS")),
    Mutation("config.task_type.feature_extraction", _set(task_type="FEATURE_EXTRACTION")),
    Mutation("config.task_type.unknown", _set(task_type="CHAT")),
    Mutation("config.base_model.other_family", _set(base_model_name_or_path="meta-llama/Llama-3.1-8B")),
    Mutation("config.base_model.none", _set(base_model_name_or_path=None)),
    Mutation("config.base_model.local_path", _set(base_model_name_or_path="/home/me/checkpoints/base")),
    Mutation("config.inference_mode.false", _set(inference_mode=False)),
    Mutation("config.revision", _set(revision="main")),
    Mutation("config.peft_version.future", _set(peft_version="9.0.0")),
    Mutation("config.lora_dropout.zero", _set(lora_dropout=0.0)),
    Mutation("config.lora_dropout.string", _set(lora_dropout="0.1")),
    Mutation("config.peft_type.loha", _set(peft_type="LOHA")),
    Mutation("config.peft_type.missing", lambda d, _rng: d.config.pop("peft_type")),
    Mutation("config.unknown_key", _set(use_magic_scaling=True)),
    Mutation("config.bom", _bom),
    # -- PEFT variants behind config objects ----------------------------------------------------
    Mutation("config.kasa_config.empty", _set(kasa_config={})),
    Mutation("config.velora_config.empty", _set(velora_config={})),
    Mutation("config.monteclora_config.empty", _set(monteclora_config={})),
    Mutation("config.arrow_config.empty", _set(arrow_config={})),
    Mutation("config.use_bdlora.empty", _set(use_bdlora={})),
    Mutation("config.eva_config.empty", _set(eva_config={})),
    Mutation("config.lora_ga_config.empty", _set(lora_ga_config={})),
    Mutation("config.megatron_config.empty", _set(megatron_config={})),
    Mutation("config.alora_invocation_tokens", _set(alora_invocation_tokens=[17, 101])),
    Mutation("config.trainable_token_indices", _set(trainable_token_indices=[5, 6])),
    Mutation("config.ensure_weight_tying", _set(ensure_weight_tying=True)),
    # -- tensors ---------------------------------------------------------------------------------
    Mutation("tensors.drop_lora_A", _drop(".lora_A.")),
    Mutation("tensors.drop_lora_B", _drop(".lora_B.")),
    Mutation("tensors.drop_module", _drop_module),
    Mutation("tensors.extra_bias", _lora_b_bias),
    Mutation("tensors.extra_base_layer", _base_layer_weight),
    Mutation("tensors.extra_lm_head_weight", _extra(lambda d, _rng: "base_model.model.lm_head.weight",
                                                    lambda d: (d.architecture.vocab_size, d.architecture.hidden_size))),
    Mutation("tensors.extra_magnitude", _extra(lambda d, rng: _module_of(d, rng) + ".lora_magnitude_vector", _eight)),
    Mutation("tensors.extra_unrelated", _extra(lambda _d, _rng: "base_model.model.score.weight", lambda d: (2, 64))),
    Mutation("tensors.layer_out_of_range", _layer_out_of_range),
    Mutation("tensors.transpose_A", _reshape(lambda shape, _name: (shape[1], shape[0]), ".lora_A.")),
    Mutation("tensors.half_rows_B", _reshape(lambda shape, _name: (shape[0] // 2, shape[1]), ".lora_B.")),
    Mutation("tensors.rank_plus_one_A", _reshape(lambda shape, _name: (shape[0] + 1, shape[1]), ".lora_A.")),
    Mutation("tensors.one_dimensional", _reshape(lambda shape, _name: (shape[0] * shape[1],), ".lora_B.")),
    Mutation("tensors.smaller_base", _smaller_base),
    Mutation("tensors.dtype.one_bf16", _dtype("BF16", every=False)),
    Mutation("tensors.dtype.one_f16", _dtype("F16", every=False)),
    Mutation("tensors.dtype.f64", _dtype("F64", every=True)),
    Mutation("tensors.dtype.i32", _dtype("I32", every=False)),
    Mutation("tensors.prefix.missing", _rename("base_model.model.", "")),
    Mutation("tensors.prefix.base_model_only", _rename("base_model.model.", "base_model.")),
    Mutation("tensors.prefix.doubled", _rename("base_model.model.", "base_model.model.model.")),
    Mutation("tensors.adapter_name.default", _rename(".weight", ".default.weight")),
    Mutation("tensors.adapter_name.other", _rename(".weight", ".other.weight", every=False)),
    Mutation("tensors.layer_index.leading_zero", _rename(".layers.1.", ".layers.01.", every=False)),
    Mutation("tensors.zeros.all_B", _values(".lora_B", np.zeros_like)),
    Mutation("tensors.zeros.all_A", _values(".lora_A", np.zeros_like)),
    Mutation("tensors.zeros.one_B", _values(".lora_B", np.zeros_like, every=False)),
    Mutation("tensors.nan", _values("", _poke(float("nan")), every=False)),
    Mutation("tensors.inf", _values("", _poke(float("inf")), every=False)),
    Mutation("tensors.huge", _finite_huge(_values(".lora_B", lambda v: v * 1e30))),
    Mutation("tensors.large", _values(".lora_B", lambda v: v * 1e3)),
    Mutation("tensors.metadata.none", lambda d, _rng: setattr(d, "metadata", None)),
    Mutation("tensors.metadata.other_format", lambda d, _rng: setattr(d, "metadata", {"format": "mlx"})),
)  # fmt: skip

LORA_BY_NAME = {mutation.name: mutation for mutation in LORA_MUTATIONS}
assert len(LORA_BY_NAME) == len(LORA_MUTATIONS), "mutation names must be unique"
