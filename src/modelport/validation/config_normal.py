"""config.json in the form transformers 5 turns it into before any model code reads it.

Two configs that load the same must compare equal however they were written: the Hub's Qwen files
say `torch_dtype`, `rope_theta` and `rope_scaling`; transformers 5 writes `dtype`, `rope_parameters`
and an explicit `layer_types`. This module mirrors the normalisations of `PreTrainedConfig` and the
Qwen config classes (cited below), so the rules compare values, not spellings. Pure and total: it
never raises, whatever the dict holds (the base's config is operator input too).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from modelport.catalog.config_fields import MAX_LAYERS

# RotaryEmbeddingConfigMixin.default_theta (T modeling_rope_utils.py#L739) and the VL text overrides.
_DEFAULT_THETA: Final[Mapping[str, float]] = {
    "Qwen2_5_VLTextConfig": 1000000.0,  # T configuration_qwen2_5_vl.py#L91
    "Qwen3VLTextConfig": 500000.0,  # T configuration_qwen3_vl.py#L81
}
_THETA = 10000.0
_DTYPE_ALIASES: Final[Mapping[str, str]] = {"half": "float16", "float": "float32"}
_SAFETENSORS_DTYPE: Final[Mapping[str, str]] = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}
# Qwen2 reads head_dim with getattr(config, "head_dim", hidden_size // num_attention_heads).
_DERIVED_HEAD_DIM: Final = frozenset({"Qwen2Config", "Qwen2_5_VLTextConfig"})
_SLIDING: Final = frozenset({"Qwen2Config", "Qwen3Config", "Qwen2_5_VLTextConfig"})
_MROPE_TO_DEFAULT: Final = frozenset({"Qwen2_5_VLTextConfig"})


def effective_text(section: Mapping[str, Any], config_class: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The values a text config class ends up with: its defaults, overlaid by the section, normalised."""
    values: dict[str, Any] = {**copy.deepcopy(dict(defaults)), **section}
    heads, hidden = values.get("num_attention_heads"), values.get("hidden_size")
    if values.get("num_key_value_heads") is None:  # T configuration_qwen3.py#L88-89
        values["num_key_value_heads"] = heads
    if config_class in _DERIVED_HEAD_DIM and "head_dim" not in section and _positive(hidden) and _positive(heads):
        values["head_dim"] = hidden // heads
    if config_class in _SLIDING:
        # T configuration_qwen3.py#L87-97: the window only exists while use_sliding_window is true, and
        # layer_types is derived from it when absent.
        window = values.get("sliding_window") if values.get("use_sliding_window") else None
        values["sliding_window"] = window
        layers, first_sliding = values.get("num_hidden_layers"), values.get("max_window_layers")
        if section.get("layer_types") is None and _positive(layers) and layers <= MAX_LAYERS:
            values["layer_types"] = [
                "sliding_attention" if window is not None and isinstance(first_sliding, int) and i >= first_sliding
                else "full_attention"
                for i in range(layers)
            ]  # fmt: skip
    values["rope_parameters"] = effective_rope(section, config_class)
    values["dtype"] = effective_dtype(section)
    return values


def effective_rope(section: Mapping[str, Any], config_class: str) -> Any:
    """rope_parameters after convert_rope_params_to_dict and standardize_rope_params
    (T modeling_rope_utils.py#L752-843; Qwen2.5-VL's own version, configuration_qwen2_5_vl.py#L150-157)."""
    chosen = section.get("rope_scaling") or section.get("rope_parameters")
    if chosen is not None and not isinstance(chosen, dict):
        return chosen  # not something transformers can load; compared as written
    rope: dict[str, Any] = copy.deepcopy(chosen) if chosen else {}
    rope.setdefault("rope_theta", section.get("rope_theta", _DEFAULT_THETA.get(config_class, _THETA)))
    legacy = rope.pop("type", None)
    rope.setdefault("rope_type", legacy if legacy is not None else "default")
    if config_class in _MROPE_TO_DEFAULT and (rope["rope_type"] == "mrope" or legacy == "mrope"):
        rope["rope_type"] = "default"
    # vLLM refuses a legacy type that contradicts rope_type (V transformers_utils/config.py#L572-585);
    # keeping it makes such a config differ from any base.
    if legacy is not None and legacy != rope["rope_type"] and legacy != "mrope":
        rope["type"] = legacy
    return rope


def effective_vision(section: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {**copy.deepcopy(dict(defaults)), **section}
    if "num_attention_heads" in section:  # attribute_map: it is written through to num_heads
        values["num_heads"] = section["num_attention_heads"]
    chosen = section.get("rope_parameters")
    if isinstance(chosen, dict) or chosen is None:
        rope: dict[str, Any] = copy.deepcopy(chosen) if chosen else {}
        rope.setdefault("rope_theta", _THETA)
        legacy = rope.pop("type", None)
        rope.setdefault("rope_type", legacy if legacy is not None else "default")
        if rope["rope_type"] == "default":  # default_rope_type = "axial" (T configuration_qwen2_5_vl.py#L50)
            rope["rope_type"] = "axial"
        values["rope_parameters"] = rope
    values["dtype"] = effective_dtype(section)
    return values


def effective_dtype(section: Mapping[str, Any]) -> str | None:
    """dtype wins over the legacy torch_dtype when both are set (T configuration_utils.py#L317-325)."""
    raw = section.get("dtype")
    if raw is None:
        raw = section.get("torch_dtype")
    return _DTYPE_ALIASES.get(raw, raw) if isinstance(raw, str) else None


def declared_dtypes(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, normalised name) of each dtype the section declares."""
    return [
        (key, _DTYPE_ALIASES.get(value, value))
        for key in ("dtype", "torch_dtype")
        if isinstance(value := section.get(key), str)
    ]


def safetensors_dtype(dtype: str | None) -> str | None:
    return _SAFETENSORS_DTYPE.get(dtype) if dtype is not None else None


def effective_tie(top: Mapping[str, Any], text: Mapping[str, Any] | None) -> bool:
    """Whether lm_head is tied: Qwen2.5-VL lifts a true text_config value to the top
    (T configuration_qwen2_5_vl.py#L212), and vLLM's Qwen3-VL reads text_config's (V qwen3_vl.py#L1921)."""
    return top.get("tie_word_embeddings") is True or (text is not None and text.get("tie_word_embeddings") is True)


def _positive(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
