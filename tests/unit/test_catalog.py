"""The base-model catalog: derived architectures against the published Qwen numbers, and the
loading rules for operator bases under <data_dir>/base_models/.

The oracle for the builtins is docs/validation.md §3.2 (LoRA in/out), §3.4 (tensor count,
parameters, bf16 bytes = the official index total_size) and §2.5 (LoRA parameters per unit rank).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from modelport.catalog.architecture import Architecture, ArchitectureError, LinearShape
from modelport.catalog.catalog import BUILTIN_IDS, Catalog, CatalogError, load_catalog

# ---------------------------------------------------------------------------------------------
# Oracles, copied from docs/validation.md
# ---------------------------------------------------------------------------------------------

# §3.4: base -> (tensor count, parameters, bf16 bytes). qwen2.5-vl-72b uses the Iv=3456 row.
TOTALS = {
    "qwen3-32b": (707, 32_762_123_264, 65_524_246_528),
    "qwen3-14b": (443, 14_768_307_200, 29_536_614_400),
    "qwen3-8b": (399, 8_190_735_360, 16_381_470_720),
    "qwen3-4b-instruct-2507": (398, 4_022_468_096, 8_044_936_192),
    "qwen3-vl-8b-instruct": (750, 8_767_123_696, 17_534_247_392),
    "qwen2.5-72b-instruct": (963, 72_706_203_648, 145_412_407_296),
    "qwen2.5-32b-instruct": (771, 32_763_876_352, 65_527_752_704),
    "qwen2.5-14b-instruct": (579, 14_770_033_664, 29_540_067_328),
    "qwen2.5-7b-instruct": (339, 7_615_616_512, 15_231_233_024),
    "qwen2.5-vl-7b-instruct": (729, 8_292_166_656, 16_584_333_312),
    "qwen2.5-vl-72b-instruct": (1353, 73_410_777_344, 146_821_554_688),
}

# §3.2: base -> (q in->out, k/v in->out, o in->out, gate/up in->out, down in->out, hidden, vocab).
LORA = {
    "qwen3-32b": ((5120, 8192), (5120, 1024), (8192, 5120), (5120, 25600), (25600, 5120), 5120, 151936),
    "qwen3-14b": ((5120, 5120), (5120, 1024), (5120, 5120), (5120, 17408), (17408, 5120), 5120, 151936),
    "qwen3-8b": ((4096, 4096), (4096, 1024), (4096, 4096), (4096, 12288), (12288, 4096), 4096, 151936),
    "qwen3-4b-instruct-2507": (
        (2560, 4096), (2560, 1024), (4096, 2560), (2560, 9728), (9728, 2560), 2560, 151936,
    ),
    "qwen3-vl-8b-instruct": (
        (4096, 4096), (4096, 1024), (4096, 4096), (4096, 12288), (12288, 4096), 4096, 151936,
    ),
    "qwen2.5-72b-instruct": (
        (8192, 8192), (8192, 1024), (8192, 8192), (8192, 29568), (29568, 8192), 8192, 152064,
    ),
    "qwen2.5-vl-72b-instruct": (
        (8192, 8192), (8192, 1024), (8192, 8192), (8192, 29568), (29568, 8192), 8192, 152064,
    ),
    "qwen2.5-32b-instruct": (
        (5120, 5120), (5120, 1024), (5120, 5120), (5120, 27648), (27648, 5120), 5120, 152064,
    ),
    "qwen2.5-14b-instruct": (
        (5120, 5120), (5120, 1024), (5120, 5120), (5120, 13824), (13824, 5120), 5120, 152064,
    ),
    "qwen2.5-7b-instruct": (
        (3584, 3584), (3584, 512), (3584, 3584), (3584, 18944), (18944, 3584), 3584, 152064,
    ),
    "qwen2.5-vl-7b-instruct": (
        (3584, 3584), (3584, 512), (3584, 3584), (3584, 18944), (18944, 3584), 3584, 152064,
    ),
}  # fmt: skip

# §2.5: all-linear LoRA parameters per unit of rank, sum over layers of (in + out) per module.
LORA_PARAMS_PER_RANK = {
    "qwen3-32b": 8_388_608,
    "qwen3-14b": 4_014_080,
    "qwen3-8b": 2_727_936,
    "qwen3-vl-8b-instruct": 2_727_936,
    "qwen3-4b-instruct-2507": 2_064_384,
    "qwen2.5-72b-instruct": 13_158_400,
    "qwen2.5-vl-72b-instruct": 13_158_400,
    "qwen2.5-32b-instruct": 8_388_608,
    "qwen2.5-14b-instruct": 4_300_800,
    "qwen2.5-7b-instruct": 2_523_136,
    "qwen2.5-vl-7b-instruct": 2_523_136,
}


@functools.cache
def builtin_catalog() -> Catalog:
    return load_catalog(None)


def builtin_config(base_id: str) -> dict[str, Any]:
    base = builtin_catalog().get(base_id)
    assert base is not None
    return copy.deepcopy(dict(base.config))


@pytest.fixture(scope="module")
def builtin() -> dict[str, Architecture]:
    return {base.id: base.architecture for base in builtin_catalog().all()}


# ---------------------------------------------------------------------------------------------
# The eleven builtins against the published numbers
# ---------------------------------------------------------------------------------------------


def test_the_catalog_holds_exactly_the_eleven_dashscope_bases_sorted() -> None:
    catalog = load_catalog(None)
    assert [base.id for base in catalog.all()] == sorted(TOTALS)
    assert sorted(BUILTIN_IDS) == sorted(TOTALS)
    for base in catalog.all():
        assert base.origin == "builtin"
        assert base.weight_types == {"lora", "full"}
        assert base.reference_files == {}
        assert base.config["torch_dtype"] == "bfloat16"
    assert catalog.get("qwen3-1.7b") is None


@pytest.mark.parametrize("base_id", sorted(TOTALS))
def test_full_manifest_matches_the_official_index_totals(builtin: dict[str, Architecture], base_id: str) -> None:
    arch = builtin[base_id]
    tensors, params, bf16_bytes = TOTALS[base_id]
    for layout in arch.full_layouts():
        manifest = arch.expected_tensors(layout)
        assert len(manifest) == tensors, layout
        assert sum(math.prod(shape) for shape in manifest.values()) == params, layout
    assert arch.parameter_count() == params
    assert arch.parameter_count() * 2 == bf16_bytes


@pytest.mark.parametrize("base_id", sorted(LORA))
def test_lora_shapes_match_the_derived_table(builtin: dict[str, Architecture], base_id: str) -> None:
    q, kv, o, gate_up, down, hidden, vocab = LORA[base_id]
    modules = builtin[base_id].lora_modules()
    assert list(modules) == [
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
    ]
    assert modules["self_attn.q_proj"] == LinearShape(*q)
    assert modules["self_attn.k_proj"] == LinearShape(*kv)
    assert modules["self_attn.v_proj"] == LinearShape(*kv)
    assert modules["self_attn.o_proj"] == LinearShape(*o)
    assert modules["mlp.gate_proj"] == LinearShape(*gate_up)
    assert modules["mlp.up_proj"] == LinearShape(*gate_up)
    assert modules["mlp.down_proj"] == LinearShape(*down)
    assert builtin[base_id].lora_top_level() == {
        "lm_head": LinearShape(in_features=hidden, out_features=vocab),
        "embed_tokens": LinearShape(in_features=vocab, out_features=hidden),
    }


@pytest.mark.parametrize("base_id", sorted(LORA_PARAMS_PER_RANK))
def test_all_linear_lora_parameters_per_rank(builtin: dict[str, Architecture], base_id: str) -> None:
    arch = builtin[base_id]
    per_layer = sum(m.in_features + m.out_features for m in arch.lora_modules().values())
    assert per_layer * arch.num_hidden_layers == LORA_PARAMS_PER_RANK[base_id]


# ---------------------------------------------------------------------------------------------
# Names and family differences in the manifest
# ---------------------------------------------------------------------------------------------


def test_qwen3_layers_have_qk_norm_and_no_bias(builtin: dict[str, Architecture]) -> None:
    manifest = builtin["qwen3-32b"].expected_tensors("hf")
    layer = {k.removeprefix("model.layers.7."): v for k, v in manifest.items() if k.startswith("model.layers.7.")}
    assert layer == {
        "input_layernorm.weight": (5120,),
        "post_attention_layernorm.weight": (5120,),
        "self_attn.q_proj.weight": (8192, 5120),
        "self_attn.k_proj.weight": (1024, 5120),
        "self_attn.v_proj.weight": (1024, 5120),
        "self_attn.o_proj.weight": (5120, 8192),
        "self_attn.q_norm.weight": (128,),
        "self_attn.k_norm.weight": (128,),
        "mlp.gate_proj.weight": (25600, 5120),
        "mlp.up_proj.weight": (25600, 5120),
        "mlp.down_proj.weight": (5120, 25600),
    }
    assert manifest["model.embed_tokens.weight"] == (151936, 5120)
    assert manifest["model.norm.weight"] == (5120,)
    assert manifest["lm_head.weight"] == (151936, 5120)
    assert "model.layers.64.input_layernorm.weight" not in manifest


def test_qwen2_layers_have_qkv_bias_and_no_o_bias(builtin: dict[str, Architecture]) -> None:
    manifest = builtin["qwen2.5-7b-instruct"].expected_tensors("hf")
    assert manifest["model.layers.0.self_attn.q_proj.bias"] == (3584,)
    assert manifest["model.layers.0.self_attn.k_proj.bias"] == (512,)
    assert manifest["model.layers.0.self_attn.v_proj.bias"] == (512,)
    assert "model.layers.0.self_attn.o_proj.bias" not in manifest
    assert not any("q_norm" in name for name in manifest)
    assert builtin["qwen2.5-7b-instruct"].head_dim == 128  # derived: 3584 // 28


def test_a_tied_base_has_no_lm_head_in_its_manifest(builtin: dict[str, Architecture]) -> None:
    tied = builtin["qwen3-4b-instruct-2507"]
    assert tied.tie_word_embeddings
    assert "lm_head.weight" not in tied.expected_tensors("hf")
    assert "lm_head" in tied.lora_top_level()  # the module exists; only its weight is shared


def test_qwen2_5_vl_layouts_differ_only_in_prefix(builtin: dict[str, Architecture]) -> None:
    arch = builtin["qwen2.5-vl-7b-instruct"]
    assert arch.full_layouts() == ("hf>=4.52", "original")
    assert arch.text_prefixes() == ("model.language_model.", "model.")
    new, old = arch.expected_tensors("hf>=4.52"), arch.expected_tensors("original")

    def renamed(name: str) -> str:
        if name.startswith("visual."):
            return "model." + name
        if name.startswith("model."):
            return "model.language_model." + name.removeprefix("model.")
        return name

    assert {renamed(name): shape for name, shape in old.items()} == new
    assert new["model.visual.patch_embed.proj.weight"] == (1280, 3, 2, 14, 14)
    assert new["model.visual.blocks.31.mlp.gate_proj.weight"] == (3420, 1280)
    assert new["model.visual.merger.mlp.0.weight"] == (5120, 5120)
    assert new["model.visual.merger.mlp.2.weight"] == (3584, 5120)
    assert old["model.layers.27.self_attn.q_proj.bias"] == (3584,)
    assert sum(1 for name in new if name.startswith("model.visual.")) == 390


def test_qwen2_5_vl_72b_uses_the_3456_vision_mlp(builtin: dict[str, Architecture]) -> None:
    arch = builtin["qwen2.5-vl-72b-instruct"]
    assert arch.vision is not None and arch.vision.intermediate_size == 3456
    manifest = arch.expected_tensors("original")
    assert manifest["visual.blocks.0.mlp.down_proj.weight"] == (1280, 3456)
    assert manifest["visual.merger.mlp.2.weight"] == (8192, 5120)


def test_qwen3_vl_manifest_has_deepstack_mergers(builtin: dict[str, Architecture]) -> None:
    arch = builtin["qwen3-vl-8b-instruct"]
    assert arch.text_prefixes() == ("model.language_model.",)
    assert arch.full_layouts() == ("hf",)
    manifest = arch.expected_tensors("hf")
    text = [name for name in manifest if not name.startswith("model.visual.")]
    assert len(text) == 399 and len(manifest) - len(text) == 351
    assert manifest["model.language_model.layers.0.self_attn.q_norm.weight"] == (128,)
    assert manifest["model.visual.patch_embed.proj.weight"] == (1152, 3, 2, 16, 16)
    assert manifest["model.visual.pos_embed.weight"] == (2304, 1152)
    assert manifest["model.visual.merger.norm.weight"] == (1152,)
    assert manifest["model.visual.deepstack_merger_list.2.norm.weight"] == (4608,)
    assert manifest["model.visual.deepstack_merger_list.2.linear_fc2.weight"] == (4096, 4608)
    assert "model.visual.deepstack_merger_list.3.norm.weight" not in manifest


def test_text_models_have_one_layout_and_no_vision(builtin: dict[str, Architecture]) -> None:
    arch = builtin["qwen3-8b"]
    assert arch.full_layouts() == ("hf",)
    assert arch.text_prefixes() == ("model.",)
    assert not arch.is_vision_language and arch.vision is None
    with pytest.raises(ValueError, match="original"):
        arch.expected_tensors("original")


def test_loading_fields_tell_lookalike_bases_apart(builtin: dict[str, Architecture]) -> None:
    text, vl = builtin["qwen3-8b"].loading_fields(), builtin["qwen3-vl-8b-instruct"].loading_fields()
    shared = {k for k in text if k not in ("architectures", "model_type")}
    assert {k: text[k] for k in shared} == {k: vl[k] for k in shared}
    assert text["model_type"] != vl["model_type"]
    assert vl["vision.deepstack_visual_indexes"] == (8, 16, 24)
    assert not any(key.startswith("vision.") for key in text)
    assert builtin["qwen2.5-vl-7b-instruct"].loading_fields()["vision.intermediate_size"] == 3420


def test_loading_fields_ignore_non_loading_keys_and_catch_loading_ones() -> None:
    base = builtin_config("qwen3-8b")
    reference = Architecture.from_config(base).loading_fields()
    harmless = {**base, "rope_theta": 5, "transformers_version": "5.0.0", "dtype": "float32"}
    assert Architecture.from_config(harmless).loading_fields() == reference
    fewer_layers = {**base, "num_hidden_layers": 35}
    assert Architecture.from_config(fewer_layers).loading_fields()["text.num_hidden_layers"] == 35
    tied = {**base, "tie_word_embeddings": True}
    assert Architecture.from_config(tied).loading_fields() != reference


# ---------------------------------------------------------------------------------------------
# from_config edge cases
# ---------------------------------------------------------------------------------------------


def test_qwen3_head_dim_is_explicit_not_hidden_over_heads() -> None:
    config = builtin_config("qwen3-32b")
    assert Architecture.from_config(config).head_dim == 128  # 5120 // 64 would be 80
    del config["head_dim"]
    assert Architecture.from_config(config).head_dim == 128  # transformers' Qwen3Config default


def test_qwen2_head_dim_can_be_set_explicitly() -> None:
    config = {**builtin_config("qwen2.5-7b-instruct"), "head_dim": 64}
    arch = Architecture.from_config(config)
    assert arch.lora_modules()["self_attn.q_proj"] == LinearShape(3584, 28 * 64)


def test_missing_kv_heads_means_multi_head_attention() -> None:
    config = builtin_config("qwen2.5-7b-instruct")
    del config["num_key_value_heads"]
    assert Architecture.from_config(config).num_key_value_heads == 28


def test_tie_flag_only_inside_text_config_is_read() -> None:
    config = builtin_config("qwen3-vl-8b-instruct")
    del config["tie_word_embeddings"]
    config["text_config"]["tie_word_embeddings"] = True
    arch = Architecture.from_config(config)
    assert arch.tie_word_embeddings
    assert "lm_head.weight" not in arch.expected_tensors("hf")


def test_conflicting_tie_flags_are_refused() -> None:
    config = builtin_config("qwen3-vl-8b-instruct")
    config["text_config"]["tie_word_embeddings"] = True
    with pytest.raises(ArchitectureError, match=r"tie_word_embeddings .* text_config\.tie_word_embeddings"):
        Architecture.from_config(config)


def test_qwen2_5_vl_with_nested_text_config_reads_it() -> None:
    config = builtin_config("qwen2.5-vl-7b-instruct")
    text_keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
    config["text_config"] = {key: config[key] for key in (*text_keys, "num_key_value_heads", "vocab_size")}
    assert Architecture.from_config(config) == Architecture.from_config(builtin_config("qwen2.5-vl-7b-instruct"))
    for key in text_keys:
        del config[key]  # transformers 5 writes the text fields only under text_config
    assert Architecture.from_config(config).hidden_size == 3584
    config["text_config"]["vocab_size"] = 151936
    conflict = r"text_config\.vocab_size to 151936 but vocab_size to 152064"
    with pytest.raises(ArchitectureError, match=conflict):
        Architecture.from_config(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"model_type": "llama"},
            "model_type must be one of qwen2, qwen2_5_vl, qwen3, qwen3_vl; found 'llama'",
        ),
        ({"model_type": ["qwen3"]}, "model_type must be one of"),
        (
            {"architectures": ["Qwen2ForCausalLM"]},
            r"architectures must be \['Qwen3ForCausalLM'\] for model_type qwen3; "
            r"found \['Qwen2ForCausalLM'\]",
        ),
        ({"hidden_size": "4096"}, "hidden_size must be an integer from 1 to 1048576; found '4096'"),
        ({"hidden_size": 4096.0}, "hidden_size must be an integer"),
        ({"hidden_size": True}, "hidden_size must be an integer"),
        ({"intermediate_size": 0}, "intermediate_size must be an integer from 1"),
        ({"num_hidden_layers": 10**9}, "num_hidden_layers must be an integer from 1 to 1024"),
        ({"vocab_size": None}, "vocab_size must be an integer"),
        (
            {"num_key_value_heads": 5},
            r"num_attention_heads \(32\) must be a multiple of num_key_value_heads \(5\)",
        ),
        ({"tie_word_embeddings": "false"}, "tie_word_embeddings must be true or false; found 'false'"),
        ({"attention_bias": True}, "attention_bias to true"),
        ({"head_dim": -128}, "head_dim must be an integer"),
    ],
)
def test_ill_formed_qwen3_configs_are_refused_with_a_sentence(edit: dict[str, Any], message: str) -> None:
    config = {**builtin_config("qwen3-8b"), **edit}
    with pytest.raises(ArchitectureError, match=message) as caught:
        Architecture.from_config(config)
    assert str(caught.value).startswith("config.json") and str(caught.value).endswith(".")


def test_missing_fields_are_named() -> None:
    config = builtin_config("qwen3-8b")
    del config["intermediate_size"]
    with pytest.raises(ArchitectureError, match=r"config\.json has no intermediate_size; it is required\."):
        Architecture.from_config(config)
    vl = builtin_config("qwen3-vl-8b-instruct")
    del vl["text_config"]
    with pytest.raises(ArchitectureError, match="has no text_config"):
        Architecture.from_config(vl)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"out_hidden_size": 3584},
            "vision_config.out_hidden_size must equal the text hidden_size 4096; found 3584",
        ),
        (
            {"deepstack_visual_indexes": [8, 16, 27]},
            "deepstack_visual_indexes must be a list of distinct integers",
        ),
        (
            {"deepstack_visual_indexes": [8, 8]},
            "deepstack_visual_indexes must be a list of distinct integers",
        ),
        (
            {"num_heads": 7},
            r"vision_config.hidden_size \(1152\) must be a multiple of vision_config.num_heads",
        ),
        ({"depth": "27"}, "vision_config.depth must be an integer"),
    ],
)
def test_ill_formed_vision_configs_are_refused(edit: dict[str, Any], message: str) -> None:
    config = builtin_config("qwen3-vl-8b-instruct")
    config["vision_config"].update(edit)
    with pytest.raises(ArchitectureError, match=message):
        Architecture.from_config(config)


def test_a_vl_config_without_vision_config_is_refused() -> None:
    config = builtin_config("qwen2.5-vl-7b-instruct")
    del config["vision_config"]
    with pytest.raises(ArchitectureError, match="has no vision_config"):
        Architecture.from_config(config)


# ---------------------------------------------------------------------------------------------
# Operator bases under <data_dir>/base_models/
# ---------------------------------------------------------------------------------------------


def tiny_config(model_type: str) -> dict[str, Any]:
    """Small synthetic Qwen configs of the kind tests and benchmarks use."""
    text = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 1000,
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
        "torch_dtype": "bfloat16",
    }
    if model_type == "qwen2":
        return {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "tie_word_embeddings": False,
            **text,
        }
    if model_type == "qwen3":
        return {
            "architectures": ["Qwen3ForCausalLM"],
            "model_type": "qwen3",
            "head_dim": 16,
            "tie_word_embeddings": True,
            **text,
        }
    if model_type == "qwen2_5_vl":
        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 48,
            "num_heads": 2,
            "out_hidden_size": 64,
        }
        return {
            "architectures": ["Qwen2_5_VLForConditionalGeneration"],
            "model_type": "qwen2_5_vl",
            **text,
            "vision_config": {**vision, "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2},
        }
    assert model_type == "qwen3_vl"
    return {
        "architectures": ["Qwen3VLForConditionalGeneration"],
        "model_type": "qwen3_vl",
        "text_config": {**text, "head_dim": 16},
        "vision_config": {
            "depth": 3,
            "hidden_size": 32,
            "intermediate_size": 48,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 16,
            "num_position_embeddings": 16,
            "deepstack_visual_indexes": [1],
        },
    }


def write_base(data_dir: Path, base_id: str, files: dict[str, bytes | str | dict[str, Any]]) -> Path:
    folder = data_dir / "base_models" / base_id
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, dict):
            content = json.dumps(content)
        if isinstance(content, str):
            content = content.encode()
        (folder / name).write_bytes(content)
    return folder


def manual_text_params(h: int, i: int, layers: int, heads: int, kv: int, hd: int, vocab: int, *, qwen3: bool) -> int:
    """An independent per-tensor sum for a Qwen decoder with an untied head."""
    attn = h * heads * hd * 2 + h * kv * hd * 2
    extra = 2 * hd if qwen3 else heads * hd + 2 * kv * hd
    per_layer = 2 * h + attn + extra + 3 * h * i
    return vocab * h + layers * per_layer + h + vocab * h


@pytest.mark.parametrize("model_type", ["qwen2", "qwen3", "qwen2_5_vl", "qwen3_vl"])
def test_tiny_operator_bases_load_for_every_model_type(tmp_path: Path, model_type: str) -> None:
    write_base(tmp_path, f"tiny-{model_type.replace('_', '-')}", {"config.json": tiny_config(model_type)})
    base = load_catalog(tmp_path).get(f"tiny-{model_type.replace('_', '-')}")
    assert base is not None and base.origin == "data_dir"
    assert base.weight_types == {"lora", "full"}
    arch = base.architecture
    assert arch.model_type == model_type
    json.dumps(base.summary())
    for layout in arch.full_layouts():
        manifest = arch.expected_tensors(layout)
        assert all(all(dim > 0 for dim in shape) for shape in manifest.values())
        assert sum(math.prod(s) for s in manifest.values()) == arch.parameter_count()


def test_tiny_qwen2_manifest_by_hand(tmp_path: Path) -> None:
    arch = Architecture.from_config(tiny_config("qwen2"))
    manifest = arch.expected_tensors("hf")
    assert len(manifest) == 1 + 2 * 12 + 1 + 1
    assert arch.head_dim == 16
    assert arch.parameter_count() == manual_text_params(64, 128, 2, 4, 2, 16, 1000, qwen3=False)


def test_tiny_qwen3_manifest_by_hand() -> None:
    arch = Architecture.from_config(tiny_config("qwen3"))  # tied: no lm_head
    assert sorted(arch.expected_tensors("hf")) == sorted(
        ["model.embed_tokens.weight", "model.norm.weight"]
        + [
            f"model.layers.{n}.{suffix}"
            for n in range(2)
            for suffix in (
                "input_layernorm.weight",
                "post_attention_layernorm.weight",
                "self_attn.q_proj.weight",
                "self_attn.k_proj.weight",
                "self_attn.v_proj.weight",
                "self_attn.o_proj.weight",
                "self_attn.q_norm.weight",
                "self_attn.k_norm.weight",
                "mlp.gate_proj.weight",
                "mlp.up_proj.weight",
                "mlp.down_proj.weight",
            )
        ]
    )
    untied = manual_text_params(64, 128, 2, 4, 2, 16, 1000, qwen3=True)
    assert arch.parameter_count() == untied - 1000 * 64


def test_tiny_vision_towers_by_hand() -> None:
    q25 = Architecture.from_config(tiny_config("qwen2_5_vl"))
    assert q25.vision is not None
    vision_25 = q25.vision.tensors("visual.")
    assert len(vision_25) == 1 + 2 * 12 + 5
    assert vision_25["visual.patch_embed.proj.weight"] == (32, 3, 2, 14, 14)
    assert vision_25["visual.merger.mlp.0.weight"] == (128, 128)
    assert vision_25["visual.merger.mlp.2.weight"] == (64, 128)
    q3 = Architecture.from_config(tiny_config("qwen3_vl"))
    assert q3.vision is not None
    vision_3 = q3.vision.tensors("model.visual.")
    assert len(vision_3) == 3 + 3 * 12 + 6 + 1 * 6
    assert vision_3["model.visual.pos_embed.weight"] == (16, 32)
    assert vision_3["model.visual.deepstack_merger_list.0.norm.bias"] == (128,)


def test_augmenting_a_builtin_adds_reference_files_and_keeps_its_config(tmp_path: Path) -> None:
    tokenizer_config = {
        "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
        "model_max_length": 1,
    }
    write_base(
        tmp_path,
        "qwen3-8b",
        {"tokenizer_config.json": tokenizer_config, "merges.txt": "#version: 0.2\n", "notes.md": "ignored"},
    )
    catalog = load_catalog(tmp_path)
    base = catalog.get("qwen3-8b")
    assert base is not None
    assert base.origin == "builtin"
    assert base.architecture == load_catalog(None).get("qwen3-8b").architecture  # type: ignore[union-attr]
    assert set(base.reference_files) == {"tokenizer_config.json", "merges.txt"}
    assert base.reference_files["merges.txt"] == b"#version: 0.2\n"
    assert base.summary()["has_reference_chat_template"] is True


def test_a_chat_template_file_counts_as_a_reference_template(tmp_path: Path) -> None:
    write_base(tmp_path, "qwen2.5-7b-instruct", {"chat_template.jinja": "{{ messages }}"})
    base = load_catalog(tmp_path).get("qwen2.5-7b-instruct")
    assert base is not None and base.has_reference_chat_template


def test_a_builtin_id_with_a_config_is_replaced(tmp_path: Path) -> None:
    write_base(tmp_path, "qwen3-8b", {"config.json": tiny_config("qwen3")})
    base = load_catalog(tmp_path).get("qwen3-8b")
    assert base is not None
    assert base.origin == "data_dir"
    assert base.architecture.hidden_size == 64
    assert base.summary()["parameter_count"] == base.architecture.parameter_count()


def test_modelport_json_restricts_weight_types(tmp_path: Path) -> None:
    write_base(tmp_path, "tiny", {"config.json": tiny_config("qwen2"), "modelport.json": {"weight_types": ["lora"]}})
    write_base(tmp_path, "qwen2.5-72b-instruct", {"modelport.json": {"weight_types": ["lora", "lora"]}})
    catalog = load_catalog(tmp_path)
    assert catalog.get("tiny").weight_types == {"lora"}  # type: ignore[union-attr]
    seventy_two = catalog.get("qwen2.5-72b-instruct")
    assert seventy_two is not None and seventy_two.origin == "builtin"
    assert seventy_two.weight_types == {"lora"}
    assert seventy_two.summary()["weight_types"] == ["lora"]
    assert catalog.get("qwen2.5-32b-instruct").weight_types == {"lora", "full"}  # type: ignore[union-attr]


def test_operator_bases_join_the_sorted_listing(tmp_path: Path) -> None:
    write_base(tmp_path, "aaa-tiny", {"config.json": tiny_config("qwen3")})
    write_base(tmp_path, "zzz.tiny_2", {"config.json": tiny_config("qwen2")})
    ids = [base.id for base in load_catalog(tmp_path).all()]
    assert ids == sorted([*TOTALS, "aaa-tiny", "zzz.tiny_2"])


def test_a_data_dir_without_base_models_gives_the_builtins(tmp_path: Path) -> None:
    assert len(load_catalog(tmp_path).all()) == 11
    assert len(load_catalog(tmp_path / "missing").all()) == 11


@pytest.mark.parametrize("bad_id", ["Qwen3", "-tiny", ".hidden", "a" * 64, "tiny model", "tiny@1"])
def test_bad_base_ids_are_refused(tmp_path: Path, bad_id: str) -> None:
    write_base(tmp_path, bad_id, {"config.json": tiny_config("qwen2")})
    with pytest.raises(CatalogError, match="is not a valid base model id"):
        load_catalog(tmp_path)


def test_a_folder_with_neither_config_nor_builtin_id_is_refused(tmp_path: Path) -> None:
    write_base(tmp_path, "orphan", {"tokenizer.json": "{}"})
    with pytest.raises(CatalogError, match=r"orphan: has no config.json"):
        load_catalog(tmp_path)


def test_symlinked_config_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    real.write_text(json.dumps(tiny_config("qwen2")))
    folder = write_base(tmp_path, "tiny", {})
    (folder / "config.json").symlink_to(real)
    with pytest.raises(CatalogError, match=r"tiny/config.json: is a symbolic link"):
        load_catalog(tmp_path)


def test_symlinked_reference_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    folder = write_base(tmp_path, "qwen3-8b", {})
    (folder / "merges.txt").symlink_to(tmp_path / "secret")
    with pytest.raises(CatalogError, match=r"merges.txt: is a symbolic link"):
        load_catalog(tmp_path)


def test_symlinked_base_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real-base"
    real.mkdir()
    (real / "config.json").write_text(json.dumps(tiny_config("qwen2")))
    (tmp_path / "base_models").mkdir()
    (tmp_path / "base_models" / "tiny").symlink_to(real, target_is_directory=True)
    with pytest.raises(CatalogError, match=r"base_models/tiny: is a symbolic link"):
        load_catalog(tmp_path)


def test_symlinked_base_models_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base_models").symlink_to(tmp_path / "real", target_is_directory=True)
    with pytest.raises(CatalogError, match="base_models: is a symbolic link"):
        load_catalog(tmp_path / "data")


def test_non_regular_files_are_refused(tmp_path: Path) -> None:
    folder = write_base(tmp_path, "qwen3-8b", {})
    os.mkfifo(folder / "vocab.json")
    with pytest.raises(CatalogError, match=r"vocab.json: is not a regular file"):
        load_catalog(tmp_path)


def test_a_stray_file_in_base_models_is_refused(tmp_path: Path) -> None:
    (tmp_path / "base_models").mkdir()
    (tmp_path / "base_models" / "readme").write_text("hi")
    with pytest.raises(CatalogError, match="readme: is not a directory"):
        load_catalog(tmp_path)


def test_oversize_config_is_refused_before_parsing(tmp_path: Path) -> None:
    config = {**tiny_config("qwen2"), "padding": "x" * (1 << 20)}
    write_base(tmp_path, "tiny", {"config.json": config})
    with pytest.raises(CatalogError, match=r"config.json: is \d+ bytes, over the 1048576-byte limit"):
        load_catalog(tmp_path)


def test_tokenizer_json_may_be_larger_than_other_reference_files(tmp_path: Path) -> None:
    big = b'{"model": "' + b"x" * (5 << 20) + b'"}'
    write_base(tmp_path, "qwen3-8b", {"tokenizer.json": big})
    assert load_catalog(tmp_path).get("qwen3-8b").reference_files["tokenizer.json"] == big  # type: ignore[union-attr]
    write_base(tmp_path, "qwen3-14b", {"vocab.json": big})
    with pytest.raises(CatalogError, match=r"qwen3-14b/vocab.json: is \d+ bytes, over the 4194304-byte limit"):
        load_catalog(tmp_path)


def test_auto_map_in_config_is_refused(tmp_path: Path) -> None:
    config = {**tiny_config("qwen2"), "auto_map": {"AutoModelForCausalLM": "other/repo--modeling.Evil"}}
    write_base(tmp_path, "tiny", {"config.json": config})
    with pytest.raises(CatalogError, match=r"tiny/config.json: has an auto_map key"):
        load_catalog(tmp_path)


def test_nested_auto_map_in_config_is_refused(tmp_path: Path) -> None:
    config = tiny_config("qwen3_vl")
    config["text_config"]["auto_map"] = {"AutoConfig": "configuration.Evil"}
    write_base(tmp_path, "tiny", {"config.json": config})
    with pytest.raises(CatalogError, match="has an auto_map key"):
        load_catalog(tmp_path)


def test_auto_map_in_reference_tokenizer_config_is_refused(tmp_path: Path) -> None:
    write_base(tmp_path, "qwen3-8b", {"tokenizer_config.json": {"auto_map": {"AutoTokenizer": ["t.Evil", None]}}})
    with pytest.raises(CatalogError, match=r"tokenizer_config.json: has an auto_map key"):
        load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"model_type": "qwen2",', "is not valid JSON"),
        (b"[1, 2]", "must hold a JSON object; found list"),
        (b'{"model_type": "qwen2", "model_type": "qwen3"}', "has the key 'model_type' twice"),
        (b'{"hidden_size": NaN}', "contains NaN, which is not valid JSON"),
        (b"\xff\xfe{}", "is not valid UTF-8"),
    ],
)
def test_malformed_config_json_is_refused(tmp_path: Path, raw: bytes, message: str) -> None:
    write_base(tmp_path, "tiny", {"config.json": raw})
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(tmp_path)
    assert "tiny/config.json" in str(caught.value)


def test_malformed_reference_files_are_refused(tmp_path: Path) -> None:
    write_base(tmp_path, "qwen3-8b", {"generation_config.json": b"{not json"})
    with pytest.raises(CatalogError, match=r"generation_config.json: is not valid JSON"):
        load_catalog(tmp_path)


def test_non_utf8_template_is_refused(tmp_path: Path) -> None:
    write_base(tmp_path, "qwen3-8b", {"chat_template.jinja": b"{{ x }}\xff"})
    with pytest.raises(CatalogError, match=r"chat_template.jinja: is not UTF-8 text"):
        load_catalog(tmp_path)


def test_unsupported_model_type_is_refused_naming_the_file(tmp_path: Path) -> None:
    config = {**tiny_config("qwen2"), "model_type": "llama", "architectures": ["LlamaForCausalLM"]}
    write_base(tmp_path, "tiny", {"config.json": config})
    with pytest.raises(CatalogError, match=r"tiny/config.json: config.json field model_type must be one of"):
        load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight_types": []}, "weight_types must be a non-empty list"),
        ({"weight_types": ["qlora"]}, "weight_types must be a non-empty list"),
        ({"weight_types": "lora"}, "weight_types must be a non-empty list"),
        ({"weight_types": [["lora"]]}, "weight_types must be a non-empty list"),
        ({"weight_type": ["lora"]}, "unknown key"),
    ],
)
def test_bad_modelport_json_is_refused(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    write_base(tmp_path, "tiny", {"config.json": tiny_config("qwen2"), "modelport.json": options})
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(tmp_path)
    assert "tiny/modelport.json" in str(caught.value)


def test_summary_is_json_ready_and_complete() -> None:
    summary = load_catalog(None).get("qwen2.5-vl-72b-instruct").summary()  # type: ignore[union-attr]
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "id": "qwen2.5-vl-72b-instruct",
        "model_type": "qwen2_5_vl",
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "hidden_size": 8192,
        "intermediate_size": 29568,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 152064,
        "tie_word_embeddings": False,
        "vision": {"kind": "qwen2_5_vl", "depth": 32, "hidden_size": 1280, "out_hidden_size": 8192},
        "parameter_count": 73_410_777_344,
        "weight_types": ["full", "lora"],
        "origin": "builtin",
        "has_reference_chat_template": True,
    }
    assert load_catalog(None).get("qwen3-8b").summary()["vision"] is None  # type: ignore[union-attr]


def test_builtin_bases_carry_their_official_chat_templates() -> None:
    catalog = load_catalog(None)
    for base in catalog.all():
        assert base.official_chat_templates, base.id
        assert all("<|im_start|>" in template for template in base.official_chat_templates)
    qwen3 = catalog.get("qwen3-8b")
    assert qwen3 is not None and any("enable_thinking" in t for t in qwen3.official_chat_templates)
    instruct_2507 = catalog.get("qwen3-4b-instruct-2507")
    assert instruct_2507 is not None
    assert not any("enable_thinking" in t for t in instruct_2507.official_chat_templates)
