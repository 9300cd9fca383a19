"""tokenizer_config.json: each key's decision (docs/config-keys.md §4), values compared as transformers 5
loads them (an absent eos_token is <|endoftext|>), the added-token table with ids read by int(), and
the operator's reference taking precedence over the public facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelport import samples
from modelport.catalog.catalog import BaseModel, load_catalog
from tests.support.tokenizer_files import DROP, builtin, errors, outcome, run_rules, tokenizer_config

QWEN3 = builtin("qwen3-8b")


def check(document: Any, base: BaseModel = QWEN3) -> list[tuple[str, str]]:
    return errors(run_rules(base, {"tokenizer_config.json": document}))


def codes(document: Any, base: BaseModel = QWEN3) -> list[str]:
    return [code for code, _ in check(document, base)]


@pytest.mark.parametrize(
    "base_id", ["qwen3-8b", "qwen2.5-7b-instruct", "qwen3-4b-instruct-2507", "qwen3-vl-8b-instruct"]
)
def test_the_official_file_passes(base_id: str) -> None:
    base = builtin(base_id)
    found = run_rules(base, {"tokenizer_config.json": tokenizer_config(base)})
    assert errors(found) == []
    for key in ("eos_token", "pad_token", "bos_token", "unk_token", "split_special_tokens", "added_tokens"):
        assert outcome(found, f"tokenizer_config.json.{key}") == "passed", key
    assert outcome(found, "tokenizer.chat_template") == "passed"


def test_model_max_length_is_compared_only_where_the_fact_is_not_of_low_confidence() -> None:
    found = run_rules(QWEN3, {"tokenizer_config.json": tokenizer_config(QWEN3, model_max_length=8192)})
    assert errors(found) == [] and outcome(found, "tokenizer_config.json.model_max_length") == "not compared"
    instruct = builtin("qwen3-4b-instruct-2507")
    assert check(tokenizer_config(instruct), instruct) == []
    found_short = check(tokenizer_config(instruct, model_max_length=8192), instruct)
    assert found_short[0][0] == "tokenizer.changed" and "vLLM caps the served context" in found_short[0][1]


def test_what_transformers_5_save_pretrained_writes_passes() -> None:
    document = {
        "add_prefix_space": None, "backend": "tokenizers", "bos_token": None, "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>", "errors": "replace", "is_local": True, "local_files_only": False,
        "extra_special_tokens": tokenizer_config(QWEN3)["additional_special_tokens"], "model_max_length": 131072,
        "pad_token": "<|endoftext|>", "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }  # fmt: skip
    assert check(document) == []


def test_transformers_4_extras_pass() -> None:
    document = tokenizer_config(QWEN3, extra_special_tokens={}, padding_side="right", add_eos_token=False)
    assert check(document) == []


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"fast_tokenizer_files": ["tokenizer.evil.json"]}, "tokenizer.refused_key", "load a different tokenizer file"),
        ({"auto_map": {"AutoTokenizer": ["x.Tok", None]}}, "files.auto_map", "custom tokenizer code"),
        ({"foo_token": "<|foo|>"}, "tokenizer.refused_key", "foo_token is not a tokenizer setting"),
        ({"encode": 1}, "tokenizer.refused_key", "encode is not a tokenizer setting"),
        ({"tokenizer_class": "LlamaTokenizer"}, "tokenizer.schema", 'tokenizer_class must be "Qwen2Tokenizer"'),
        (
            {"eos_token": "<|endoftext|>"},
            "tokenizer.changed",
            "eos_token is '<|endoftext|>'; qwen3-8b's is '<|im_end|>'",
        ),
        ({"eos_token": DROP}, "tokenizer.changed", "eos_token is absent, so transformers uses '<|endoftext|>'"),
        ({"eos_token": "<|brand_new|>"}, "tokenizer.changed", "would add it as a new token"),
        ({"eos_token": 5}, "tokenizer.schema", "eos_token must be a token string or AddedToken object"),
        ({"pad_token": "<|im_end|>"}, "tokenizer.changed", "pad_token is '<|im_end|>'"),
        ({"bos_token": "<|endoftext|>"}, "tokenizer.changed", "bos_token is '<|endoftext|>'"),
        ({"unk_token": "<|im_end|>"}, "tokenizer.changed", "unk_token"),
        ({"sep_token": "<|im_end|>"}, "tokenizer.schema", "sep_token must be null"),
        ({"split_special_tokens": True}, "tokenizer.changed", "ordinary text"),
        ({"split_special_tokens": "false"}, "tokenizer.schema", "split_special_tokens must be true or false"),
        ({"add_prefix_space": True}, "tokenizer.changed", "adds a space token"),
        ({"clean_up_tokenization_spaces": True}, "tokenizer.changed", "decoded text"),
        ({"model_input_names": ["input_ids", "token_type_ids"]}, "tokenizer.changed", "model_input_names"),
        ({"processor_class": "LlavaProcessor"}, "tokenizer.changed", "different processor"),
        ({"init_inputs": ["x"]}, "tokenizer.schema", "init_inputs must be an empty list"),
        ({"chat_template": [{"name": "tool_use", "template": "x"}]}, "tokenizer.extra_templates", "single template"),
        ({"chat_template": {"default": "x"}}, "tokenizer.extra_templates", "single template"),
        ({"padding_side": "middle"}, "tokenizer.schema", 'padding_side must be "left" or "right"'),
        ({"errors": "bogus"}, "tokenizer.schema", "errors must be a Python codec error handler name"),
        ({"model_max_length": 0}, "tokenizer.schema", "model_max_length must be an integer from 1 to 2^31 - 1"),
        ({"model_max_length": 2**31}, "tokenizer.schema", "model_max_length must be an integer"),
        ({"model_max_length": True}, "tokenizer.schema", "model_max_length must be an integer"),
        ({"model_max_length": 1.5}, "tokenizer.schema", "model_max_length must be an integer"),
        ({"additional_special_tokens": ["<|im_start|>", "<|new|>"]}, "tokenizer.changed", "adds '<|new|>'"),
        ({"additional_special_tokens": ["<|im_start|>"]}, "tokenizer.changed", "differs from qwen3-8b's additional"),
        ({"extra_special_tokens": {"image_token": "<|new|>"}}, "tokenizer.changed", "adds '<|new|>'"),
    ],
)
def test_each_key(change: dict[str, Any], code: str, says: str) -> None:
    found = check(tokenizer_config(QWEN3, **change))
    assert found and found[0][0] == code and says in found[0][1], found
    assert len(found[0][1]) < 400


def test_absent_or_null_keys_equal_what_qwen2tokenizer_defaults_to() -> None:
    minimal = {"chat_template": QWEN3.official_chat_templates[0], "eos_token": "<|im_end|>", "model_max_length": 131072}
    assert check(minimal) == []  # pad <|endoftext|>, bos None, unk <|endoftext|> (never emitted)
    assert check(tokenizer_config(QWEN3, unk_token="<|endoftext|>", add_prefix_space=None)) == []


def test_special_tokens_may_be_added_token_objects() -> None:
    eos = {"content": "<|im_end|>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    assert check(tokenizer_config(QWEN3, eos_token=eos)) == []
    assert check(tokenizer_config(QWEN3, eos_token={**eos, "__type": "AddedToken"})) == []
    assert codes(tokenizer_config(QWEN3, eos_token={**eos, "extra": 1})) == ["tokenizer.schema"]


def decoder_with(edit: Any) -> dict[str, Any]:
    document = tokenizer_config(QWEN3)
    edit(document["added_tokens_decoder"])
    return document


@pytest.mark.parametrize("form", ["²", "+151645", " 151645", "151645 ", "٣", "1_51645", "0151645", "151645.0", "0x25"])
def test_a_token_id_that_is_not_a_plain_decimal_is_refused_with_a_sentence(form: str) -> None:
    found = check(decoder_with(lambda d: d.__setitem__(form, d.pop("151645"))))
    assert found[0][0] == "tokenizer.token_id" and repr(form) in found[0][1]


@pytest.mark.parametrize(
    ("edit", "code", "says"),
    [
        (lambda d: d.__setitem__("151700", d.pop("151645")), "tokenizer.token_order", "would get id"),
        (lambda d: d.__setitem__("100", d.pop("151643")), "tokenizer.token_order", "would get id 151643, not 100"),
        (lambda d: d.__setitem__("151669", {**d["151668"], "content": "<|x|>"}), "tokenizer.changed", "adds '<|x|>'"),
        (
            lambda d: d.__setitem__("152000", {**d["151668"], "content": "<|x|>"}),
            "tokenizer.vocabulary_changed",
            "152000",
        ),
        (lambda d: d["151645"].update(special=False), "tokenizer.changed", "special=False"),
        (lambda d: d["151645"].update(content="<|im_start|>"), "tokenizer.token_order", "declared twice"),
        (lambda d: d.__setitem__("151645", "<|im_end|>"), "tokenizer.schema", "must be an object"),
        (lambda d: d["151645"].pop("lstrip"), "tokenizer.schema", "missing lstrip"),
        (lambda d: d["151645"].update(extra=True), "tokenizer.schema", "unknown field 'extra'"),
        (lambda d: d["151645"].update(rstrip="no"), "tokenizer.schema", "rstrip must be true or false"),
    ],
)
def test_each_added_token_problem(edit: Any, code: str, says: str) -> None:
    found = check(decoder_with(edit))
    assert found and found[0][0] == code and says in found[0][1], found


def test_the_operator_reference_takes_precedence_key_by_key(tmp_path: Path) -> None:
    samples.register_base(tmp_path, "tiny", samples.tiny_base_config("qwen3"))
    (tmp_path / "base_models/tiny/tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_end|>"}))
    base = load_catalog(tmp_path).get("tiny")
    assert base is not None
    found = run_rules(base, {"tokenizer_config.json": {"eos_token": "<|im_end|>", "pad_token": "<|im_end|>"}})
    assert errors(found) == []
    assert outcome(found, "tokenizer_config.json.eos_token") == "passed"
    assert outcome(found, "tokenizer_config.json.pad_token") == "not compared"
    assert codes({"eos_token": "<|endoftext|>"}, base) == ["tokenizer.changed"]


def test_a_reference_for_a_builtin_replaces_only_the_keys_it_holds(tmp_path: Path) -> None:
    folder = tmp_path / "base_models" / "qwen3-8b"
    folder.mkdir(parents=True)
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 32768, "chat_template": "{{ x }}"}))
    base = load_catalog(tmp_path).get("qwen3-8b")
    assert base is not None
    document = tokenizer_config(QWEN3, model_max_length=32768, chat_template="{{ x }}")
    found = run_rules(base, {"tokenizer_config.json": document})
    assert errors(found) == [] and outcome(found, "tokenizer_config.json.model_max_length") == "passed"
    changed = tokenizer_config(QWEN3, model_max_length=32768, chat_template="{{ x }}", pad_token="<|im_end|>")
    assert codes(changed, base) == ["tokenizer.changed"]


def test_a_json_top_level_that_is_not_an_object_is_one_finding() -> None:
    assert check([1, 2]) == [("tokenizer.schema", "tokenizer_config.json must be a JSON object; found a list.")]
