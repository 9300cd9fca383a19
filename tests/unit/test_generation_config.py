"""generation_config.json, key by key: vLLM's sampling ranges at their boundaries, the stop tokens
against the base (builtin facts, the operator's reference, or "not compared"), options only
transformers' generate() honours refused unless they hold its default, and unknown keys refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from modelport.catalog.catalog import BUILTIN_IDS
from modelport.validation.generation_config import TRANSFORMERS_ONLY, GenerationDocument
from tests.support.config_checks import builtin, errors, operator_base, run_generation_config, tiny

QWEN3 = {
    "bos_token_id": 151643, "pad_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": True,
    "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0",
}  # fmt: skip
VLLM = "(vLLM rejects every request otherwise)"


def run(document: Any, base_id: str = "qwen3-8b") -> list[tuple[str, str]]:
    return errors(run_generation_config(builtin(base_id), document))


def outcome(found: Any, name: str) -> str:
    return next(check.outcome.value for check in found.checks if check.name == name)


@pytest.mark.parametrize("base_id", BUILTIN_IDS)
def test_the_official_generation_config_passes_and_its_ids_are_compared(base_id: str) -> None:
    found = run_generation_config(builtin(base_id), QWEN3)
    assert errors(found) == []
    assert outcome(found, "full.generation_config.base") == "passed"


@pytest.mark.parametrize(
    ("key", "good", "bad", "expect"),
    [
        ("temperature", [0, 0.0, 2, 1e-9], [-0.01, 2.0001, 1e308, True, "0.7"], "a number between 0 and 2"),
        ("top_p", [1, 1e-9, 0.5], [0, 0.0, 1.01, -1], "a number in (0, 1]"),
        ("top_k", [-1, 0, 20, 2**63 - 1], [-2, 20.0, "20", True], "an integer of at least -1"),
        ("min_p", [0, 1, 0.05], [-0.1, 1.5], "a number in [0, 1]"),
        ("repetition_penalty", [1.05, 2, 1e-6], [0, -1, 2.5], "a positive number up to 2"),
        ("presence_penalty", [-2, 2, 0.0], [-2.1, 3], "in [-2, 2]"),
        ("frequency_penalty", [-2, 2, 1.5], [2.5, -3], "in [-2, 2]"),
        ("max_new_tokens", [1, 40960], [0, -1, 1.0, 40961], "an integer"),
        ("do_sample", [True, False], ["true", 1], "true or false"),
    ],
)  # fmt: skip
def test_sampling_defaults_are_held_to_the_ranges_vllm_accepts(
    key: str, good: list[Any], bad: list[Any], expect: str
) -> None:
    for value in good:
        assert run(QWEN3 | {key: value}) == [], (key, value)
    for value in bad:
        found = run(QWEN3 | {key: value})
        assert len(found) == 1 and found[0][0] == "full.generation_config", (key, value, found)
        assert found[0][1].startswith(f"generation_config.json: {key} must be"), found
        assert expect in found[0][1]


def test_an_out_of_range_default_says_why_it_matters() -> None:
    assert run(QWEN3 | {"temperature": 5.0}) == [
        ("full.generation_config",
         f"generation_config.json: temperature must be a number between 0 and 2 {VLLM}; found 5.0.")
    ]  # fmt: skip


def test_max_new_tokens_is_bounded_by_the_base_context() -> None:
    assert run(QWEN3 | {"max_new_tokens": 40961}) == [
        ("full.generation_config",
         "generation_config.json: max_new_tokens must be an integer from 1 to 40960 (the context of qwen3-8b); "
         "found 40961.")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("eos", "message"),
    [
        (151645, "eos_token_id is 151645"),
        ([151643], "eos_token_id is [151643]"),
        ([151645, 151643, 151644], "eos_token_id is [151645, 151643, 151644]"),
        (None, "eos_token_id is null"),
    ],
)
def test_the_stop_tokens_must_be_the_bases(eos: Any, message: str) -> None:
    assert run(QWEN3 | {"eos_token_id": eos}) == [
        ("full.generation_config_mismatch",
         f"generation_config.json: {message}; qwen3-8b stops on [151645, 151643] (<|im_end|>, <|endoftext|>).")
    ]  # fmt: skip


def test_the_stop_tokens_are_a_set() -> None:
    assert run(QWEN3 | {"eos_token_id": [151643, 151645]}) == []
    assert run(QWEN3 | {"eos_token_id": [151645, 151645, 151643]}) == [
        ("full.generation_config",
         "generation_config.json: eos_token_id [151645, 151645, 151643] lists a token id twice.")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("eos_token_id", [151645, 151936], "full.generation_config"),
        ("eos_token_id", [], "full.generation_config"),
        ("eos_token_id", "151645", "full.generation_config"),
        ("eos_token_id", -1, "full.generation_config"),
        ("bos_token_id", 151936, "full.generation_config"),
        ("pad_token_id", 0, "full.generation_config_mismatch"),
        ("decoder_start_token_id", 10**6, "full.generation_config"),
        ("bos_token_id", "١٥١٦٤٣", "full.generation_config"),  # Arabic-Indic digits: int() reads them
    ],
)
def test_token_ids_are_json_integers_inside_the_vocabulary(key: str, value: Any, code: str) -> None:
    found = run(QWEN3 | {key: value})
    assert [c for c, _ in found] == [code], found
    assert found[0][1].startswith(f"generation_config.json: {key} ")


def test_bos_and_pad_may_be_absent_or_null() -> None:
    assert run({k: v for k, v in QWEN3.items() if k not in ("bos_token_id", "pad_token_id")}) == []
    assert run(QWEN3 | {"bos_token_id": None, "pad_token_id": None}) == []


@pytest.mark.parametrize("key", sorted(TRANSFORMERS_ONLY))
def test_options_only_transformers_honours_are_refused_unless_at_its_default(key: str) -> None:
    default = TRANSFORMERS_ONLY[key]
    assert run(QWEN3 | {key: None}) == []
    if default is not None:
        assert run(QWEN3 | {key: default}) == []
    for value in ("set", 7, [], {"a": 1}, True):
        if value == default and type(value) is type(default):
            continue
        assert run(QWEN3 | {key: value}) == [
            ("full.generation_config_refused",
             f"generation_config.json: {key} changes how transformers generates but vLLM ignores it, so the two would "
             "serve differently; remove it.")
        ], (key, value)  # fmt: skip


def test_a_refused_key_does_not_hide_a_stop_token_difference() -> None:
    assert [code for code, _ in run(QWEN3 | {"num_beams": 4, "eos_token_id": 151645})] == [
        "full.generation_config_refused",
        "full.generation_config_mismatch",
    ]


def test_zero_is_not_unset() -> None:
    assert [code for code, _ in run(QWEN3 | {"forced_eos_token_id": 0, "length_penalty": 0})] == [
        "full.generation_config_refused",
        "full.generation_config_refused",
    ]


@pytest.mark.parametrize("key", ["auto_map", "custom_generate", "trust_remote_code"])
def test_custom_generation_code_is_refused(key: str) -> None:
    assert run(QWEN3 | {key: "evil/repo"}) == [
        ("full.generation_config_refused",
         f"generation_config.json: {key} points at custom generation code; remote code is never run.")
    ]  # fmt: skip


def test_unknown_keys_are_refused() -> None:
    assert run(QWEN3 | {"foo_bar": 1}) == [
        ("full.generation_config_refused",
         "generation_config.json: foo_bar is not a GenerationConfig setting known to transformers 5; remove it.")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value"),
    [("use_cache", False), ("cache_implementation", "static"), ("output_scores", True), ("max_cache_len", 4096),
     ("_from_model_config", True), ("transformers_version", "5.19.0"), ("return_dict_in_generate", True)],
)  # fmt: skip
def test_performance_and_metadata_keys_are_inert(key: str, value: Any) -> None:
    assert run(QWEN3 | {key: value}) == []
    assert [c for c, _ in run(QWEN3 | {key: [[]]})] == ["full.generation_config"]


def test_a_float_tag_is_not_decoded_for_generation_configs_and_is_a_type_error() -> None:
    found = run(QWEN3 | {"temperature": {"__float__": "Infinity"}})
    assert [c for c, _ in found] == ["full.generation_config"]


def test_the_operators_reference_file_is_what_an_operator_base_is_compared_with() -> None:
    config = tiny("qwen3").config
    reference = {"eos_token_id": [2, 1], "bos_token_id": 1, "temperature": 0.7}
    base = operator_base(dict(config), {"generation_config.json": reference})
    assert errors(run_generation_config(base, {"eos_token_id": [1, 2], "temperature": 1.0})) == []
    found = run_generation_config(base, {"eos_token_id": 2, "bos_token_id": 3})
    assert errors(found) == [
        ("full.generation_config_mismatch",
         "generation_config.json: eos_token_id is 2; the reference generation_config.json of tiny stops on [2, 1]."),
        ("full.generation_config_mismatch",
         "generation_config.json: bos_token_id is 3; the reference generation_config.json of tiny uses 1."),
    ]  # fmt: skip
    assert outcome(found, "full.generation_config.base") == "failed"


def test_an_operator_base_without_a_reference_is_not_compared_never_passed() -> None:
    found = run_generation_config(tiny("qwen3"), {"eos_token_id": [2], "temperature": 0.7})
    assert errors(found) == []
    assert outcome(found, "full.generation_config.base") == "not compared"
    assert outcome(found, "full.generation_config") == "passed"


def test_an_operator_reference_without_token_ids_is_not_compared() -> None:
    base = operator_base(dict(tiny("qwen3").config), {"generation_config.json": {"temperature": 0.7}})
    assert outcome(run_generation_config(base, {"eos_token_id": [5]}), "full.generation_config.base") == "not compared"


def test_do_sample_false_with_a_temperature_is_reported() -> None:
    found = run_generation_config(builtin("qwen3-8b"), QWEN3 | {"do_sample": False})
    detail = next(check.detail for check in found.checks if check.name == "full.generation_config")
    assert detail and "vLLM ignores do_sample" in detail


@pytest.mark.parametrize(("document", "kind"), [([1], "a list"), ("x", "a string"), (None, "null"), (3, "a number")])
def test_the_file_must_be_an_object(document: Any, kind: str) -> None:
    assert run(document) == [("full.generation_config", f"generation_config.json must be a JSON object; found {kind}.")]


def test_the_table_declares_every_generationconfig_attribute() -> None:
    # The 72 attributes of transformers 5.19's GenerationConfig ([run] dump_fields.out.txt) plus the
    # extras vLLM or transformers read.
    attributes = {
        "assistant_confidence_threshold", "assistant_early_exit", "assistant_ensemble_weight", "assistant_lookbehind",
        "bad_words_ids", "begin_suppress_tokens", "bos_token_id", "cache_config", "cache_implementation",
        "compile_config", "constraints", "continuous_batching_config", "decoder_start_token_id", "disable_compile",
        "diversity_penalty", "do_sample", "dola_layers", "early_stopping", "encoder_no_repeat_ngram_size",
        "encoder_repetition_penalty", "eos_token_id", "epsilon_cutoff", "eta_cutoff",
        "exponential_decay_length_penalty", "force_words_ids", "forced_bos_token_id", "forced_eos_token_id",
        "guidance_scale", "is_assistant", "length_penalty", "low_memory", "max_cache_len", "max_length",
        "max_matching_ngram_size", "max_new_tokens", "max_time", "min_length", "min_new_tokens", "min_p",
        "no_repeat_ngram_size", "num_assistant_tokens", "num_assistant_tokens_schedule", "num_beam_groups",
        "num_beams", "num_return_sequences", "output_attentions", "output_hidden_states", "output_logits",
        "output_scores", "pad_token_id", "penalty_alpha", "prefill_chunk_size", "prompt_lookup_num_tokens",
        "remove_invalid_values", "renormalize_logits", "repetition_penalty", "return_dict_in_generate",
        "sequence_bias", "speculation_type", "stop_strings", "suppress_tokens", "target_lookbehind", "temperature",
        "token_healing", "top_h", "top_k", "top_p", "transformers_version", "typical_p", "use_cache", "use_mtp",
        "watermarking_config",
    }  # fmt: skip
    assert len(attributes) == 72
    extras = {"presence_penalty", "frequency_penalty", "_from_model_config", "_commit_hash", "auto_map",
              "custom_generate", "trust_remote_code"}  # fmt: skip
    assert set(GenerationDocument.rules()) == attributes | extras


def test_an_operator_reference_beside_a_builtin_base_overrides_only_the_ids_it_has() -> None:
    only_pad = {"generation_config.json": b'{"pad_token_id": 151645}'}
    base = dataclasses.replace(builtin("qwen3-8b"), reference_files=only_pad)
    found = errors(run_generation_config(base, QWEN3 | {"eos_token_id": 151645}))
    assert [message.split(";")[1] for _, message in found] == [
        " qwen3-8b stops on [151645, 151643] (<|im_end|>, <|endoftext|>).",
        " the reference generation_config.json of qwen3-8b uses 151645.",
    ]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"do_sample": False}, "temperature 0.6, top_p 0.95, top_k 20"),
        ({"do_sample": None, "top_k": -1, "top_p": 1}, "temperature 0.6"),
        ({"do_sample": None, "temperature": None, "top_p": None, "top_k": None, "min_p": 0.1}, "min_p 0.1"),
    ],
)
def test_sampling_defaults_without_do_sample_warn_since_transformers_ignores_them(
    change: dict[str, Any], named: str
) -> None:
    document = {key: value for key, value in (QWEN3 | change).items() if value is not None}
    found = run_generation_config(builtin("qwen3-8b"), document)
    assert errors(found) == []
    warned = [(w.code.code, w.message) for w in found.warnings]
    assert [code for code, _ in warned] == ["full.generation_sampling_ignored"], warned
    assert f": {named} without do_sample: true;" in warned[0][1]


@pytest.mark.parametrize("change", [{}, {"do_sample": False, "temperature": 0}, {"do_sample": False, "temperature": 1,
    "top_p": 1, "top_k": 0}])  # fmt: skip
def test_no_sampling_warning_when_both_engines_decode_alike(change: dict[str, Any]) -> None:
    found = run_generation_config(builtin("qwen3-8b"), QWEN3 | change)
    assert [w for w in found.warnings if w.code.code == "full.generation_sampling_ignored"] == []
