"""Random JSON at every tokenizer and chat-template file: the rules never raise, whatever the values,
and every problem is a finding with a code and a sentence. The values cover every known key with
values of the wrong type, huge numbers, Unicode digits ("²", "٣", "+5", " 5", "1_0") as keys and as
values, `added_tokens: true`, and deep nesting."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport.validation.findings import FindingSet
from modelport.validation.special_tokens_map import SpecialTokensMapFile
from modelport.validation.tokenizer_config import TokenizerConfigFile
from modelport.validation.tokenizer_json import BpeModel, TokenizerJsonFile
from tests.support.tokenizer_files import builtin, run_rules, tokenizer_config, tokenizer_json

BASE = builtin("qwen3-8b")
DIGITS = ["²", "٣", "+5", " 5", "5 ", "1_0", "05", "-1", "151645", "151645.0", "0x10", "①", "", "9" * 40]
NOT_PLAIN = [key for key in DIGITS if not re.fullmatch(r"0|[1-9][0-9]*", key)]
TOKENS = ["<|im_end|>", "<|endoftext|>", "<|new|>", "a", "ab"]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([2**31, 2**32, 151643, 151669, 10**18]), st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e300, max_value=1.7e308), st.text(max_size=12), st.sampled_from(DIGITS + TOKENS),
)  # fmt: skip
keys = st.text(max_size=8) | st.sampled_from(DIGITS)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
)
token_objects = st.fixed_dictionaries(
    {"content": st.sampled_from(TOKENS) | scalars},
    optional={flag: scalars for flag in ("lstrip", "rstrip", "normalized", "single_word", "special", "id", "extra")},
)


def nested(depth: int) -> Any:
    value: Any = "<|im_end|>"
    for level in range(depth):
        value = [value] if level % 2 else {"content": value}
    return value


deep = st.sampled_from([nested(20), nested(70), nested(400)])
anything = values | token_objects | deep


def keys_of(*models: Any) -> list[str]:
    found = {key for model in models for key in model.rules()}
    return sorted(found | {"unknown_key", "foo_token", "encode", ""})


def assert_findings_are_sentences(found: FindingSet) -> None:
    for finding in found.findings:
        assert finding.code and finding.message and len(finding.message) < 2000


@given(st.dictionaries(st.sampled_from(keys_of(TokenizerConfigFile)), anything, max_size=10))
@FAST
def test_random_tokenizer_configs_never_raise(document: dict[str, Any]) -> None:
    assert_findings_are_sentences(run_rules(BASE, {"tokenizer_config.json": document}))


@given(st.sampled_from(keys_of(TokenizerConfigFile)), anything)
@FAST
def test_one_wrong_value_in_the_official_tokenizer_config(key: str, value: Any) -> None:
    document = tokenizer_config(BASE)
    document[key] = value
    found = run_rules(BASE, {"tokenizer_config.json": document})
    assert_findings_are_sentences(found)
    if key not in TokenizerConfigFile.rules():
        assert found.error_count >= 1  # an unknown key is always refused


@given(st.dictionaries(st.sampled_from(DIGITS) | st.text(max_size=6), token_objects | anything, min_size=1, max_size=6))
@FAST
def test_random_added_tokens_decoders_never_raise(decoder: dict[str, Any]) -> None:
    found = run_rules(BASE, {"tokenizer_config.json": tokenizer_config(BASE, added_tokens_decoder=decoder)})
    assert_findings_are_sentences(found)
    assert found.error_count >= 1  # none of these tables is the base's
    if any(key in NOT_PLAIN for key in decoder):
        assert "tokenizer.token_id" in {f.code for f in found.findings}


TOP = keys_of(TokenizerJsonFile)
MODEL = sorted({key.removeprefix("model.") for key in BpeModel.rules()} | {"unknown"})


@given(
    st.dictionaries(st.sampled_from(TOP), anything, max_size=8),
    st.dictionaries(st.sampled_from(MODEL), anything, max_size=6),
)
@FAST
def test_random_tokenizer_json_never_raises(top: dict[str, Any], model: dict[str, Any]) -> None:
    document = tokenizer_json(BASE, size=50)
    document.update(top)
    if isinstance(document.get("model"), dict):
        document["model"].update(model)
    found = run_rules(BASE, {"tokenizer.json": document})
    assert_findings_are_sentences(found)
    assert found.error_count >= 1  # a 50-token vocabulary is never the base's


@given(anything)
@FAST
def test_added_tokens_of_any_shape_are_a_finding(added: Any) -> None:
    document = tokenizer_json(BASE, size=50, added_tokens=added)
    found = run_rules(BASE, {"tokenizer.json": document})
    assert_findings_are_sentences(found)
    if not isinstance(added, list):
        assert "must be a list of added-token objects" in " ".join(f.message for f in found.findings)


@given(st.dictionaries(st.sampled_from(keys_of(SpecialTokensMapFile)), anything, max_size=8))
@FAST
def test_random_special_tokens_maps_never_raise(document: dict[str, Any]) -> None:
    found = run_rules(BASE, {"special_tokens_map.json": document, "tokenizer_config.json": tokenizer_config(BASE)})
    assert_findings_are_sentences(found)


@given(st.dictionaries(st.sampled_from(TOKENS + DIGITS) | st.text(max_size=6), anything, max_size=6))
@FAST
def test_random_added_tokens_json_never_raises(document: dict[str, Any]) -> None:
    assert_findings_are_sentences(run_rules(BASE, {"added_tokens.json": document}))


@given(anything, st.binary(max_size=200) | st.text(max_size=200))
@FAST
def test_random_chat_templates_never_raise(json_document: Any, jinja: bytes | str) -> None:
    found = run_rules(BASE, {"chat_template.json": json_document, "chat_template.jinja": jinja})
    assert_findings_are_sentences(found)
    assert found.error_count >= 1  # nothing random is the official template


@given(anything)
@FAST
def test_a_file_that_is_not_an_object_is_a_finding(document: Any) -> None:
    for name in ("tokenizer_config.json", "tokenizer.json", "special_tokens_map.json", "added_tokens.json"):
        found = run_rules(BASE, {name: document})
        assert_findings_are_sentences(found)
        if not isinstance(document, dict):
            assert found.error_count >= 1, name
