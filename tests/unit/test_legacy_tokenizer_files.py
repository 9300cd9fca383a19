"""special_tokens_map.json, added_tokens.json and vocab.json (read by transformers only without
added_tokens_decoder, and by other runtimes always: docs/config-keys.md §6-§7), the agreement of
shipped files with each other, and the folder policy for named chat templates and hf_quant_config.json."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.domain.jobs import WeightType
from modelport.storage.interface import ObjectEntry
from modelport.validation.file_policy import classify
from modelport.validation.findings import FileStatus
from tests.support.tokenizer_files import (
    DROP,
    added_tokens,
    builtin,
    errors,
    outcome,
    run_rules,
    special_tokens_map,
    tokenizer_config,
    tokenizer_json,
    vocab,
)

QWEN3 = builtin("qwen3-8b")


def codes(files: dict[str, Any]) -> list[str]:
    return [code for code, _ in errors(run_rules(QWEN3, files))]


def test_the_official_special_tokens_map_passes_beside_tokenizer_config() -> None:
    found = run_rules(
        QWEN3, {"special_tokens_map.json": special_tokens_map(QWEN3), "tokenizer_config.json": tokenizer_config(QWEN3)}
    )
    assert errors(found) == []
    assert outcome(found, "special_tokens_map.json.eos_token.agrees_with_tokenizer_config") == "passed"


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"eos_token": "<|endoftext|>"}, "tokenizer.changed", "eos_token is '<|endoftext|>'"),
        ({"pad_token": "<|im_end|>"}, "tokenizer.changed", "pad_token is '<|im_end|>'"),
        ({"bos_token": "<|endoftext|>"}, "tokenizer.changed", "bos_token"),
        ({"mask_token": "<|im_end|>"}, "tokenizer.schema", "mask_token must be null"),
        ({"eos_token": "<|brand_new|>"}, "tokenizer.changed", "new token"),
        ({"foo_token": "<|foo|>"}, "tokenizer.refused_key", "foo_token is not a special-token name"),
        ({"additional_special_tokens": ["<|im_start|>"]}, "tokenizer.changed", "differs from qwen3-8b's additional"),
        ({"additional_special_tokens": DROP, "extra_special_tokens": ["<|x|>"]}, "tokenizer.changed", "adds '<|x|>'"),
        ({"eos_token": {"content": "<|im_end|>", "lstrip": "no"}}, "tokenizer.schema", "eos_token must be"),
        ({"eos_token": {"content": "<|im_end|>", "lstrip": True}}, "tokenizer.changed", "has lstrip=True, unlike"),
    ],
)
def test_each_special_tokens_map_key(change: dict[str, Any], code: str, says: str) -> None:
    found = errors(run_rules(QWEN3, {"special_tokens_map.json": special_tokens_map(QWEN3, **change)}))
    assert found and found[0][0] == code and says in found[0][1], found


def test_special_tokens_map_must_agree_with_tokenizer_config() -> None:
    files = {
        "special_tokens_map.json": special_tokens_map(QWEN3, eos_token="<|endoftext|>"),
        "tokenizer_config.json": tokenizer_config(QWEN3, eos_token="<|endoftext|>"),
    }
    assert "tokenizer.inconsistent" not in codes(files)  # both changed the same way: each is refused on its own
    files["tokenizer_config.json"] = tokenizer_config(QWEN3)
    assert "tokenizer.inconsistent" in codes(files)


def official_added() -> dict[str, int]:
    return {token["content"]: token["id"] for token in added_tokens(QWEN3)}


@pytest.mark.parametrize(
    ("document", "code", "says"),
    [
        ({**official_added(), "<|new|>": 151669}, "tokenizer.changed", "adds '<|new|>'"),
        ({"<|new|>": 200000}, "tokenizer.vocabulary_changed", "token id 200000 is outside"),
        ({"<|endoftext|>": 151643, "<|im_start|>": 151645}, "tokenizer.token_order", "would get id 151644"),
        ({"<|endoftext|>": "151643"}, "tokenizer.schema", "must map to an integer id"),
        ({"<|endoftext|>": True}, "tokenizer.schema", "must map to an integer id"),
        ([1], "tokenizer.schema", "must be a JSON object"),
    ],
)
def test_added_tokens_json(document: Any, code: str, says: str) -> None:
    found = errors(run_rules(QWEN3, {"added_tokens.json": document}))
    assert found and found[0][0] == code and says in found[0][1], found


def test_the_bases_own_added_tokens_json_passes() -> None:
    assert codes({"added_tokens.json": official_added()}) == []


def test_vocab_json_is_a_permutation_of_the_base_size() -> None:
    assert codes({"vocab.json": vocab()}) == []
    short = vocab(151000)
    assert codes({"vocab.json": short}) == ["tokenizer.vocabulary_changed"]
    assert codes({"vocab.json": ["a"]}) == ["tokenizer.schema"]


def test_merges_txt_without_a_reference_is_not_compared() -> None:
    found = run_rules(QWEN3, {"merges.txt": "#version: 0.2\na b\n"})
    assert errors(found) == [] and outcome(found, "merges.txt.identical_to_base") == "not compared"


def test_tokenizer_json_and_tokenizer_config_must_hold_one_added_token_table() -> None:
    listed = tokenizer_json(QWEN3)
    config = tokenizer_config(QWEN3)
    assert codes({"tokenizer.json": listed, "tokenizer_config.json": config}) == []
    config["added_tokens_decoder"]["151657"]["special"] = True  # the facts say false: refused, and inconsistent
    found = codes({"tokenizer.json": listed, "tokenizer_config.json": config})
    assert "tokenizer.changed" in found and "tokenizer.inconsistent" in found


def entry(key: str, kind: str = "file") -> ObjectEntry:
    return ObjectEntry(key=key, size=0 if kind == "directory" else 10, kind=kind)


@pytest.mark.parametrize("key", ["additional_chat_templates/", "Additional_Chat_Templates/"])
@pytest.mark.parametrize("weight_type", list(WeightType))
def test_named_chat_templates_are_refused(key: str, weight_type: WeightType) -> None:
    found = classify(entry(key, "directory"), weight_type)
    assert found.status == FileStatus.REJECTED and found.code == "tokenizer.extra_templates"
    assert "tool_use" in (found.reason or "")


def test_other_folders_stay_ignored() -> None:
    assert classify(entry("checkpoint-10/", "directory"), WeightType.LORA).status == FileStatus.IGNORED


def test_hf_quant_config_is_refused_for_full_weights_and_ignored_beside_an_adapter() -> None:
    full = classify(entry("hf_quant_config.json"), WeightType.FULL)
    assert full.status == FileStatus.REJECTED and full.code == "full.quantized"
    assert classify(entry("hf_quant_config.json"), WeightType.LORA).status == FileStatus.IGNORED
