"""Property tests: random and hostile JSON thrown at the generation_config.json rule. It raises
nothing, every problem is a finding naming the file, and for the keys vLLM reads the verdict is
exactly what vLLM's own request checks (SamplingParams._verify_args, restated here independently)
and transformers' defaults decide."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport.catalog.catalog import BaseModel
from modelport.validation.config_keys import same_value
from modelport.validation.findings import FindingSet
from modelport.validation.generation_config import TRANSFORMERS_ONLY, GenerationDocument
from tests.support.config_checks import builtin, operator_base, run_generation_config, tiny
from tests.support.hostile_json import FLOATS, INT64, edits, values

SETTINGS = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
KNOWN = sorted(GenerationDocument.rules())
REFERENCE = operator_base(
    dict(tiny("qwen3").config), {"generation_config.json": {"eos_token_id": [2, 1], "bos_token_id": 1}}, "ref"
)
BASES = st.sampled_from(["qwen3-8b", "qwen2.5-vl-7b-instruct", "tiny", "ref"])
VALID = {
    "qwen3-8b": {"eos_token_id": [151645, 151643], "bos_token_id": 151643, "temperature": 0.6, "top_p": 0.95},
    "qwen2.5-vl-7b-instruct": {"eos_token_id": [151643, 151645], "pad_token_id": 151643},
    "tiny": {"eos_token_id": 2},
    "ref": {"eos_token_id": [1, 2], "bos_token_id": 1},
}


def base_of(name: str) -> BaseModel:
    return {"tiny": tiny("qwen3"), "ref": REFERENCE}.get(name) or builtin(name)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def vllm_accepts(key: str, value: Any, context: int) -> bool:
    """vLLM 0.32 sampling_params.py#L631-735 for one default (plus the gate's sanity bound of 2 on the
    repetition penalty and the base's context on max_new_tokens)."""
    if value is None:
        return True
    integer = isinstance(value, int) and not isinstance(value, bool)
    return {
        "temperature": lambda: _number(value) and 0 <= value <= 2,
        "top_p": lambda: _number(value) and 0 < value <= 1,
        "top_k": lambda: integer and value >= -1,
        "min_p": lambda: _number(value) and 0 <= value <= 1,
        "repetition_penalty": lambda: _number(value) and 0 < value <= 2,
        "presence_penalty": lambda: _number(value) and -2 <= value <= 2,
        "frequency_penalty": lambda: _number(value) and -2 <= value <= 2,
        "max_new_tokens": lambda: integer and 1 <= value <= context,
    }[key]()


def assert_well_formed(found: FindingSet) -> None:
    for finding in found.findings:
        assert finding.message.startswith(("generation_config.json", "...and")), finding.message
        assert len(finding.message) < 700
    outcome = next(check.outcome.value for check in found.checks if check.name == "full.generation_config")
    assert outcome == ("failed" if found.error_count else "passed")


@SETTINGS
@given(base=BASES, document=values(KNOWN))
def test_any_json_document_gives_findings_not_exceptions(base: str, document: Any) -> None:
    found = run_generation_config(base_of(base), document)
    assert_well_formed(found)
    if not isinstance(document, dict):
        assert found.error_count == 1


@SETTINGS
@given(base=BASES, changes=edits(KNOWN))
def test_random_values_for_known_keys_give_findings_not_exceptions(base: str, changes: dict[str, Any]) -> None:
    assert_well_formed(run_generation_config(base_of(base), VALID[base] | changes))


SAMPLING = ["temperature", "top_p", "top_k", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty",
            "max_new_tokens"]  # fmt: skip
NUMBERS = st.one_of(FLOATS, INT64, st.integers(-3, 3), st.floats(-3, 3), st.booleans(), st.none(), values())


@SETTINGS
@given(base=BASES, key=st.sampled_from(SAMPLING), value=NUMBERS)
def test_a_sampling_default_is_refused_exactly_when_vllm_would_refuse_every_request(
    base: str, key: str, value: Any
) -> None:
    model = base_of(base)
    text = model.config.get("text_config")
    context = (text if isinstance(text, dict) else model.config)["max_position_embeddings"]
    found = run_generation_config(model, VALID[base] | {key: value})
    assert_well_formed(found)
    assert (found.error_count == 0) is vllm_accepts(key, value, context), (key, value, found.findings)


@SETTINGS
@given(base=BASES, key=st.sampled_from(sorted(TRANSFORMERS_ONLY)), value=values())
def test_an_option_only_transformers_honours_is_refused_unless_null_or_its_default(
    base: str, key: str, value: Any
) -> None:
    found = run_generation_config(base_of(base), VALID[base] | {key: value})
    default = TRANSFORMERS_ONLY[key]
    unused = value is None or same_value(value, default)
    assert (found.error_count == 0) is unused, (key, value)


@SETTINGS
@given(base=BASES, eos=st.one_of(values(), st.lists(st.integers(-2, 160000), max_size=4), INT64))
def test_stop_tokens_pass_only_as_the_bases_set_of_vocabulary_ids(base: str, eos: Any) -> None:
    model = base_of(base)
    found = run_generation_config(model, VALID[base] | {"eos_token_id": eos})
    ids = eos if isinstance(eos, list) else [eos]
    expected = {"qwen3-8b": {151645, 151643}, "qwen2.5-vl-7b-instruct": {151645, 151643}, "ref": {1, 2}}.get(base)
    acceptable = (eos is None and expected is None) or (
        bool(ids)
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < model.architecture.vocab_size for i in ids)
        and len(set(ids)) == len(ids)
        and (expected is None or set(ids) == expected)
    )
    assert (found.error_count == 0) is acceptable, (eos, found.findings)
