"""Corpus cases for what a full-weight upload's config.json and generation_config.json say: configs
as transformers 4 and 5 write them (both must pass), and the keys that change what the engines
compute (each must be refused with its sentence).

`transformers5_config` rewrites a Hub-style config the way transformers 5.19's `save_pretrained`
writes it (checked against the real library for the eleven builtin bases and the tiny ones).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.corpus import (
    TINY2,
    TINY3,
    TINY3VL,
    TINY25VL,
    Case,
    Context,
    add_files,
    both,
    full,
    full_then,
    set_config,
)

Edit = Callable[[Path, Context], None]

_TEXT_DEFAULTS = {"attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": True, "pad_token_id": None}
_AXIAL = {"rope_theta": 10000.0, "rope_type": "axial"}
_VL_IDS = {"image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652,
           "vision_end_token_id": 151653}  # fmt: skip
_VISION_DEFAULTS = {
    "qwen2_5_vl": {"fullatt_block_indexes": [7, 15, 23, 31], "hidden_act": "silu", "tokens_per_second": 4,
                   "window_size": 112},
    "qwen3_vl": {"hidden_act": "gelu_pytorch_tanh"},
}  # fmt: skip


def transformers5_config(config: dict[str, Any]) -> dict[str, Any]:
    """What transformers 5 writes for `config` (a Hub-style Qwen config) after loading it."""
    config = copy.deepcopy(config)
    model_type = config["model_type"]
    if model_type in ("qwen2", "qwen3"):
        return _text5(config, model_type, theta=10000.0) | {"transformers_version": "5.19.0"}
    vision = config.pop("vision_config")
    top_keys = {"architectures", "model_type", "tie_word_embeddings", "image_token_id", "video_token_id",
                "vision_start_token_id", "vision_end_token_id", "vision_token_id"}  # fmt: skip
    dtype = config.pop("torch_dtype", config.pop("dtype", None))
    if model_type == "qwen2_5_vl":
        text = {k: v for k, v in config.items() if k not in top_keys}
        text = _text5(text | {"dtype": dtype}, "qwen2_5_vl_text", theta=1000000.0)
        text.pop("tie_word_embeddings", None)
        top = {k: v for k, v in config.items() if k in top_keys}
        vision |= {"in_channels": vision.get("in_chans", 3), "model_type": "qwen2_5_vl_vision"}
    else:
        top = {k: v for k, v in config.items() if k != "text_config"}
        text = _text5(config["text_config"], "qwen3_vl_text", theta=500000.0, sliding=False)
        vision |= {"in_channels": vision.get("in_channels", 3), "model_type": "qwen3_vl_vision"}
    vision = {**_VISION_DEFAULTS[model_type], **vision, "rope_parameters": dict(_AXIAL)}
    vision.setdefault("initializer_range", 0.02)
    text.pop("transformers_version", None)
    top = {**_VL_IDS, **top, "text_config": text, "vision_config": vision, "transformers_version": "5.19.0"}
    return top | ({"dtype": dtype} if dtype is not None else {})


def transformers453_qwen25vl(config: dict[str, Any]) -> dict[str, Any]:
    """A flat Qwen2.5-VL config as transformers 4.53 saves it: the flat keys kept, plus a text_config
    holding copies of them, null image/video ids, and float32 sub-config dtypes under a bfloat16 top
    level (as in the Qwen2.5-VL-7B-Instruct text encoder Qwen-Image ships)."""
    config = copy.deepcopy(config)
    top_only = {"architectures", "model_type", "vision_config", "torch_dtype", "transformers_version", "image_token_id",
                "video_token_id", "tie_word_embeddings", "vocab_size"}  # fmt: skip
    text = {k: v for k, v in config.items() if k not in top_only}
    text |= {
        "architectures": config["architectures"], "model_type": "qwen2_5_vl_text", "vocab_size": config["vocab_size"],
        "image_token_id": None, "video_token_id": None, "sliding_window": None, "torch_dtype": "float32",
        "layer_types": ["full_attention"] * config["num_hidden_layers"], "use_sliding_window": False,
        "attention_dropout": config.get("attention_dropout", 0.0), "use_cache": True,
    }  # fmt: skip
    vision = config["vision_config"] | {"in_channels": 3, "initializer_range": 0.02, "torch_dtype": "float32"}
    return config | {"text_config": text, "vision_config": vision, "transformers_version": "4.53.1"}


def _text5(text: dict[str, Any], model_type: str, *, theta: float, sliding: bool = True) -> dict[str, Any]:
    out = {**_TEXT_DEFAULTS, **text}
    dtype = out.pop("torch_dtype", None)
    out["dtype"] = out.get("dtype") or dtype
    scaling = out.pop("rope_scaling", None)
    rope = dict(scaling or out.get("rope_parameters") or {})
    rope.setdefault("rope_theta", out.pop("rope_theta", theta))
    rope.setdefault("rope_type", rope.get("type", "default"))
    out["rope_parameters"] = rope
    if model_type in ("qwen2_5_vl_text", "qwen3_vl_text"):
        out["model_type"] = model_type
    if model_type in ("qwen3", "qwen3_vl_text"):
        out.setdefault("attention_bias", False)
    if sliding:
        out.setdefault("use_sliding_window", False)
        out.setdefault("max_window_layers", 80 if model_type == "qwen2_5_vl_text" else 28)
        out["sliding_window"] = None
        out["layer_types"] = ["full_attention"] * out["num_hidden_layers"]
    return out


# -- edits ----------------------------------------------------------------------------------------------


def rewrite_config(change: Callable[[dict[str, Any]], Any]) -> Edit:
    def edit(folder: Path, _context: Context) -> None:
        path = folder / "config.json"
        document = json.loads(path.read_text())
        replaced = change(document)
        path.write_text(json.dumps(document if replaced is None else replaced))

    return edit


def raw_config(text: str) -> Edit:
    """config.json as literal text (for what json.dumps would never write)."""
    return add_files({"config.json": text})


def generation(document: dict[str, Any]) -> Edit:
    return add_files({"generation_config.json": json.dumps(document)})


def reference_base(base_id: str, of: str, references: dict[str, str]) -> Edit:
    """Register `base_id`: a copy of the tiny base `of` with reference files (the catalog loads after build)."""

    def edit(_folder: Path, context: Context) -> None:
        config = json.dumps(dict(context.base(of).config))  # before the folder exists: the catalog reads it
        folder = context.data_dir / "base_models" / base_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(config)
        for name, content in references.items():
            (folder / name).write_text(content)

    return edit


def full_as(base_id: str, of: str, references: dict[str, str], *edits: Edit) -> Callable[[Path, Context], None]:
    def build(folder: Path, context: Context) -> None:
        reference_base(base_id, of, references)(folder, context)
        full(of)(folder, context)
        both(*edits)(folder, context)

    return build


def _sliding(document: dict[str, Any]) -> None:
    document.update(use_sliding_window=True, sliding_window=2, max_window_layers=0)


def _smuggle(document: dict[str, Any]) -> None:
    document["rms_norm_eps"] = {"__float__": "NaN"}


def _text_config(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda document: change(document["text_config"])


def _vision(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["vision_config"].update(changes)


QWEN_GENERATION = {
    "bos_token_id": 1, "pad_token_id": 1, "eos_token_id": [2, 1], "do_sample": True, "temperature": 0.7,
    "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05, "transformers_version": "4.37.0",
}  # fmt: skip
TINY_REFERENCE = "tiny-qwen3-gen-reference"


def cases() -> list[Case]:
    t5 = rewrite_config(transformers5_config)
    reference = {"generation_config.json": json.dumps(QWEN_GENERATION)}
    return [
        # -- configs as the libraries write them ----------------------------------------------------
        Case("full-config-transformers5-qwen3", TINY3, "full", full_then(t5), "SUCCESSED"),
        Case("full-config-transformers5-qwen2", TINY2, "full", full_then(t5, TINY2), "SUCCESSED"),
        Case("full-config-transformers5-qwen2.5-vl", TINY25VL, "full", full_then(t5, TINY25VL), "SUCCESSED"),
        Case("full-config-transformers5-qwen3-vl", TINY3VL, "full", full_then(t5, TINY3VL), "SUCCESSED"),
        Case("full-config-transformers4.53-qwen2.5-vl", TINY25VL, "full",
             full_then(rewrite_config(transformers453_qwen25vl), TINY25VL), "SUCCESSED"),
        Case("full-config-sampling-keys-ignored", TINY3, "full",
             full_then(set_config("config.json", temperature=0.7, top_p=0.8, do_sample=True)), "SUCCESSED",
             warnings=("full.config_ignored",)),
        Case("full-config-qwen2-head-dim-derived", TINY2, "full", full_then(set_config("config.json", head_dim=16), TINY2),
             "SUCCESSED"),
        Case("full-generation-config-qwen-like", TINY3, "full", full_then(generation(QWEN_GENERATION)), "SUCCESSED",
             copied=("config.json", "generation_config.json", "model.safetensors")),
        # -- config.json keys that change what is computed ------------------------------------------
        Case("full-config-is-causal", TINY3, "full", full_then(set_config("config.json", is_causal=False)), "FAILED",
             ("full.config_refused",), ("is_causal is not a field of Qwen3Config",)),
        Case("full-config-transformers-weights", TINY3, "full",
             full_then(set_config("config.json", transformers_weights="other.safetensors")), "FAILED",
             ("full.config_refused",), ("transformers_weights",)),
        Case("full-config-gelu", TINY3, "full", full_then(set_config("config.json", hidden_act="gelu")), "FAILED",
             ("full.config_mismatch",), ('hidden_act is "gelu"', "silu")),
        Case("full-config-rope-yarn", TINY3, "full",
             full_then(set_config("config.json", rope_scaling={"rope_type": "yarn", "factor": 4.0})), "FAILED",
             ("full.config_mismatch",), ("RoPE settings", "at deployment")),
        Case("full-config-rope-theta", TINY2, "full", full_then(set_config("config.json", rope_theta=10000.0), TINY2),
             "FAILED", ("full.config_mismatch",), ("RoPE settings",)),
        Case("full-config-longer-context", TINY3, "full",
             full_then(set_config("config.json", max_position_embeddings=131072)), "FAILED", ("full.config_mismatch",),
             ("max_position_embeddings is 131072",)),
        Case("full-config-sliding-window", TINY3, "full", full_then(rewrite_config(_sliding)), "FAILED",
             ("full.config_mismatch",), ("use_sliding_window is true",)),
        Case("full-config-layer-types-sliding", TINY3, "full",
             full_then(set_config("config.json", layer_types=["sliding_attention", "full_attention"])), "FAILED",
             ("full.config_mismatch",), ("layer_types",)),
        Case("full-config-attention-bias", TINY3, "full", full_then(set_config("config.json", attention_bias=True)),
             "FAILED", ("full.config_mismatch",), ("attention_bias is true",)),
        Case("full-config-eps-int", TINY3, "full", full_then(set_config("config.json", rms_norm_eps=1)), "FAILED",
             ("full.config_schema",), ("rms_norm_eps must be a finite decimal number",)),
        Case("full-config-float-smuggle", TINY3, "full", full_then(rewrite_config(_smuggle)), "FAILED",
             ("full.config_schema",), ("rms_norm_eps is not a finite number",)),
        Case("full-config-float-smuggle-in-rope", TINY3, "full",
             full_then(raw_config(json.dumps(transformers5_config(_tiny_qwen3())).replace(
                 '"rope_theta": 1000000.0', '"rope_theta": {"__float__": "Infinity"}'))),
             "FAILED", ("full.config_schema",), ("rope_parameters.rope_theta is not a finite number",)),
        Case("full-config-float16", TINY3, "full", full_then(set_config("config.json", torch_dtype="float16")), "FAILED",
             ("full.config_mismatch",), ("torch_dtype is float16", "bfloat16")),
        Case("full-config-compression", TINY3, "full",
             full_then(set_config("config.json", compression_config={"format": "pack-quantized"})), "FAILED",
             ("full.quantized",), ("compression_config declares a quantized checkpoint",)),
        Case("full-config-attn-implementation", TINY3, "full",
             full_then(set_config("config.json", attn_implementation="eager")), "FAILED", ("full.config_refused",),
             ("attn_implementation is a runtime choice",)),
        Case("full-config-classifier", TINY3, "full",
             full_then(set_config("config.json", id2label={"0": "a", "1": "b", "2": "c"})), "FAILED",
             ("full.config_refused",), ("classification head",)),
        Case("full-config-string-bool", TINY3, "full",
             full_then(set_config("config.json", tie_word_embeddings="false")), "FAILED", ("full.config_schema",),
             ("tie_word_embeddings must be true or false",)),
        Case("full-config-qwen2-head-dim-other", TINY2, "full",
             full_then(set_config("config.json", head_dim=8), TINY2), "FAILED", ("full.config_mismatch",),
             ("head_dim 8 does not match",)),
        Case("full-config-not-qwen", TINY3, "full", full_then(set_config("config.json", model_type="llama")), "FAILED",
             ("full.config_architecture",), ("llama",)),
        Case("full-config-vl-text-config-unknown", TINY3VL, "full",
             full_then(rewrite_config(_text_config(lambda t: t.update(is_causal=False))), TINY3VL), "FAILED",
             ("full.config_refused",), ("text_config.is_causal is not a field of Qwen3VLTextConfig",)),
        Case("full-config-vl-text-tie", TINY3VL, "full",
             full_then(rewrite_config(_text_config(lambda t: t.update(tie_word_embeddings=True))), TINY3VL), "FAILED",
             ("full.config_mismatch",), ("text_config.tie_word_embeddings is true",)),
        Case("full-config-vl-vision-heads-alias", TINY25VL, "full",
             full_then(rewrite_config(_vision(num_attention_heads=4)), TINY25VL), "FAILED", ("full.config_mismatch",),
             ("vision_config.num_heads is 4",)),
        Case("full-config-vl-carried-key-changed", TINY25VL, "full",
             full_then(rewrite_config(_vision(in_chans=4)), TINY25VL), "FAILED", ("full.config_refused",),
             ("vision_config.in_chans is 4", "has 3")),
        Case("full-config-vl-top-copy-disagrees", TINY25VL, "full",
             full_then(rewrite_config(lambda d: transformers5_config(d) | {"num_hidden_layers": 3}), TINY25VL), "FAILED",
             ("full.config_schema",), ("num_hidden_layers is 3 at the top level",)),
        # -- generation_config.json ---------------------------------------------------------------------
        Case("full-generation-temperature", TINY3, "full", full_then(generation({"temperature": 5.0})), "FAILED",
             ("full.generation_config",), ("temperature must be a number between 0 and 2",)),
        Case("full-generation-top-k-float", TINY3, "full", full_then(generation({"top_k": 20.0})), "FAILED",
             ("full.generation_config",), ("top_k must be an integer",)),
        Case("full-generation-float-smuggle", TINY3, "full",
             full_then(generation({"temperature": {"__float__": "Infinity"}})), "FAILED", ("full.generation_config",),
             ("temperature must be",)),
        Case("full-generation-num-beams", TINY3, "full", full_then(generation({"num_beams": 4})), "FAILED",
             ("full.generation_config_refused",), ("num_beams changes how transformers generates but vLLM ignores it",)),
        Case("full-generation-forced-eos-zero", TINY3, "full", full_then(generation({"forced_eos_token_id": 0})),
             "FAILED", ("full.generation_config_refused",), ("forced_eos_token_id",)),
        Case("full-generation-stop-strings", TINY3, "full", full_then(generation({"stop_strings": ["###"]})), "FAILED",
             ("full.generation_config_refused",), ("stop_strings",)),
        Case("full-generation-defaults-accepted", TINY3, "full",
             full_then(generation({"num_beams": 1, "max_length": 20, "early_stopping": False, "temperature": 0})),
             "SUCCESSED"),
        Case("full-generation-unknown-key", TINY3, "full", full_then(generation({"foo_bar": 1})), "FAILED",
             ("full.generation_config_refused",), ("foo_bar is not a GenerationConfig setting",)),
        Case("full-generation-custom-code", TINY3, "full", full_then(generation({"custom_generate": "x/y"})), "FAILED",
             ("full.generation_config_refused",), ("custom generation code",)),
        Case("full-generation-eos-outside-vocabulary", TINY3, "full",
             full_then(generation({"eos_token_id": [2, 151645]})), "FAILED", ("full.generation_config",),
             ("outside the vocabulary",)),
        Case("full-generation-eos-string", TINY3, "full", full_then(generation({"eos_token_id": "2"})), "FAILED",
             ("full.generation_config",), ("eos_token_id must be",)),
        Case("full-generation-max-new-tokens-past-context", TINY3, "full",
             full_then(generation({"max_new_tokens": 1 << 20})), "FAILED", ("full.generation_config",),
             ("max_new_tokens must be an integer from 1 to 4096",)),
        Case("full-generation-list", TINY3, "full", full_then(add_files({"generation_config.json": "[1, 2]"})),
             "FAILED", ("full.generation_config",), ("generation_config.json must be a JSON object",)),
        Case("full-generation-reference-matches", TINY_REFERENCE, "full",
             full_as(TINY_REFERENCE, TINY3, reference, generation(QWEN_GENERATION)), "SUCCESSED"),
        Case("full-generation-reference-eos-differs", TINY_REFERENCE, "full",
             full_as(TINY_REFERENCE, TINY3, reference, generation({**QWEN_GENERATION, "eos_token_id": 2})), "FAILED",
             ("full.generation_config_mismatch",), ("eos_token_id is 2", "stops on [2, 1]")),
    ]  # fmt: skip


def _tiny_qwen3() -> dict[str, Any]:
    from modelport import samples

    return samples.tiny_base_config("qwen3")
