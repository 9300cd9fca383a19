"""The exact architecture of a Qwen base model, derived from its Hugging Face config.json.

Owns the arithmetic that turns a config dict into weight shapes: the per-layer LoRA module shapes,
the full-checkpoint tensor manifest for every key layout we accept, and the config values that
decide how weights load. Pure: no file or network I/O, no model code, and nothing in the dict is
trusted; every field read is type- and range-checked and a bad one raises `ArchitectureError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

Shape = tuple[int, ...]

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

# Caps keep a hostile uploaded config from making us build a manifest of billions of entries.
_MAX_DIM: Final = 1 << 20
_MAX_LAYERS: Final = 1024
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


class ArchitectureError(ValueError):
    """A config.json that does not describe a supported Qwen architecture."""


@dataclass(frozen=True)
class LinearShape:
    in_features: int
    out_features: int

    @property
    def weight(self) -> Shape:
        """nn.Linear stores its weight as [out, in]."""
        return (self.out_features, self.in_features)


class _Fields:
    """Typed reads from one or more config sections that may each hold a key.

    Qwen2.5-VL configs written by newer transformers repeat the text fields inside text_config;
    a key found in two sections must agree, or the file is ambiguous about what loads.
    """

    def __init__(self, *sections: tuple[str, Mapping[str, Any]]) -> None:
        self._sections = sections

    def find(self, key: str) -> tuple[str, Any] | None:
        """(qualified name, raw value) of `key`, or None when no section holds it."""
        found: tuple[str, Any] | None = None
        for prefix, section in self._sections:
            if key not in section:
                continue
            if found is None:
                found = (prefix + key, section[key])
            elif found[1] != section[key]:
                raise ArchitectureError(
                    f"config.json sets {found[0]} to {_show(found[1])} but {prefix + key} to "
                    f"{_show(section[key])}; the two must agree."
                )
        return found

    def integer(self, key: str, default: int | None = None, *, cap: int = _MAX_DIM) -> int:
        found = self.find(key)
        if found is None:
            if default is None:
                raise ArchitectureError(f"config.json has no {self._where(key)}; it is required.")
            return default
        name, value = found
        if type(value) is not int or not 1 <= value <= cap:
            raise ArchitectureError(
                f"config.json field {name} must be an integer from 1 to {cap}; found {_show(value)}."
            )
        return value

    def flag(self, key: str, default: bool) -> bool:
        found = self.find(key)
        if found is None:
            return default
        name, value = found
        if not isinstance(value, bool):
            raise ArchitectureError(f"config.json field {name} must be true or false; found {_show(value)}.")
        return value

    def integer_list(self, key: str, *, below: int) -> tuple[int, ...]:
        found = self.find(key)
        if found is None:
            raise ArchitectureError(f"config.json has no {self._where(key)}; it is required.")
        name, value = found
        ok = isinstance(value, list) and all(type(i) is int and 0 <= i < below for i in value)
        if not ok or len(set(value)) != len(value):
            raise ArchitectureError(
                f"config.json field {name} must be a list of distinct integers from 0 to {below - 1}; "
                f"found {_show(value)}."
            )
        return tuple(value)

    def _where(self, key: str) -> str:
        return " or ".join(prefix + key for prefix, _ in self._sections) or key


def _show(value: object) -> str:
    """A bounded rendering of an untrusted value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class VisionTower:
    kind: str  # "qwen2_5_vl" | "qwen3_vl"
    depth: int
    hidden_size: int
    intermediate_size: int
    num_heads: int
    patch_size: int
    temporal_patch_size: int
    in_channels: int
    spatial_merge_size: int
    out_hidden_size: int
    num_position_embeddings: int | None = None  # qwen3_vl only
    deepstack_visual_indexes: tuple[int, ...] = ()  # qwen3_vl only

    @property
    def merged_size(self) -> int:
        """Width after the merger concatenates a spatial_merge_size² patch group."""
        return self.hidden_size * self.spatial_merge_size**2

    def tensors(self, prefix: str) -> dict[str, Shape]:
        """The tower's full-checkpoint tensors under `prefix` ("visual." or "model.visual.")."""
        if self.kind == "qwen2_5_vl":
            return self._qwen2_5_vl_tensors(prefix)
        return self._qwen3_vl_tensors(prefix)

    def loading_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "vision.depth": self.depth,
            "vision.hidden_size": self.hidden_size,
            "vision.intermediate_size": self.intermediate_size,
            "vision.num_heads": self.num_heads,
            "vision.patch_size": self.patch_size,
            "vision.temporal_patch_size": self.temporal_patch_size,
            "vision.in_channels": self.in_channels,
            "vision.spatial_merge_size": self.spatial_merge_size,
            "vision.out_hidden_size": self.out_hidden_size,
        }
        if self.kind == "qwen3_vl":
            fields["vision.num_position_embeddings"] = self.num_position_embeddings
            fields["vision.deepstack_visual_indexes"] = self.deepstack_visual_indexes
        return fields

    def _patch_embed(self) -> Shape:
        p = self.patch_size
        return (self.hidden_size, self.in_channels, self.temporal_patch_size, p, p)

    def _qwen2_5_vl_tensors(self, prefix: str) -> dict[str, Shape]:
        h, i, m, o = self.hidden_size, self.intermediate_size, self.merged_size, self.out_hidden_size
        # Conv3d without bias; RMSNorm blocks (weight only); SwiGLU MLP with biases.
        out: dict[str, Shape] = {f"{prefix}patch_embed.proj.weight": self._patch_embed()}
        for b in range(self.depth):
            block = f"{prefix}blocks.{b}."
            out |= {
                f"{block}norm1.weight": (h,),
                f"{block}norm2.weight": (h,),
                f"{block}attn.qkv.weight": (3 * h, h),
                f"{block}attn.qkv.bias": (3 * h,),
                f"{block}attn.proj.weight": (h, h),
                f"{block}attn.proj.bias": (h,),
                f"{block}mlp.gate_proj.weight": (i, h),
                f"{block}mlp.gate_proj.bias": (i,),
                f"{block}mlp.up_proj.weight": (i, h),
                f"{block}mlp.up_proj.bias": (i,),
                f"{block}mlp.down_proj.weight": (h, i),
                f"{block}mlp.down_proj.bias": (h,),
            }
        out |= {
            f"{prefix}merger.ln_q.weight": (h,),
            f"{prefix}merger.mlp.0.weight": (m, m),
            f"{prefix}merger.mlp.0.bias": (m,),
            f"{prefix}merger.mlp.2.weight": (o, m),
            f"{prefix}merger.mlp.2.bias": (o,),
        }
        return out

    def _qwen3_vl_tensors(self, prefix: str) -> dict[str, Shape]:
        h, i, m, o = self.hidden_size, self.intermediate_size, self.merged_size, self.out_hidden_size
        assert self.num_position_embeddings is not None  # guaranteed by _read_vision
        # Conv3d with bias, learned position table, LayerNorm blocks (weight and bias), GELU MLP.
        out: dict[str, Shape] = {
            f"{prefix}patch_embed.proj.weight": self._patch_embed(),
            f"{prefix}patch_embed.proj.bias": (h,),
            f"{prefix}pos_embed.weight": (self.num_position_embeddings, h),
        }
        for b in range(self.depth):
            block = f"{prefix}blocks.{b}."
            out |= {
                f"{block}norm1.weight": (h,),
                f"{block}norm1.bias": (h,),
                f"{block}norm2.weight": (h,),
                f"{block}norm2.bias": (h,),
                f"{block}attn.qkv.weight": (3 * h, h),
                f"{block}attn.qkv.bias": (3 * h,),
                f"{block}attn.proj.weight": (h, h),
                f"{block}attn.proj.bias": (h,),
                f"{block}mlp.linear_fc1.weight": (i, h),
                f"{block}mlp.linear_fc1.bias": (i,),
                f"{block}mlp.linear_fc2.weight": (h, i),
                f"{block}mlp.linear_fc2.bias": (h,),
            }
        # The main merger normalises before the patch shuffle (width h); the deepstack mergers after
        # it (width m), which is why their norm shapes differ.
        out |= _merger(f"{prefix}merger.", norm=h, merged=m, out=o)
        for k in range(len(self.deepstack_visual_indexes)):
            out |= _merger(f"{prefix}deepstack_merger_list.{k}.", norm=m, merged=m, out=o)
        return out


def _merger(prefix: str, *, norm: int, merged: int, out: int) -> dict[str, Shape]:
    return {
        f"{prefix}norm.weight": (norm,),
        f"{prefix}norm.bias": (norm,),
        f"{prefix}linear_fc1.weight": (merged, merged),
        f"{prefix}linear_fc1.bias": (merged,),
        f"{prefix}linear_fc2.weight": (out, merged),
        f"{prefix}linear_fc2.bias": (out,),
    }


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
            num_hidden_layers=text.integer("num_hidden_layers", cap=_MAX_LAYERS),
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            head_dim=_read_head_dim(text, qwen3, hidden, heads),
            vocab_size=text.integer("vocab_size"),
            tie_word_embeddings=_read_tie(config, model_type),
            attention_bias=not qwen3,
            qk_norm=qwen3,
            vision=_read_vision(config, model_type, hidden),
        )


def _read_model_type(config: Mapping[str, Any]) -> str:
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in _ARCHITECTURE_BY_MODEL_TYPE:
        supported = ", ".join(sorted(_ARCHITECTURE_BY_MODEL_TYPE))
        raise ArchitectureError(f"config.json field model_type must be one of {supported}; found {_show(model_type)}.")
    return model_type


def _read_architectures(config: Mapping[str, Any], model_type: str) -> tuple[str, ...]:
    expected = [_ARCHITECTURE_BY_MODEL_TYPE[model_type]]
    value = config.get("architectures")
    if value != expected:
        raise ArchitectureError(
            f"config.json field architectures must be {expected} for model_type {model_type}; found {_show(value)}."
        )
    return tuple(expected)


def _section(config: Mapping[str, Any], key: str, *, required: bool) -> Mapping[str, Any] | None:
    value = config.get(key)
    if value is None:
        if required:
            raise ArchitectureError(f"config.json has no {key}; a {config['model_type']} config needs one.")
        return None
    if not isinstance(value, Mapping):
        raise ArchitectureError(f"config.json field {key} must be a JSON object; found {_show(value)}.")
    return value


def _text_fields(config: Mapping[str, Any], model_type: str) -> _Fields:
    if model_type == "qwen3_vl":
        text_config = _section(config, "text_config", required=True)
        assert text_config is not None
        return _Fields(("text_config.", text_config))
    if model_type == "qwen2_5_vl":
        # Original Qwen2.5-VL configs are flat; newer transformers also write a text_config.
        text_config = _section(config, "text_config", required=False)
        if text_config is not None:
            return _Fields(("text_config.", text_config), ("", config))
    return _Fields(("", config))


def _read_head_dim(text: _Fields, qwen3: bool, hidden: int, heads: int) -> int:
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
        text_config = _section(config, "text_config", required=False)
        if text_config is not None:
            sections.append(("text_config.", text_config))
    return _Fields(*sections).flag("tie_word_embeddings", False)


def _read_vision(config: Mapping[str, Any], model_type: str, text_hidden: int) -> VisionTower | None:
    if model_type not in ("qwen2_5_vl", "qwen3_vl"):
        return None
    section = _section(config, "vision_config", required=True)
    assert section is not None
    fields = _Fields(("vision_config.", section))
    # Defaults below are only for dims every Qwen VL tower shares; the size-defining dims are required
    # because transformers' own defaults (e.g. out_hidden_size 3584) do not match most checkpoints.
    depth = fields.integer("depth", cap=_MAX_LAYERS)
    hidden = fields.integer("hidden_size")
    num_heads = fields.integer("num_heads")
    if hidden % num_heads:
        raise ArchitectureError(
            f"config.json vision_config.hidden_size ({hidden}) must be a multiple of "
            f"vision_config.num_heads ({num_heads})."
        )
    out_hidden = fields.integer("out_hidden_size")
    if out_hidden != text_hidden:
        raise ArchitectureError(
            f"config.json vision_config.out_hidden_size must equal the text hidden_size {text_hidden}; "
            f"found {out_hidden}."
        )
    qwen3 = model_type == "qwen3_vl"
    deepstack = fields.integer_list("deepstack_visual_indexes", below=depth) if qwen3 else ()
    return VisionTower(
        kind=model_type,
        depth=depth,
        hidden_size=hidden,
        intermediate_size=fields.integer("intermediate_size"),
        num_heads=num_heads,
        patch_size=fields.integer("patch_size", 16 if qwen3 else 14),
        temporal_patch_size=fields.integer("temporal_patch_size", 2),
        # Original Qwen2.5-VL configs say in_chans, which transformers ignores: it builds in_channels.
        in_channels=fields.integer("in_channels", 3),
        spatial_merge_size=fields.integer("spatial_merge_size", 2),
        out_hidden_size=out_hidden,
        num_position_embeddings=fields.integer("num_position_embeddings") if qwen3 else None,
        deepstack_visual_indexes=deepstack,
    )
