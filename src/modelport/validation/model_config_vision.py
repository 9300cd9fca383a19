"""The keys of a vision-language config.json, decided: the top level of Qwen2_5_VLConfig and
Qwen3VLConfig, and their `vision_config` (Qwen2_5_VLVisionConfig, Qwen3VLVisionConfig).

The text decoder's keys are in `model_config_text`: Qwen2.5-VL's original Hub layout keeps them at
the top level (transformers pops them into `text_config`), so its top-level document carries them
too. Declarations only; `model_config` applies them. Citations as in `model_config_keys`.
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
    JsonFloat,
    TokenId,
    absent,
    same,
    unknown_rule,
)
from modelport.validation.model_config_text import QWEN2_HEAD_DIM, Qwen25VLTextDocument, SlidingKeys

_DIM = f"an integer from 1 to {MAX_DIM}"
_TOWER = "vision tower shapes: T Qwen*VLVisionConfig fields; V reads config.vision_config.*"
_PLACEHOLDER = same(
    "placeholder id the processors and models of T and V look for", "V models/qwen2_5_vl.py, qwen3_vl.py",
    "a token id", "{key} is {found}; {base} uses {expected}.",
)  # fmt: skip
_VISION_DIFFERS = "{key} is {found}; {base} has {expected}."
_PATCH = int | Annotated[list[Annotated[int, Field(ge=1, le=MAX_DIM)]], Field(min_length=1, max_length=3)]
_INDEXES = Annotated[list[Annotated[int, Field(ge=0, le=MAX_LAYERS)]], Field(max_length=MAX_LAYERS)]
_AXIAL = {"rope_theta": 10000.0, "rope_type": "axial"}  # the vision configs' standardised default


class VisionLanguageKeys(CommonKeys):
    """What Qwen2_5_VLConfig and Qwen3VLConfig declare at the top level."""

    architectures: Annotated[list[str] | None, ARCHITECTURES] = absent(max_length=4)
    model_type: Annotated[str, MODEL_TYPE] = Field(max_length=64)
    vision_config: Annotated[
        dict[str, Any],
        checked("built into the vision config class; its keys go through the vision_config table",
                "T models/qwen3_vl/configuration_qwen3_vl.py#L140-146", "a JSON object"),
    ]  # fmt: skip
    image_token_id: Annotated[TokenId, _PLACEHOLDER] = absent()
    video_token_id: Annotated[TokenId, _PLACEHOLDER] = absent()
    vision_start_token_id: Annotated[TokenId, _PLACEHOLDER] = absent()
    vision_end_token_id: Annotated[TokenId, _PLACEHOLDER] = absent()
    tie_word_embeddings: Annotated[bool, TIE_WORD_EMBEDDINGS] = absent()


_VL_DEFAULTS: Mapping[str, Any] = {  # T configuration_qwen2_5_vl.py#L185-189, configuration_qwen3_vl.py#L133-137
    "image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652,
    "vision_end_token_id": 151653, "tie_word_embeddings": False, "architectures": None, "model_type": None,
    "dtype": None,
}  # fmt: skip


class Qwen25VLDocument(VisionLanguageKeys, SlidingKeys):
    """Qwen2.5-VL's top level: the VL keys plus, in the original flat layout, the text keys."""

    CONFIG_CLASS: ClassVar[str] = "Qwen2_5_VLConfig"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen2_5_VLConfig")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {**Qwen25VLTextDocument.DEFAULTS, **_VL_DEFAULTS}

    head_dim: Annotated[int, QWEN2_HEAD_DIM] = absent(ge=1, le=MAX_DIM)

    text_config: Annotated[
        dict[str, Any] | None,
        checked("the text decoder's config; absent in the Hub's flat layout, where T builds it from the top-level "
                "text keys (and ignores those keys when text_config is present)",
                "T models/qwen2_5_vl/configuration_qwen2_5_vl.py#L195-211", "a JSON object or null"),
    ] = None  # fmt: skip


class Qwen3VLDocument(VisionLanguageKeys):
    CONFIG_CLASS: ClassVar[str] = "Qwen3VLConfig"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen3VLConfig")
    DEFAULTS: ClassVar[Mapping[str, Any]] = _VL_DEFAULTS

    text_config: Annotated[
        dict[str, Any],
        checked("built into Qwen3VLTextConfig; its keys go through the text table",
                "T models/qwen3_vl/configuration_qwen3_vl.py#L148-151", "a JSON object"),
    ]  # fmt: skip


class VisionKeys(CommonKeys):
    """The keys both vision towers share."""

    depth: Annotated[int, same("tower layer count", _TOWER, f"an integer from 1 to {MAX_LAYERS}", _VISION_DIFFERS)] = (
        absent(ge=1, le=MAX_LAYERS)
    )
    hidden_size: Annotated[int, same("tower width", _TOWER, _DIM, _VISION_DIFFERS)] = absent(ge=1, le=MAX_DIM)
    intermediate_size: Annotated[int, same("tower MLP width", _TOWER, _DIM, _VISION_DIFFERS)] = absent(ge=1, le=MAX_DIM)
    num_heads: Annotated[int, same("tower attention heads", _TOWER, _DIM, _VISION_DIFFERS)] = absent(ge=1, le=MAX_DIM)
    num_attention_heads: Annotated[
        int,
        checked("attribute_map alias of num_heads: it sets num_heads (compared as num_heads)",
                "T models/qwen2_5_vl/configuration_qwen2_5_vl.py#L51", _DIM),
    ] = absent(ge=1, le=MAX_DIM)  # fmt: skip
    hidden_act: Annotated[str, same("tower activation", _TOWER, "an activation name", _VISION_DIFFERS)] = absent(
        max_length=64
    )
    in_channels: Annotated[int, same("patch embedding input channels", _TOWER, _DIM, _VISION_DIFFERS)] = absent(
        ge=1, le=MAX_DIM
    )
    patch_size: Annotated[_PATCH, same("patch embedding kernel", _TOWER, "an integer", _VISION_DIFFERS)] = absent()
    temporal_patch_size: Annotated[
        _PATCH, same("patch embedding kernel in time", _TOWER, "an integer", _VISION_DIFFERS)
    ] = absent()
    spatial_merge_size: Annotated[int, same("patch merger group", _TOWER, _DIM, _VISION_DIFFERS)] = absent(
        ge=1, le=MAX_DIM
    )
    out_hidden_size: Annotated[int, same("merger output width", _TOWER, _DIM, _VISION_DIFFERS)] = absent(
        ge=1, le=MAX_DIM
    )
    initializer_range: Annotated[
        JsonFloat, inert("initialises missing weights only", "T modeling_utils.py _init_weights",
                         "a finite decimal number of at least 0"),
    ] = absent(ge=0, allow_inf_nan=False)  # fmt: skip
    rope_parameters: Annotated[
        dict[str, Any] | None,
        same("the tower's rotary settings, standardised to axial rope", "T modeling_rope_utils.py#L783-843",
             "a JSON object or null", "{key} is {found}; {base} has {expected}."),
    ] = None  # fmt: skip


class Qwen25VLVisionDocument(VisionKeys):
    CONFIG_CLASS: ClassVar[str] = "Qwen2_5_VLVisionConfig"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen2_5_VLVisionConfig")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {  # T models/qwen2_5_vl/configuration_qwen2_5_vl.py#L53-67
        "depth": 32, "hidden_size": 3584, "hidden_act": "silu", "intermediate_size": 3420, "num_heads": 16,
        "in_channels": 3, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
        "tokens_per_second": 4, "window_size": 112, "out_hidden_size": 3584, "fullatt_block_indexes": [7, 15, 23, 31],
        "rope_parameters": _AXIAL, "dtype": None,
    }  # fmt: skip

    model_type: Annotated[
        Literal["qwen2_5_vl", "qwen2_5_vl_vision"] | None,
        checked("set as an attribute of the vision config", "T configuration_utils.py#L376-383",
                "qwen2_5_vl or qwen2_5_vl_vision"),
    ] = None  # fmt: skip
    tokens_per_second: Annotated[
        int, same("video time positions", "V models/qwen2_5_vl.py#L1341", _DIM, _VISION_DIFFERS)
    ] = absent(ge=1, le=MAX_DIM)
    window_size: Annotated[int, same("windowed attention size", _TOWER, _DIM, _VISION_DIFFERS)] = absent(
        ge=1, le=MAX_DIM
    )
    fullatt_block_indexes: Annotated[
        _INDEXES, same("which blocks attend globally", _TOWER, "a list of block indexes", _VISION_DIFFERS)
    ] = absent()


class Qwen3VLVisionDocument(VisionKeys):
    CONFIG_CLASS: ClassVar[str] = "Qwen3VLVisionConfig"
    UNKNOWN: ClassVar[KeyRule] = unknown_rule("Qwen3VLVisionConfig")
    DEFAULTS: ClassVar[Mapping[str, Any]] = {  # T models/qwen3_vl/configuration_qwen3_vl.py#L44-57
        "depth": 27, "hidden_size": 1152, "hidden_act": "gelu_pytorch_tanh", "intermediate_size": 4304,
        "num_heads": 16, "in_channels": 3, "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
        "out_hidden_size": 3584, "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24],
        "rope_parameters": _AXIAL, "dtype": None,
    }  # fmt: skip

    model_type: Annotated[
        Literal["qwen3_vl", "qwen3_vl_vision"] | None,
        checked("T renames qwen3_vl to qwen3_vl_vision", "T models/qwen3_vl/configuration_qwen3_vl.py#L142",
                "qwen3_vl or qwen3_vl_vision"),
    ] = None  # fmt: skip
    num_position_embeddings: Annotated[int, same("learned position table rows", _TOWER, _DIM, _VISION_DIFFERS)] = (
        absent(ge=1, le=MAX_DIM)
    )
    deepstack_visual_indexes: Annotated[
        _INDEXES, same("which blocks feed the deepstack mergers", _TOWER, "a list of block indexes", _VISION_DIFFERS)
    ] = absent()
