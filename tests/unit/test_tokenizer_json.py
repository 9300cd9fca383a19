"""tokenizer.json: each key's decision (docs/config-keys.md §5), the comparison of its pipeline with the
base's facts on the fields that change ids or decoded text, the vocabulary and merges, and the added
tokens. Files are built in code as the Qwen repositories and transformers 5 write them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelport import samples
from modelport.catalog.catalog import BaseModel, load_catalog
from tests.support.tokenizer_files import added_tokens, builtin, errors, outcome, run_rules, tokenizer_json

QWEN3 = builtin("qwen3-8b")
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}


def check(document: Any, base: BaseModel = QWEN3) -> list[tuple[str, str]]:
    return errors(run_rules(base, {"tokenizer.json": document}))


def with_byte_level(**flags: bool) -> dict[str, Any]:
    document = tokenizer_json(QWEN3)
    document["pre_tokenizer"]["pretokenizers"][1].update(flags)
    return document


FAMILIES = ["qwen3-8b", "qwen2.5-7b-instruct", "qwen3-4b-instruct-2507", "qwen2.5-vl-7b-instruct"]
TRUNCATION = {"direction": "Right", "max_length": 2, "strategy": "LongestFirst", "stride": 0}
PADDING = {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0, "pad_token": "a"}
METASPACE = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
CATASTROPHIC = "(" * 21 + "a*" + ")*" * 21 + "Z"


@pytest.mark.parametrize("base_id", FAMILIES)
def test_the_official_layout_passes_and_says_what_it_was_compared_with(base_id: str) -> None:
    base = builtin(base_id)
    found = run_rules(base, {"tokenizer.json": tokenizer_json(base)})
    assert errors(found) == []
    for part in ("normalizer", "pre_tokenizer", "post_processor", "decoder", "model.flags", "added_tokens"):
        assert outcome(found, f"tokenizer.json.{part}") == "passed", part
    assert outcome(found, "tokenizer.json.vocabulary_digest") == "not compared"


def test_what_transformers_5_writes_when_it_saves_a_qwen_tokenizer_passes() -> None:
    document = with_byte_level(trim_offsets=True)
    document["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    assert check(document) == []
    document["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {},
    }
    assert check(document) == []
    document["post_processor"] = None
    assert check(document) == []


PREPEND = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [151643], "tokens": ["<|endoftext|>"]}},
}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"normalizer": {"type": "Lowercase"}}, "normalizer {'type': 'Lowercase'} differs"),
        ({"normalizer": None}, "normalizer None differs"),
        ({"post_processor": PREPEND}, "adds or changes tokens around every input"),
        ({"decoder": None}, "decoder None differs"),
        ({"decoder": METASPACE}, "decoder"),
        ({"truncation": TRUNCATION}, "cut prompts"),
        ({"padding": PADDING}, "pad every input"),
        ({"pre_tokenizer": {"type": "Whitespace"}}, "split text differently"),
    ],
)
def test_a_changed_pipeline_part_is_refused(change: dict[str, Any], says: str) -> None:
    found = check(tokenizer_json(QWEN3, **change))
    assert [code for code, _ in found] == ["tokenizer.changed"]
    assert says in found[0][1] and "qwen3-8b" in found[0][1]


@pytest.mark.parametrize(
    "flags", [{"add_prefix_space": True}, {"use_regex": True}, {"add_prefix_space": "false"}, {"extra": 1}]
)
def test_the_byte_level_flags_that_change_ids_are_compared(flags: dict[str, Any]) -> None:
    assert [code for code, _ in check(with_byte_level(**flags))] == ["tokenizer.changed"]


@pytest.mark.parametrize("regex", ["(?i:'s|'t)", CATASTROPHIC, "("])
def test_the_split_regex_is_compared_as_a_string_and_never_compiled(regex: str) -> None:
    document = tokenizer_json(QWEN3)
    document["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = regex
    assert [code for code, _ in check(document)] == ["tokenizer.changed"]


def test_one_character_of_the_regex_is_a_difference() -> None:
    document = tokenizer_json(QWEN3)
    split = document["pre_tokenizer"]["pretokenizers"][0]["pattern"]
    split["Regex"] = split["Regex"].replace(r"\p{N}|", r"\p{N}+|", 1)
    assert [code for code, _ in check(document)] == ["tokenizer.changed"]


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"dropout": 0.9}, "tokenizer.changed", "model.dropout is 0.9"),
        ({"dropout": 1.5}, "tokenizer.schema", "model.dropout must be null or a number from 0 to 1"),
        ({"unk_token": "<|endoftext|>"}, "tokenizer.changed", "model.unk_token"),
        ({"byte_fallback": True}, "tokenizer.changed", "model.byte_fallback is True"),
        ({"ignore_merges": True}, "tokenizer.changed", "model.ignore_merges"),
        ({"fuse_unk": 1}, "tokenizer.schema", "model.fuse_unk must be true or false; found 1"),
        ({"continuing_subword_prefix": "##"}, "tokenizer.changed", "continuing_subword_prefix"),
        ({"type": "WordPiece"}, "tokenizer.schema", 'model.type must be "BPE"'),
        ({"extra_key": 1}, "tokenizer.refused_key", "model.extra_key is not part of the tokenizers BPE model"),
    ],
)
def test_each_bpe_model_key(change: dict[str, Any], code: str, says: str) -> None:
    document = tokenizer_json(QWEN3)
    document["model"].update(change)
    found = check(document)
    assert found and found[0][0] == code and says in found[0][1], found


def test_an_absent_affix_is_the_empty_affix() -> None:
    document = tokenizer_json(QWEN3)
    document["model"]["continuing_subword_prefix"] = None
    del document["model"]["end_of_word_suffix"]
    assert check(document) == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"version": "1.1"}, 'version must be "1.0"'),
        ({"version": 1}, 'version must be "1.0"'),
        ({"extra": {}}, "extra is not part of the tokenizers format"),
        ({"model": []}, "model must be the BPE model object"),
        ({"added_tokens": True}, "added_tokens must be a list of added-token objects; found True"),
        ({"normalizer": "NFC"}, "normalizer must be null or a normalizer object"),
    ],
)
def test_top_level_keys_of_the_wrong_kind_are_one_sentence_each(change: dict[str, Any], says: str) -> None:
    found = check(tokenizer_json(QWEN3, **change))
    assert found and found[0][0] == "tokenizer.schema" and says in found[0][1], found


def test_the_vocabulary_must_have_the_base_size() -> None:
    found = check(tokenizer_json(QWEN3, size=151642, added_tokens=[]))
    expected = (
        "tokenizer.json: model.vocab has 151642 entries; qwen3-8b's BPE vocabulary has 151643 "
        "(public facts, high confidence: QWEN-DOCS, TT-Q2, TYPHOON-Q3VL)."
    )
    assert ("tokenizer.vocabulary_changed", expected) in found


def test_vocabulary_ids_must_be_a_permutation() -> None:
    shared = tokenizer_json(QWEN3)
    shared["model"]["vocab"]["t9"] = 8
    assert "id 9 is unused" in check(shared)[0][1]
    outside = tokenizer_json(QWEN3)
    outside["model"]["vocab"]["t9"] = 200000
    assert check(outside)[0][0] == "tokenizer.vocabulary_changed" and "200000" in check(outside)[0][1]
    typed = tokenizer_json(QWEN3)
    typed["model"]["vocab"]["t9"] = True
    assert check(typed)[0][0] == "tokenizer.schema"


@pytest.mark.parametrize(
    ("merge", "says"),
    [(["a"], "must be a pair"), ("a b c", "must be a pair"), (["a", "q"], "needs 'q'"), (["b", "a"], "needs 'ba'")],
)
def test_merges_must_resolve_or_tokenizers_refuses_the_file(merge: Any, says: str) -> None:
    document = tokenizer_json(QWEN3)
    document["model"]["merges"].append(merge)
    found = check(document)
    assert found[0][0] == "tokenizer.schema" and says in found[0][1]


def test_added_tokens_are_compared_with_the_facts() -> None:
    extra = tokenizer_json(QWEN3)
    extra["added_tokens"].append({**extra["added_tokens"][-1], "id": 151669, "content": "<|new|>"})
    assert "it adds '<|new|>' as id 151669" in check(extra)[0][1]
    swapped = tokenizer_json(QWEN3)
    swapped["added_tokens"][1]["content"], swapped["added_tokens"][2]["content"] = "<|im_end|>", "<|im_start|>"
    assert "id 151644 is '<|im_end|>'" in check(swapped)[0][1]
    flag = tokenizer_json(QWEN3)
    flag["added_tokens"][2]["lstrip"] = True
    assert "'<|im_end|>' has lstrip=True" in check(flag)[0][1]


@pytest.mark.parametrize(
    ("edit", "code", "says"),
    [
        (lambda t: t[2].update(id=151700), "tokenizer.token_order", "would get id 151645, not 151700"),
        (lambda t: t.reverse(), "tokenizer.token_order", "in list order"),
        (lambda t: t[0].update(id="151643"), "tokenizer.schema", "id must be an integer"),
        (lambda t: t[0].pop("special"), "tokenizer.schema", "missing special"),
        (lambda t: t[0].update(extra=1), "tokenizer.schema", "unknown field 'extra'"),
        (lambda t: t[0].update(content="a"), "tokenizer.token_order", "also in model.vocab"),
        (lambda t: t.append(5), "tokenizer.schema", "added_tokens[26] must be an object"),
    ],
)
def test_each_added_token_problem(edit: Any, code: str, says: str) -> None:
    document = tokenizer_json(QWEN3)
    edit(document["added_tokens"])
    found = check(document)
    assert found and found[0][0] == code and says in found[0][1], found


def test_an_added_token_in_the_vocabulary_at_its_own_id_keeps_the_ids_in_order() -> None:
    """tokenizers gives an added token that model.vocab holds the vocabulary's id and no new one (what
    tokenizers' own trainer writes for special tokens), so the ids after it still start at the end of
    the vocabulary; the table still differs from the base's, which the comparison says."""
    document = tokenizer_json(QWEN3)
    token = dict(document["added_tokens"][0], content="a", id=document["model"]["vocab"]["a"])
    document["added_tokens"].insert(0, token)
    found = check(document)
    assert found and all(code != "tokenizer.token_order" for code, _ in found), found


def tiny_base(tmp_path: Path, references: dict[str, Any] | None = None) -> BaseModel:
    samples.register_base(tmp_path, "tiny", samples.tiny_base_config("qwen3"))
    for name, document in (references or {}).items():
        (tmp_path / "base_models" / "tiny" / name).write_text(json.dumps(document))
    base = load_catalog(tmp_path).get("tiny")
    assert base is not None
    return base


def test_an_operator_base_gets_the_qwen_pipeline_and_no_vocabulary_facts(tmp_path: Path) -> None:
    base = tiny_base(tmp_path)
    document = tokenizer_json(QWEN3, size=300)
    found = run_rules(base, {"tokenizer.json": document})
    assert errors(found) == []
    assert outcome(found, "tokenizer.json.model.vocab.size") == "not compared"
    assert outcome(found, "tokenizer.json.added_tokens") == "not compared"
    assert outcome(found, "tokenizer.json.normalizer") == "passed"
    document["normalizer"] = {"type": "Lowercase"}
    assert [code for code, _ in errors(run_rules(base, {"tokenizer.json": document}))] == ["tokenizer.changed"]
    over = tokenizer_json(QWEN3, size=1100)
    assert errors(run_rules(base, {"tokenizer.json": over}))[0][0] == "tokenizer.vocabulary_changed"


def test_an_operator_reference_copy_compares_the_vocabulary_and_merges(tmp_path: Path) -> None:
    reference = tokenizer_json(QWEN3, size=300)
    reference["added_tokens"] = [{**t, "id": 300 + i} for i, t in enumerate(added_tokens(QWEN3)[:3])]
    base = tiny_base(tmp_path, {"tokenizer.json": reference})
    same = json.loads(json.dumps(reference))
    found = run_rules(base, {"tokenizer.json": same})
    assert errors(found) == [] and outcome(found, "tokenizer.json.vocabulary_digest") == "passed"
    assert outcome(found, "tokenizer.json.added_tokens") == "passed"
    renamed = json.loads(json.dumps(reference))
    renamed["model"]["vocab"]["t9x"] = renamed["model"]["vocab"].pop("t9")
    found = errors(run_rules(base, {"tokenizer.json": renamed}))
    assert "model.vocab differs from tiny's reference ('t9x' has id 9" in found[0][1]
    merges = json.loads(json.dumps(reference))
    merges["model"]["merges"] = merges["model"]["merges"][:1]
    assert "the BPE merges differ" in errors(run_rules(base, {"tokenizer.json": merges}))[0][1]
