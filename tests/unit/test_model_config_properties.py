"""Property tests: random and hostile JSON thrown at the config.json rule, at every level of the file
(top, text_config, vision_config), for every kind of base. Whatever arrives, the rule raises
nothing, every problem is a finding naming config.json, and a compared key that no longer equals
the base's value is never accepted."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelport.catalog.catalog import BaseModel
from modelport.validation.config_keys import same_value
from modelport.validation.findings import FindingSet
from modelport.validation.model_config import FAMILIES
from modelport.validation.model_config_keys import Compared
from tests.support.config_checks import builtin, run_model_config, tiny
from tests.support.corpus_full_configs import transformers5_config
from tests.support.hostile_json import edits, values

SETTINGS = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
BASE_IDS = ["qwen2.5-7b-instruct", "qwen3-8b", "qwen3-4b-instruct-2507", "qwen2.5-vl-7b-instruct",
            "qwen3-vl-8b-instruct"]  # fmt: skip
TINY = {f"tiny-{t}": tiny(t) for t in ("qwen2", "qwen3", "qwen2_5_vl", "qwen3_vl")}
DOCUMENTS = [doc for family in FAMILIES.values() for doc in (family.top, family.text, family.vision) if doc]
KNOWN = sorted({key for doc in DOCUMENTS for key in doc.rules()})


def base_of(name: str) -> BaseModel:
    return TINY[name] if name in TINY else builtin(name)


BASES = st.sampled_from(BASE_IDS + sorted(TINY))
FORMS = st.sampled_from(["hub", "transformers5"])


def official(base: BaseModel, form: str) -> dict[str, Any]:
    document = copy.deepcopy(dict(base.config))
    return transformers5_config(document) if form == "transformers5" else document


def assert_well_formed(found: FindingSet) -> None:
    for finding in found.findings:
        assert finding.file == "config.json" or finding.message.startswith("...and"), finding
        assert finding.message.startswith(("config.json", "...and")), finding.message
        assert len(finding.message) < 700
    outcome = next(check.outcome.value for check in found.checks if check.name == "full.config")
    assert outcome == ("failed" if found.error_count else "passed")


@SETTINGS
@given(base=BASES, document=values(KNOWN))
def test_any_json_document_gives_findings_not_exceptions(base: str, document: Any) -> None:
    _, found = run_model_config(base_of(base), document)
    assert_well_formed(found)
    if not isinstance(document, dict):
        assert found.error_count >= 1


@SETTINGS
@given(base=BASES, form=FORMS, top=edits(KNOWN), text=edits(KNOWN), vision=edits(KNOWN))
def test_random_values_for_known_keys_at_every_level_give_findings_not_exceptions(
    base: str, form: str, top: dict[str, Any], text: dict[str, Any], vision: dict[str, Any]
) -> None:
    document = official(base_of(base), form)
    document.update(top)
    for section, changes in (("text_config", text), ("vision_config", vision)):
        if isinstance(document.get(section), dict):
            document[section].update(changes)
    dtype, found = run_model_config(base_of(base), document)
    assert_well_formed(found)
    assert dtype in (None, "BF16", "F16", "F32")


def _compared(base: BaseModel, document: dict[str, Any]) -> list[tuple[str, str]]:
    family = FAMILIES[base.architecture.model_type]
    levels = [("", family.top)]
    if family.top is not family.text and isinstance(document.get("text_config"), dict):
        levels.append(("text_config", family.text))
    if family.vision is not None:
        levels.append(("vision_config", family.vision))
    return [
        (level, key)
        for level, doc in levels
        for key, rule in doc.rules().items()
        if isinstance(rule, Compared) and key in (document[level] if level else document)
    ]


@SETTINGS
@given(base=BASES, form=FORMS, data=st.data())
def test_a_compared_key_that_no_longer_equals_the_base_is_never_accepted(base: str, form: str, data: Any) -> None:
    model = base_of(base)
    document = official(model, form)
    level, key = data.draw(st.sampled_from(_compared(model, document)))
    section = document[level] if level else document
    original = section[key]
    value = data.draw(values(KNOWN))
    assume(not same_value(value, original))
    if key in ("dtype", "torch_dtype"):
        # null (or no dtype at all) makes both loaders use the tensors' dtype: not a declaration; and
        # a sub-config's dtype under a top-level one is overwritten by it
        assume(value not in ("bfloat16", None))
        assume(not level or not any(isinstance(document.get(k), str) for k in ("dtype", "torch_dtype")))
    if key == "num_key_value_heads":
        assume(value is not None or section.get("num_attention_heads") != original)
    if key == "head_dim" and model.architecture.model_type in ("qwen2", "qwen2_5_vl"):
        assume(not same_value(value, model.architecture.head_dim))
    if key in ("rope_parameters", "layer_types"):
        assume(value not in (None, {}))  # transformers derives these, maybe to exactly the base's
    section[key] = value
    _, found = run_model_config(model, document)
    assert_well_formed(found)
    assert found.error_count >= 1, (level, key, value)


@SETTINGS
@given(base=BASES, form=FORMS, data=st.data())
def test_an_unknown_key_is_refused_wherever_it_sits(base: str, form: str, data: Any) -> None:
    model = base_of(base)
    document = official(model, form)
    levels = [""] + [name for name in ("text_config", "vision_config") if isinstance(document.get(name), dict)]
    level = data.draw(st.sampled_from(levels))
    section = document[level] if level else document
    base_section = model.config.get(level, {}) if level else model.config
    key = data.draw(st.text(min_size=1, max_size=12))
    assume(key not in KNOWN and key not in section and key not in base_section and key not in model.config)
    section[key] = data.draw(values(KNOWN))
    _, found = run_model_config(model, document)
    assert_well_formed(found)
    path = f"{level}.{key}" if level else key
    assert any(f.message.startswith(f"config.json: {path}") for f in found.findings if f.severity.value == "error")
