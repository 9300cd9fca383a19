"""The keys of a text decoder's config.json, decided: Qwen2Config, Qwen3Config and the text configs
of Qwen2.5-VL and Qwen3-VL, as transformers 5 declares them and vLLM 0.32 reads them.

Declarations only (see `model_config_keys` for how they are read); `model_config` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from modelport.catalog.config_fields import MAX_DIM, MAX_LAYERS
from modelport.validation.config_keys import KeyRule, checked, inert
from modelport.validation.model_config_keys import (
    ARCHITECTURES,
    MODEL_TYPE,
    TIE_WORD_EMBEDDINGS,
    CommonKeys,
    EosIds,
    JsonFloat,
    TokenId,
    absent,
    same,
    unknown_rule,
)

_DIM = f"an integer from 1 to {MAX_DIM}"
_SHAPES = "shapes and loops in T models/qwen*/modeling_*.py and V models/qwen2.py, qwen3.py"


class DecoderKeys(CommonKeys):
    """The decoder keys every Qwen text config shares."""

    vocab_size: Annotated[int, same("embedding and lm_head rows", _SHAPES, _DIM)] = absent(ge=1, le=MAX_DIM)
    hidden_size: Annotated[int, same("model width", _SHAPES, _DIM)] = absent(ge=1, le=MAX_DIM)
    intermediate_size: Annotated[int, same("MLP width", _SHAPES, _DIM)] = absent(ge=1, le=MAX_DIM)
    num_hidden_layers: Annotated[int, same("layer count", _SHAPES, f"an integer from 1 to {MAX_LAYERS}")] = absent(
        ge=1, le=MAX_LAYERS
    )
    num_attention_heads: Annotated[int, same("query heads", _SHAPES, _DIM)] = absent(ge=1, le=MAX_DIM)
    num_key_value_heads: Annotated[
        int | None, same("key/value heads; null means num_attention_heads", _SHAPES, f"{_DIM} or null")
    ] = absent(ge=1, le=MAX_DIM)
    hidden_act: Annotated[
        str,
        same("MLP activation: T ACT2FN[config.hidden_act], V Qwen2MLP(hidden_act=...)",
             "T models/qwen2/modeling_qwen2.py#L43; [run] exp_config_json hidden_act_gelu", "an activation name",
             "{key} is {found}; {base} uses {expected} and the weights were trained for it."),
    ] = absent(max_length=64)  # fmt: skip
    rms_norm_eps: Annotated[
        JsonFloat,
        same("every RMSNorm; T refuses an int here", "T models/qwen2/modeling_qwen2.py; [run] rms_norm_eps_int_1",
             "a finite decimal number above 0 (transformers refuses an integer here)", "{key} is {found}; {base} uses "
             "{expected}."),
    ] = absent(gt=0, le=1, allow_inf_nan=False)  # fmt: skip
    max_position_embeddings: Annotated[
        int,
        same("RoPE cache in T; V derives max_model_len from it", "V config/model.py#L2527-2640",
             "an integer from 1 to 16777216", "{key} is {found}; {base} has {expected}. Set long-context options at "
             "deployment, not in the upload."),
    ] = absent(ge=1, le=1 << 24)  # fmt: skip
    rope_parameters: Annotated[
        dict[str, Any] | None,
        same("the positional encoding: any rope_type but default, or another rope_theta, changes every logit",
             "T configuration_utils.py#L349-357, modeling_rope_utils.py#L752-843; V config/model.py#L2582-2613",
             "a JSON object or null", "the RoPE settings (rope_type/rope_theta/factor) differ from {base}'s ({key} "
             "is {found}; {base} has {expected}); enable YaRN or other scaling at deployment (e.g. vLLM "
             "hf_overrides), not in the weights folder."),
    ] = None  # fmt: skip
    rope_scaling: Annotated[
        dict[str, Any] | None,
        checked("legacy name: T moves it into rope_parameters (it wins when truthy)",
                "T modeling_rope_utils.py#L752-755", "a JSON object or null"),
    ] = None  # fmt: skip
    rope_theta: Annotated[
        float,
        checked("legacy name: T moves it into rope_parameters when that has none",
                "T modeling_rope_utils.py#L762-771", "a finite number above 0"),
    ] = absent(gt=0, allow_inf_nan=False)  # fmt: skip
    attention_dropout: Annotated[
        float,
        inert("training only: dropout=0.0 unless training; V ignores it", "T models/qwen2/modeling_qwen2.py#L218",
              "a number in [0, 1)"),
    ] = absent(ge=0, lt=1, allow_inf_nan=False)  # fmt: skip
    initializer_range: Annotated[
        JsonFloat,
        inert("initialises missing weights only, and the manifest check leaves none missing",
              "T modeling_utils.py _init_weights", "a finite decimal number of at least 0"),
    ] = absent(ge=0, allow_inf_nan=False)  # fmt: skip
    use_cache: Annotated[bool, inert("T generation KV cache; V ignores it", "T models/qwen2/modeling_qwen2.py")] = (
        absent()
    )
    pad_token_id: Annotated[
        TokenId | None,
        inert("nn.Embedding(padding_idx=...): gradients only; out of range fails the load",
              "T models/qwen2/modeling_qwen2.py#L316; [run] pad_token_id_out_of_range", "a token id or null"),
    ] = None  # fmt: skip
    tie_word_embeddings: Annotated[bool, TIE_WORD_EMBEDDINGS] = absent()


_USE_SLIDING = same(
    "true makes layers past max_window_layers sliding",
    "T models/qwen3/configuration_qwen3.py#L87-97; V config/model.py#L1614; [run] use_sliding_window_true",
    "true or false",
    "{key} is {found}; {base} has {expected} (full attention in every layer).",
)
_MAX_WINDOW = same("first sliding layer", "T models/qwen3/configuration_qwen3.py#L92-97", "an integer")


class SlidingKeys(DecoderKeys):
    """Sliding-window attention and the config-level token ids (all but Qwen3-VL's text config)."""

    # Optional although Qwen2Config refuses null (Qwen2.5-VL's text config does not): null differs from
    # every base's value, so the comparison refuses it.
    use_sliding_window: Annotated[bool | None, _USE_SLIDING] = None
    sliding_window: Annotated[
        int | None,
        inert("cleared to None while use_sliding_window is false (and that must equal the base's)",
              "T models/qwen3/configuration_qwen3.py#L87; [run] sliding_window_2_use_sliding_false",
              "an integer of at least 1, or null"),
    ] = absent(ge=1)  # fmt: skip
    max_window_layers: Annotated[int | None, _MAX_WINDOW] = absent(ge=0, le=MAX_LAYERS)
    layer_types: Annotated[
        list[Literal["full_attention", "sliding_attention"]] | None,
        same("per-layer attention type (T masks, V qwen2.py#L351); derived from the sliding keys when absent",
             "T models/qwen2/modeling_qwen2.py#L173,#L185; [run] layer_types_sliding", "a list of attention types",
             "{key} is {found}; {base} uses {expected} — layer_types must not make any layer sliding-window."),
    ] = absent(max_length=MAX_LAYERS)  # fmt: skip
    bos_token_id: Annotated[
        TokenId | None,
        same("T GenerationConfig.from_model_config, and V's fallback when generation_config.json is missing",
             "V transformers_utils/config.py#L1220-1236", "a token id or null",
             "{key} is {found}; {base} uses {expected}."),
    ] = None  # fmt: skip
    eos_token_id: Annotated[
        EosIds | None,
        same("stop token(s) when generation_config.json is missing or unreadable (V's fallback too)",
             "V transformers_utils/config.py#L1220-1236", "a token id or a non-empty list of them",
             "{key} is {found}; {base} uses {expected}."),
    ] = None  # fmt: skip


QWEN2_HEAD_DIM = same(
    "not a Qwen2 field but read: T getattr(config, 'head_dim', hidden_size // num_attention_heads)",
    "T models/qwen2/modeling_qwen2.py#L176; [run] head_dim_8_unknown_for_qwen2",
    _DIM,
    "{key} {found} does not match hidden_size/num_attention_heads of {base} ({expected}).",
)
_QWEN3_HEAD_DIM = same("attention head width (Qwen3: need not be hidden / heads)", "V models/qwen3.py#L209", _DIM)
_ATTENTION_BIAS = same(
    "T builds zero q/k/v/o biases the checkpoint lacks; V builds qkv_bias with no weights",
    "V models/qwen3.py#L208; [run] attention_bias_true", "true or false", "{key} is {found}; {base} has {expected} "
    "(no attention biases).",
)  # fmt: skip


class Qwen2Document(SlidingKeys):
    CONFIG_CLASS: ClassVar[str] = "Qwen2Config"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen2Config")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {  # T models/qwen2/configuration_qwen2.py#L61-81
        "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": None, "hidden_act": "silu",
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "tie_word_embeddings": False,
        "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28, "bos_token_id": None,
        "eos_token_id": None, "dtype": None, "architectures": None, "model_type": None,
    }  # fmt: skip

    architectures: Annotated[list[str] | None, ARCHITECTURES] = absent(max_length=4)
    model_type: Annotated[str, MODEL_TYPE] = Field(max_length=64)
    head_dim: Annotated[int, QWEN2_HEAD_DIM] = absent(ge=1, le=MAX_DIM)


class Qwen3Document(Qwen2Document):
    CONFIG_CLASS: ClassVar[str] = "Qwen3Config"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen3Config")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {  # T models/qwen3/configuration_qwen3.py#L62-84
        **Qwen2Document.DEFAULTS, "head_dim": 128, "attention_bias": False,
    }  # fmt: skip

    head_dim: Annotated[int, _QWEN3_HEAD_DIM] = absent(ge=1, le=MAX_DIM)
    attention_bias: Annotated[bool, _ATTENTION_BIAS] = absent()


_LEGACY = "a copy transformers 4.5x wrote into text_config; T and V read the VL top level's field"
_LEGACY_CITE = "V models/qwen2_5_vl.py#L1678; a transformers 4.53.1 save of Qwen2.5-VL-7B-Instruct"
_LEGACY_COPY = inert(_LEGACY, _LEGACY_CITE, "a token id or null")
_LEGACY_ARCHITECTURES = inert(_LEGACY, _LEGACY_CITE, "a list of class names")


class Qwen25VLTextDocument(SlidingKeys):
    """`text_config` of Qwen2.5-VL (T models/qwen2_5_vl/configuration_qwen2_5_vl.py#L109-128)."""

    CONFIG_CLASS: ClassVar[str] = "Qwen2_5_VLTextConfig"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen2_5_VLTextConfig")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "vocab_size": 152064, "hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
        "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": None, "hidden_act": "silu",
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
        "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 80, "bos_token_id": 151643,
        "eos_token_id": 151645, "dtype": None,
    }  # fmt: skip

    model_type: Annotated[
        Literal["qwen2_5_vl_text"] | None,
        checked("set as an attribute of the text config", "T configuration_utils.py#L376-383", "qwen2_5_vl_text"),
    ] = None
    head_dim: Annotated[int, QWEN2_HEAD_DIM] = absent(ge=1, le=MAX_DIM)
    # transformers 4.5x took these as Qwen2_5_VLTextConfig arguments and saved them into text_config
    # (image_token_id and video_token_id as null); both stacks read the top level's own fields.
    architectures: Annotated[list[str] | None, _LEGACY_ARCHITECTURES] = absent(max_length=4)
    image_token_id: Annotated[TokenId | None, _LEGACY_COPY] = None
    video_token_id: Annotated[TokenId | None, _LEGACY_COPY] = None
    vision_start_token_id: Annotated[TokenId | None, _LEGACY_COPY] = None
    vision_end_token_id: Annotated[TokenId | None, _LEGACY_COPY] = None
    vision_token_id: Annotated[TokenId | None, _LEGACY_COPY] = None


class Qwen3VLTextDocument(DecoderKeys):
    """`text_config` of Qwen3-VL (T models/qwen3_vl/configuration_qwen3_vl.py#L84-99): no sliding keys."""

    CONFIG_CLASS: ClassVar[str] = "Qwen3VLTextConfig"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen3VLTextConfig")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": 128, "hidden_act": "silu",
        "max_position_embeddings": 128000, "rms_norm_eps": 1e-6, "tie_word_embeddings": False,
        "attention_bias": False, "dtype": None,
    }  # fmt: skip

    model_type: Annotated[
        Literal["qwen3_vl_text"] | None,
        checked("set as an attribute of the text config", "T configuration_utils.py#L376-383", "qwen3_vl_text"),
    ] = None
    head_dim: Annotated[int, _QWEN3_HEAD_DIM] = absent(ge=1, le=MAX_DIM)
    attention_bias: Annotated[bool, _ATTENTION_BIAS] = absent()
