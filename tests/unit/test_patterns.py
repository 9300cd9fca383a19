"""Upload patterns: the linear-time engine answers exactly as Python's re.fullmatch (PEFT's
semantics) on every pattern the gate accepts, and the gate refuses, with a sentence, every pattern
a backtracking engine could be slow on or that the two engines could read differently."""

from __future__ import annotations

import contextlib
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelport.validation.patterns import PatternRefused, compile_module_pattern

NAMES = [
    "model.layers.0.self_attn.q_proj",
    "model.layers.11.mlp.down_proj",
    "model.language_model.layers.3.self_attn.v_proj",
    "lm_head",
    "model.embed_tokens",
    "model.visual.blocks.0.attn.qkv",
    "",
    "model",
    "q_proj",
    "model.layers.7.mlp",
]
# The alphabet of module names and of the regex syntax around them, so random patterns are often valid.
PIECES = [
    *string.ascii_lowercase[:6], "_proj", "q", "v", ".", r"\.", r"\d", r"\w", "*", "+", "?", "|", "(", ")", "(?:",
    "[a-z]", "[^.]", "{2}", "{1,3}", "^", "$", "model", "layers", "0", "1",
]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12), st.lists(st.sampled_from([*NAMES, "aaaa", "ab.c"])))
@settings(max_examples=400, deadline=None)
def test_an_accepted_pattern_matches_exactly_as_pythons_re_fullmatch(pieces: list[str], extra: list[str]) -> None:
    text = "".join(pieces)
    try:
        pattern = compile_module_pattern(text)
    except PatternRefused:
        return
    reference = re.compile(text)  # safe to run: the gate accepted it, so its backtracking is bounded
    for name in NAMES + extra:
        assert pattern.fullmatch(name) == (reference.fullmatch(name) is not None), (text, name)


@pytest.mark.parametrize(
    "text",
    [r".*\.(q_proj|v_proj)", r"model\.layers\.\d+\.self_attn\.(q|k|v)_proj", r".*q_proj$", "^model.*", r"[^.]+",
     r"(?P<m>q)_proj", r".*(?:q|v)_proj", "q_proj", "(ab)*c", r"model\.layers\.[0-9]{1,2}\.mlp\..*"],
)  # fmt: skip
def test_the_patterns_trainers_write_are_accepted(text: str) -> None:
    compile_module_pattern(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("(.|.)*Z", "repeats a group that itself repeats or alternates"),
        ("(a+)+", "repeats a group that itself repeats or alternates"),
        ("(a|a){40}b", "repeats a group that itself repeats or alternates"),
        (".*.*.*Z", "more than 2 unbounded repetitions"),
        ("x{4294967296}", "repetition"),
        ("x{,5}", "repetition"),
        ("x{101}", "more than 100 times"),
        ("x{5,2}", "bounds out of order"),
        ("(?=a)b", "lookaround"),
        ("(?i)q_proj", "flag"),
        (r"(a)\1", r"escape \1"),
        (r"q_proj\Z", r"escape \Z"),
        ("[[:alpha:]]+", "inside a character class"),
        ("a**", "quantifier on a quantifier"),
        ("a*+", "possessive"),
        ("*a", "nothing to repeat"),
        ("(ab", "unclosed group"),
        ("ab)", "never opened"),
        ("[]a]", "empty or unclosed character class"),
        ("q_proj\u00e9", "non-ASCII"),
        ("q" * 300, "at most 256"),
        ("a$b", "'$'"),
    ],
)
def test_patterns_outside_the_subset_are_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(PatternRefused, match=re.escape(why)):
        compile_module_pattern(text)


@given(st.text(max_size=64))
@settings(max_examples=500, deadline=None)
def test_no_input_makes_the_scanner_raise_anything_but_a_refusal(text: str) -> None:
    with contextlib.suppress(PatternRefused):
        compile_module_pattern(text)
