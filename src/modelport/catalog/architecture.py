"""The exact architecture of a Qwen base model, derived from its Hugging Face config.json.

Owns the arithmetic that turns a config dict into weight shapes: the per-layer LoRA module shapes,
the full-checkpoint tensor manifest for every key layout we accept, and the config values that
decide how weights load. The vision tower of VL bases lives in `vision`, the typed config reads
in `config_fields`. Pure: no file or network I/O, no model code, and nothing in the dict is
trusted; every field read is type- and range-checked and a bad one raises `ArchitectureError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from modelport.catalog.config_fields import MAX_LAYERS, ArchitectureError, Fields, Shape, section, show
from modelport.catalog.vision import VisionTower, read_vision

__all__ = ["LAYER_MODULES", "Architecture", "ArchitectureError", "LinearShape", "Shape", "VisionTower"]

# vLLM picks the model class from `architectures`, so it must agree with `model_type`.
_ARCHITECTURE_BY_MODEL_TYPE: Final[Mapping[str, str]] = {
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
}
_QWEN3_FAMILY: Final = frozenset({"qwen3", "qwen3_vl"})

# (layout name, text decoder prefix, vision tower prefix), most current layout first.
# Qwen2.5-VL checkpoints saved by transformers >= 4.52 nest the decoder under model.language_model;
# the original Hub layout keeps it at model. with the tower at visual. (vLLM maps both).
_LAYOUTS: Final[Mapping[str, tuple[tuple[str, str, str | None], ...]]] = {
    "qwen2": (("hf", "model.", None),),
    "qwen3": (("hf", "model.", None),),
    "qwen3_vl": (("hf", "model.language_model.", "model.visual."),),
    "qwen2_5_vl": (
        ("hf>=4.52", "model.language_model.", "model.visual."),
        ("original", "model.", "visual."),
    ),
}

# transformers' Qwen3Config / Qwen3VLTextConfig default head_dim when the key is absent.
_QWEN3_DEFAULT_HEAD_DIM: Final = 128

LAYER_MODULES: Final = (
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
)


@dataclass(frozen=True)
class LinearShape:
    in_features: int
    out_features: int

    @property
    def weight(self) -> Shape:
        """nn.Linear stores its weight as [out, in]."""
        return (self.out_features, self.in_features)


@dataclass(frozen=True)
class Architecture:
    model_type: str  # "qwen2" | "qwen3" | "qwen2_5_vl" | "qwen3_vl"
    architectures: tuple[str, ...]
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool
    attention_bias: bool  # q/k/v bias (Qwen2/2.5); o_proj never has one
    qk_norm: bool  # per-head RMSNorm on q and k (Qwen3)
    vision: VisionTower | None

    @property
    def is_vision_language(self) -> bool:
        return self.vision is not None

    def lora_modules(self) -> dict[str, LinearShape]:
        """LoRA-targetable linears of one decoder layer, keyed by their path inside the layer."""
        h, i = self.hidden_size, self.intermediate_size
        q_out = self.num_attention_heads * self.head_dim
        kv_out = self.num_key_value_heads * self.head_dim
        return {
            "self_attn.q_proj": LinearShape(h, q_out),
            "self_attn.k_proj": LinearShape(h, kv_out),
            "self_attn.v_proj": LinearShape(h, kv_out),
            "self_attn.o_proj": LinearShape(q_out, h),
            "mlp.gate_proj": LinearShape(h, i),
            "mlp.up_proj": LinearShape(h, i),
            "mlp.down_proj": LinearShape(i, h),
        }

    def lora_top_level(self) -> dict[str, LinearShape]:
        """The output head and the embedding (an Embedding: in = vocab rows, out = hidden width)."""
        return {
            "lm_head": LinearShape(self.hidden_size, self.vocab_size),
            "embed_tokens": LinearShape(self.vocab_size, self.hidden_size),
        }

    def text_prefixes(self) -> tuple[str, ...]:
        """Module-path prefixes of the decoder inside the HF model, most current first."""
        prefixes: list[str] = []
        for _, text, _ in _LAYOUTS[self.model_type]:
            if text not in prefixes:
                prefixes.append(text)
        return tuple(prefixes)

    def full_layouts(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in _LAYOUTS[self.model_type])

    def expected_tensors(self, layout: str) -> dict[str, Shape]:
        """The exact full-checkpoint manifest (tensor name -> shape) for one key layout."""
        for name, text_prefix, vision_prefix in _LAYOUTS[self.model_type]:
            if name == layout:
                tensors = self._text_tensors(text_prefix)
                if self.vision is not None and vision_prefix is not None:
                    tensors |= self.vision.tensors(vision_prefix)
                return tensors
        raise ValueError(
            f"Layout {layout!r} is not one of {', '.join(self.full_layouts())} for model_type {self.model_type}."
        )

    def parameter_count(self) -> int:
        return sum(math.prod(shape) for shape in self.expected_tensors(self.full_layouts()[0]).values())

    def loading_fields(self) -> dict[str, object]:
        """Config values that change how weights load, flat, for comparing two configs."""
        fields: dict[str, object] = {
            "architectures": self.architectures,
            "model_type": self.model_type,
            "text.hidden_size": self.hidden_size,
            "text.intermediate_size": self.intermediate_size,
            "text.num_hidden_layers": self.num_hidden_layers,
            "text.num_attention_heads": self.num_attention_heads,
            "text.num_key_value_heads": self.num_key_value_heads,
            "text.head_dim": self.head_dim,
            "text.vocab_size": self.vocab_size,
            "text.attention_bias": self.attention_bias,
            "text.qk_norm": self.qk_norm,
            "tie_word_embeddings": self.tie_word_embeddings,
        }
        if self.vision is not None:
            fields |= self.vision.loading_fields()
        return fields

    def _text_tensors(self, prefix: str) -> dict[str, Shape]:
        h, v, hd = self.hidden_size, self.vocab_size, self.head_dim
        modules = self.lora_modules()
        out: dict[str, Shape] = {f"{prefix}embed_tokens.weight": (v, h)}
        for n in range(self.num_hidden_layers):
            layer = f"{prefix}layers.{n}."
            out[f"{layer}input_layernorm.weight"] = (h,)
            out[f"{layer}post_attention_layernorm.weight"] = (h,)
            for path, linear in modules.items():
                out[f"{layer}{path}.weight"] = linear.weight
            if self.attention_bias:
                for proj in ("q_proj", "k_proj", "v_proj"):
                    out[f"{layer}self_attn.{proj}.bias"] = (modules[f"self_attn.{proj}"].out_features,)
            if self.qk_norm:
                out[f"{layer}self_attn.q_norm.weight"] = (hd,)
                out[f"{layer}self_attn.k_norm.weight"] = (hd,)
        out[f"{prefix}norm.weight"] = (h,)
        # A tied head reuses embed_tokens; loaders skip (vLLM) or ignore a shipped lm_head.weight.
        if not self.tie_word_embeddings:
            out["lm_head.weight"] = (v, h)
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Architecture:
        """Derive the architecture from a parsed config.json; raises ArchitectureError if unsupported."""
        if not isinstance(config, Mapping):
            raise ArchitectureError(f"config.json must be a JSON object; found {type(config).__name__}.")
        model_type = _read_model_type(config)
        architectures = _read_architectures(config, model_type)
        text = _text_fields(config, model_type)
        hidden = text.integer("hidden_size")
        heads = text.integer("num_attention_heads")
        # transformers treats an absent or null num_key_value_heads as plain multi-head attention.
        kv_found = text.find("num_key_value_heads")
        kv_heads = heads if kv_found is None or kv_found[1] is None else text.integer("num_key_value_heads")
        if heads % kv_heads:
            raise ArchitectureError(
                f"config.json num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv_heads})."
            )
        qwen3 = model_type in _QWEN3_FAMILY
        if qwen3 and text.flag("attention_bias", False):
            raise ArchitectureError(
                f"config.json sets attention_bias to true, but no supported {model_type} base has "
                "attention biases; expected false."
            )
        return cls(
            model_type=model_type,
            architectures=architectures,
            hidden_size=hidden,
            intermediate_size=text.integer("intermediate_size"),
            num_hidden_layers=text.integer("num_hidden_layers", cap=MAX_LAYERS),
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            head_dim=_read_head_dim(text, qwen3, hidden, heads),
            vocab_size=text.integer("vocab_size"),
            tie_word_embeddings=_read_tie(config, model_type),
            attention_bias=not qwen3,
            qk_norm=qwen3,
            vision=read_vision(config, model_type, hidden),
        )


def _read_model_type(config: Mapping[str, Any]) -> str:
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in _ARCHITECTURE_BY_MODEL_TYPE:
        supported = ", ".join(sorted(_ARCHITECTURE_BY_MODEL_TYPE))
        raise ArchitectureError(f"config.json field model_type must be one of {supported}; found {show(model_type)}.")
    return model_type


def _read_architectures(config: Mapping[str, Any], model_type: str) -> tuple[str, ...]:
    expected = [_ARCHITECTURE_BY_MODEL_TYPE[model_type]]
    value = config.get("architectures")
    if value != expected:
        raise ArchitectureError(
            f"config.json field architectures must be {expected} for model_type {model_type}; found {show(value)}."
        )
    return tuple(expected)


def _text_fields(config: Mapping[str, Any], model_type: str) -> Fields:
    if model_type == "qwen3_vl":
        text_config = section(config, "text_config", required=True)
        assert text_config is not None
        return Fields(("text_config.", text_config))
    if model_type == "qwen2_5_vl":
        # Original Qwen2.5-VL configs are flat; newer transformers also write a text_config.
        text_config = section(config, "text_config", required=False)
        if text_config is not None:
            return Fields(("text_config.", text_config), ("", config))
    return Fields(("", config))


def _read_head_dim(text: Fields, qwen3: bool, hidden: int, heads: int) -> int:
    if qwen3:
        # Qwen3 sets head_dim explicitly (128), and it need not equal hidden // heads (32B, 4B).
        return text.integer("head_dim", _QWEN3_DEFAULT_HEAD_DIM)
    if text.find("head_dim") is not None:
        return text.integer("head_dim")
    if hidden % heads:
        raise ArchitectureError(
            f"config.json hidden_size ({hidden}) must be a multiple of num_attention_heads ({heads}) "
            "when head_dim is not set."
        )
    return hidden // heads


def _read_tie(config: Mapping[str, Any], model_type: str) -> bool:
    # Newer transformers may put the flag only inside text_config; read both places. All four
    # Qwen config classes default it to false.
    sections: list[tuple[str, Mapping[str, Any]]] = [("", config)]
    if model_type in ("qwen2_5_vl", "qwen3_vl"):
        text_config = section(config, "text_config", required=False)
        if text_config is not None:
            sections.append(("text_config.", text_config))
    return Fields(*sections).flag("tie_word_embeddings", False)
