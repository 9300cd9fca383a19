"""config.json, key by key: the Hub's files and transformers 5's re-saves pass for every base; every
refused key is refused with its sentence, every checked key is type-checked and compared with the
base after transformers' normalisations, unknown keys are refused unless the base carries them, and
{"__float__": ...} and over-deep values never reach a loader."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modelport.catalog.catalog import BUILTIN_IDS, BaseModel
from modelport.validation.config_keys import Decision
from modelport.validation.model_config import FAMILIES, MAX_DEPTH
from modelport.validation.model_config_keys import GENERATION_KEYS, Compared
from tests.support.config_checks import builtin, errors, operator_base, run_model_config, tiny
from tests.support.corpus_full_configs import transformers5_config, transformers453_qwen25vl

VL = ("qwen2.5-vl-7b-instruct", "qwen3-vl-8b-instruct")
REPRESENTATIVE = ("qwen2.5-7b-instruct", "qwen3-8b", "qwen3-4b-instruct-2507", *VL)


def hub(base_id: str) -> dict[str, Any]:
    return copy.deepcopy(dict(builtin(base_id).config))


def sections(base_id: str, document: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(path prefix, document class, the dict it reads) for each level of `document`."""
    family = FAMILIES[builtin(base_id).architecture.model_type]
    found: list[tuple[str, Any, dict[str, Any]]] = [("", family.top, document)]
    if family.top is not family.text and "text_config" in document:
        found.append(("text_config.", family.text, document["text_config"]))
    if family.vision is not None:
        found.append(("vision_config.", family.vision, document["vision_config"]))
    return found


@pytest.mark.parametrize("form", ["hub", "transformers5"])
@pytest.mark.parametrize("base_id", BUILTIN_IDS)
def test_the_official_config_passes_as_the_hub_and_transformers_5_write_it(base_id: str, form: str) -> None:
    document = hub(base_id) if form == "hub" else transformers5_config(hub(base_id))
    dtype, found = run_model_config(builtin(base_id), document)
    assert errors(found) == [] and found.warning_count == 0
    assert dtype == "BF16"
    assert [c.outcome.value for c in found.checks if c.name == "full.config"] == ["passed"]


@pytest.mark.parametrize("model_type", ["qwen2", "qwen3", "qwen2_5_vl", "qwen3_vl"])
def test_tiny_operator_configs_pass_in_every_form(model_type: str) -> None:
    base = tiny(model_type)
    forms = [copy.deepcopy(dict(base.config)), transformers5_config(dict(base.config))]
    if model_type == "qwen2_5_vl":
        forms.append(transformers453_qwen25vl(dict(base.config)))
    for document in forms:
        assert errors(run_model_config(base, document)[1]) == []


def _every_rule(base_id: str) -> list[tuple[str, str, Any]]:
    document = transformers5_config(hub(base_id))
    return [(at, key, rule) for at, cls, _ in sections(base_id, document) for key, rule in cls.rules().items()]


@pytest.mark.parametrize("base_id", REPRESENTATIVE)
def test_every_refused_key_is_refused_with_its_sentence(base_id: str) -> None:
    checked = 0
    for at, key, rule in _every_rule(base_id):
        if rule.decision != Decision.REFUSED:
            continue
        document = transformers5_config(hub(base_id))
        _section(document, at)[key] = {"in": "use"}
        messages = [message for _, message in errors(run_model_config(builtin(base_id), document)[1])]
        assert f"config.json: {at}{key} {rule.sentence}" in messages, (key, messages)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("base_id", REPRESENTATIVE)
def test_refused_keys_at_the_loaders_defaults_are_accepted(base_id: str) -> None:
    document = transformers5_config(hub(base_id))
    document.update(
        output_hidden_states=False, return_dict=True, chunk_size_feed_forward=0, is_encoder_decoder=False,
        output_attentions=False, num_labels=2, id2label={"0": "LABEL_0", "1": "LABEL_1"},
        label2id={"LABEL_0": 0, "LABEL_1": 1}, problem_type=None, quantization_config=None, auto_map=None,
    )  # fmt: skip
    assert errors(run_model_config(builtin(base_id), document)[1]) == []


@pytest.mark.parametrize("base_id", REPRESENTATIVE)
def test_every_typed_key_refuses_a_value_of_the_wrong_type(base_id: str) -> None:
    checked = 0
    for at, key, rule in _every_rule(base_id):
        if rule.decision == Decision.REFUSED or key in GENERATION_KEYS or key in ("_commit_hash", "text_config"):
            continue
        if key == "vision_config":
            continue
        document = transformers5_config(hub(base_id))
        _section(document, at)[key] = [{}]
        found = errors(run_model_config(builtin(base_id), document)[1])
        assert ("full.config_schema", f"config.json: {at}{key} must be ") in [
            (c, m[: len(at + key) + 22]) for c, m in found
        ], (
            key,
            found,
        )
        checked += 1
    assert checked >= 25


def _different(value: Any, key: str) -> Any:
    if key == "model_type":
        return "qwen2" if value != "qwen2" else "qwen3"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        return {"rope_type": "linear", "factor": 2.0, "rope_theta": 5.0}
    if isinstance(value, list) and value and isinstance(value[0], str):
        if key == "layer_types":
            return ["sliding_attention"] * len(value)
        return ["Qwen3ForCausalLM"] if value != ["Qwen3ForCausalLM"] else ["Qwen2ForCausalLM"]
    if isinstance(value, list):
        return [v + 1 for v in value] or [0]
    return 1


@pytest.mark.parametrize("base_id", REPRESENTATIVE)
def test_every_compared_key_must_equal_the_base(base_id: str) -> None:
    checked = 0
    for at, key, rule in _every_rule(base_id):
        if not isinstance(rule, Compared) or key in ("dtype", "tie_word_embeddings"):
            continue
        document = transformers5_config(hub(base_id))
        section = _section(document, at)
        if key not in section:
            continue  # compared through its default; the type test covers that the key is read
        section[key] = _different(section[key], key)
        if key == "use_sliding_window":
            section["sliding_window"] = 4
        found = errors(run_model_config(builtin(base_id), document)[1])
        assert any(code == "full.config_mismatch" and f"{at}{key} " in message for code, message in found), (key, found)
        checked += 1
    assert checked >= 12


_ANOTHER_BASE = " — was the model trained from another base?"


@pytest.mark.parametrize(
    ("key", "value", "sentence"),
    [
        ("hidden_act", "gelu", 'hidden_act is "gelu"; qwen3-8b uses "silu" and the weights were trained for it.'),
        ("num_hidden_layers", 35, "num_hidden_layers is 35; qwen3-8b has 36" + _ANOTHER_BASE),
        ("rms_norm_eps", 1e-05, "rms_norm_eps is 1e-05; qwen3-8b uses 1e-06."),
        ("max_position_embeddings", 131072,
         "max_position_embeddings is 131072; qwen3-8b has 40960. Set long-context options at deployment, not in "
         "the upload."),
        ("use_sliding_window", True, "use_sliding_window is true; qwen3-8b has false (full attention in every layer)."),
        ("attention_bias", True, "attention_bias is true; qwen3-8b has false (no attention biases)."),
        ("eos_token_id", [151645, 151643], "eos_token_id is [151645, 151643]; qwen3-8b uses 151645."),
        ("architectures", ["Qwen2ForCausalLM"],
         'architectures is ["Qwen2ForCausalLM"]; qwen3-8b is ["Qwen3ForCausalLM"]. A full fine-tune must keep the '
         "base architecture."),
        ("torch_dtype", "float32",
         "torch_dtype is float32; qwen3-8b weights are bfloat16 and serving would compute in float32."),
        ("tie_word_embeddings", True,
         "tie_word_embeddings is true; qwen3-8b has false (lm_head would be dropped or duplicated)."),
        ("pad_token_id", 151936, "pad_token_id 151936 is outside the vocabulary (0-151935)."),
    ],
)  # fmt: skip
def test_a_difference_from_the_base_reads_as_one_sentence(key: str, value: Any, sentence: str) -> None:
    document = hub("qwen3-8b") | {key: value}
    found = errors(run_model_config(builtin("qwen3-8b"), document)[1])
    assert [message for _, message in found] == ["config.json: " + sentence]


@pytest.mark.parametrize(
    "rope",
    [
        {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}},
        {"rope_scaling": {"type": "linear", "factor": 2.0}},
        {"rope_theta": 10000.0},
        {"rope_parameters": {"rope_type": "default", "rope_theta": 1000000, "partial_rotary_factor": 0.5}},
        {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1000000}}},
        {"rope_parameters": {"rope_type": "default", "type": "yarn", "rope_theta": 1000000}},
    ],
)
def test_rope_settings_must_normalise_to_the_bases(rope: dict[str, Any]) -> None:
    found = errors(run_model_config(builtin("qwen3-8b"), hub("qwen3-8b") | rope)[1])
    assert [code for code, _ in found] == ["full.config_mismatch"]
    assert "RoPE settings" in found[0][1] and "not in the weights folder" in found[0][1]


@pytest.mark.parametrize(
    "rope",
    [
        {"rope_scaling": None, "rope_theta": 1000000.0},
        {"rope_scaling": {}, "rope_theta": 1000000},
        {"rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}},
        {"rope_parameters": {"rope_theta": 1000000.0, "type": "default"}, "rope_theta": 5.0},
    ],
)
def test_every_spelling_of_the_bases_rope_passes(rope: dict[str, Any]) -> None:
    document = {k: v for k, v in hub("qwen3-8b").items() if k not in ("rope_scaling", "rope_theta")} | rope
    assert errors(run_model_config(builtin("qwen3-8b"), document)[1]) == []


def test_qwen2_head_dim_is_accepted_only_as_hidden_over_heads() -> None:
    base = builtin("qwen2.5-7b-instruct")
    assert errors(run_model_config(base, hub(base.id) | {"head_dim": 128})[1]) == []
    assert errors(run_model_config(base, hub(base.id) | {"head_dim": 64})[1]) == [
        ("full.config_mismatch",
         "config.json: head_dim 64 does not match hidden_size/num_attention_heads of qwen2.5-7b-instruct (128).")
    ]  # fmt: skip
    assert errors(run_model_config(base, hub(base.id) | {"head_dim": None})[1])[0][0] == "full.config_schema"


def test_sliding_window_is_inert_while_the_window_is_off() -> None:
    assert errors(run_model_config(builtin("qwen3-8b"), hub("qwen3-8b") | {"sliding_window": 2})[1]) == []


@pytest.mark.parametrize("where", ["", "text_config.", "vision_config."])
def test_unknown_keys_are_refused_at_every_level(where: str) -> None:
    document = transformers5_config(hub("qwen3-vl-8b-instruct"))
    _section(document, where)["is_causal"] = False
    cls = {"": "Qwen3VLConfig", "text_config.": "Qwen3VLTextConfig", "vision_config.": "Qwen3VLVisionConfig"}[where]
    assert errors(run_model_config(builtin("qwen3-vl-8b-instruct"), document)[1]) == [
        ("full.config_refused", f"config.json: {where}is_causal is not a field of {cls}; transformers and vLLM read "
         "unknown config keys as model attributes, so it could change the model. Remove it.")
    ]  # fmt: skip


def test_keys_the_base_carries_are_accepted_only_with_its_value() -> None:
    base = builtin("qwen2.5-vl-7b-instruct")
    _, found = run_model_config(base, hub(base.id))
    assert "carried from the base: vision_token_id, vision_config.in_chans, vision_config.spatial_patch_size" in (
        next(c.detail for c in found.checks if c.name == "full.config") or ""
    )
    document = hub(base.id) | {"vision_token_id": 7}
    assert errors(run_model_config(base, document)[1]) == [
        ("full.config_refused",
         "config.json: vision_token_id is 7; the official qwen2.5-vl-7b-instruct config has 151654.")
    ]  # fmt: skip
    operator = operator_base(hub(base.id) | {"is_causal": True}, base_id="causal")
    assert errors(run_model_config(operator, hub(base.id) | {"is_causal": True})[1]) == []
    assert errors(run_model_config(operator, hub(base.id) | {"is_causal": False})[1])[0][1].endswith(
        "is_causal is false; the causal config has true."
    )


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.update(rms_norm_eps={"__float__": "NaN"}), "rms_norm_eps"),
        (lambda d: d.update(rope_parameters={"rope_type": "default", "rope_theta": {"__float__": "Infinity"}}),
         "rope_parameters.rope_theta"),
        (lambda d: d.update(eos_token_id=[151645, {"__float__": "-Infinity"}]), "eos_token_id[1]"),
        (lambda d: d.update(temperature={"__float__": "NaN"}), "temperature"),
        (lambda d: d.update(mystery={"__float__": "anything"}), "mystery"),
    ],
)  # fmt: skip
def test_float_tags_transformers_would_decode_are_refused_once(edit: Any, path: str) -> None:
    document = hub("qwen3-8b")
    edit(document)
    found = errors(run_model_config(builtin("qwen3-8b"), document)[1])
    assert len(found) == 1 and found[0][0] == "full.config_schema"
    assert found[0][1].startswith(f"config.json: {path} is not a finite number: transformers decodes")


def test_a_float_tag_inside_a_vl_sub_config_is_named_by_its_path() -> None:
    document = transformers5_config(hub("qwen3-vl-8b-instruct"))
    document["text_config"]["rms_norm_eps"] = {"__float__": "NaN"}
    document["vision_config"]["depth"] = {"__float__": "Infinity"}
    found = errors(run_model_config(builtin("qwen3-vl-8b-instruct"), document)[1])
    assert [m.split(" is ")[0] for _, m in found] == [
        "config.json: text_config.rms_norm_eps",
        "config.json: vision_config.depth",
    ]


def test_values_nested_deeper_than_any_config_key_are_refused_without_recursion() -> None:
    deep: Any = 1
    for _ in range(900):
        deep = [deep]
    document = hub("qwen3-8b") | {"rope_parameters": {"x": deep}, "id2label": deep}
    found = errors(run_model_config(builtin("qwen3-8b"), document)[1])
    assert {code for code, _ in found} == {"full.config_schema"}
    assert all(f"nested more than {MAX_DEPTH} levels deep" in message for _, message in found)


def test_the_vl_text_config_may_repeat_top_level_keys_only_in_agreement() -> None:
    base = builtin("qwen2.5-vl-7b-instruct")
    nested = transformers5_config(hub(base.id))
    both = nested | {"hidden_size": 3584, "rope_theta": 1000000.0, "use_sliding_window": False}
    assert errors(run_model_config(base, both)[1]) == []
    found = errors(run_model_config(base, nested | {"rope_theta": 10.0})[1])
    assert [code for code, _ in found] == ["full.config_schema"]
    assert found[0][1].startswith("config.json: rope_theta is 10.0 at the top level but text_config says")


def test_vision_num_attention_heads_is_compared_as_num_heads() -> None:
    base = builtin("qwen2.5-vl-7b-instruct")
    document = hub(base.id)
    document["vision_config"]["num_attention_heads"] = 16
    assert errors(run_model_config(base, document)[1]) == []
    document["vision_config"]["num_attention_heads"] = 8
    assert errors(run_model_config(base, document)[1]) == [
        ("full.config_mismatch", "config.json: vision_config.num_heads is 8; qwen2.5-vl-7b-instruct has 16.")
    ]


def test_qwen3_vl_text_config_tie_is_compared_because_vllm_reads_it_there() -> None:
    base = builtin("qwen3-vl-8b-instruct")
    document = hub(base.id)
    document["text_config"]["tie_word_embeddings"] = False
    assert errors(run_model_config(base, document)[1]) == []
    document["text_config"]["tie_word_embeddings"] = True
    assert [m for _, m in errors(run_model_config(base, document)[1])] == [
        "config.json: text_config.tie_word_embeddings is true; qwen3-vl-8b-instruct has false (lm_head would be "
        "dropped or duplicated)."
    ]


def test_a_vl_config_needs_its_sub_configs() -> None:
    document = hub("qwen3-vl-8b-instruct")
    del document["text_config"], document["vision_config"]
    found = errors(run_model_config(builtin("qwen3-vl-8b-instruct"), document)[1])
    assert {m for _, m in found} == {
        "config.json: text_config must be a JSON object; found nothing (the key is required).",
        "config.json: vision_config must be a JSON object; found nothing (the key is required).",
    }


@pytest.mark.parametrize("base_id", ["qwen2.5-vl-7b-instruct", "qwen2.5-vl-72b-instruct"])
def test_the_official_vl_config_passes_as_transformers_4_53_writes_it(base_id: str) -> None:
    # text_config repeats the flat keys (with null image/video ids) and both sub-configs say float32.
    document = transformers453_qwen25vl(hub(base_id))
    assert document["text_config"]["torch_dtype"] == document["vision_config"]["torch_dtype"] == "float32"
    dtype, found = run_model_config(builtin(base_id), document)
    assert errors(found) == [] and dtype == "BF16"


def test_the_dtype_that_serves_is_compared_the_first_declared_from_the_top() -> None:
    base = builtin("qwen3-vl-8b-instruct")
    document = transformers5_config(hub(base.id))
    document["text_config"]["dtype"] = "half"  # under a top-level dtype: both loaders use the top's
    assert errors(run_model_config(base, document)[1]) == []
    del document["dtype"]
    assert [m for _, m in errors(run_model_config(base, document)[1])] == [
        "config.json: text_config.dtype is float16; qwen3-vl-8b-instruct weights are bfloat16 and serving would "
        "compute in float16."
    ]
    document = hub("qwen3-8b") | {"dtype": "bfloat16", "torch_dtype": "float16"}  # dtype wins over torch_dtype
    assert errors(run_model_config(builtin("qwen3-8b"), document)[1]) == []
    without = {k: v for k, v in tiny("qwen3").config.items() if k != "torch_dtype"}
    undeclared = operator_base(without)
    assert errors(run_model_config(undeclared, without | {"dtype": "float32"})[1]) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([1], "config.json must be a JSON object; found a list."),
        ("x", "config.json must be a JSON object; found a string."),
        ({"model_type": "llama"}, "config.json: model_type \"llama\" is not a Qwen architecture modelport imports; "
         "qwen3-8b is a qwen3 model (Qwen3ForCausalLM)."),
    ],
)  # fmt: skip
def test_what_is_not_a_qwen_config_object(document: Any, expected: str) -> None:
    assert errors(run_model_config(builtin("qwen3-8b"), document)[1])[0][1] == expected


def test_sampling_keys_in_config_json_earn_a_warning_not_an_error() -> None:
    _, found = run_model_config(builtin("qwen3-8b"), hub("qwen3-8b") | {"temperature": 0.6, "top_k": 20})
    assert errors(found) == []
    assert [f.message for f in found.warnings] == [
        "config.json: temperature, top_k are dropped when transformers loads the config and never read by vLLM; "
        "put sampling defaults in generation_config.json."
    ]


def test_every_compared_key_has_the_config_class_default() -> None:
    for family in FAMILIES.values():
        for document in filter(None, (family.top, family.text, family.vision)):
            for key, rule in document.rules().items():
                if isinstance(rule, Compared) and key not in ("rope_parameters", "layer_types"):
                    assert key in document.DEFAULTS, (document.__name__, key)


def _section(document: dict[str, Any], at: str) -> dict[str, Any]:
    return document[at.rstrip(".")] if at else document


def _base(base_id: str) -> BaseModel:
    return builtin(base_id)
