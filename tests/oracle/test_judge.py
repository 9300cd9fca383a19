"""The oracle's rules can fail: fed a gate that accepts everything or refuses everything, the judge
objects to each kind of evidence, and it accepts a correct verdict. Pure: no loaders needed."""

from __future__ import annotations

import pytest

from tests.support.oracle.judge import Fact, GateVerdict, LoaderEvidence, judge

pytestmark = pytest.mark.oracle

READ = {"adapter_config.json": "a" * 64, "adapter_model.safetensors": "b" * 64}
ACCEPT_ALL = GateVerdict("SUCCESSED", None, None, (), (), published=READ)
ACCEPT_WITH_WARNING = GateVerdict("SUCCESSED", None, None, (), ("values.untrained_adapter",), published=READ)
REFUSE_ALL = GateVerdict("FAILED", "lora.rank_not_allowed", "r is 12", ("lora.rank_not_allowed",), ())
CLEAN = LoaderEvidence(kind="lora", read_files=READ)
NAN = Fact("values.non_finite", "x holds NaN")

BROKEN = {
    "error": LoaderEvidence(kind="lora", error="RuntimeError: size mismatch", read_files=READ),
    "skipped": LoaderEvidence(kind="lora", skipped=("base_model.model.x.lora_A.weight",), read_files=READ),
    "altered": LoaderEvidence(kind="lora", altered=("base_model.model.x.lora_A.weight",), read_files=READ),
    "into_base": LoaderEvidence(kind="lora", into_base=("base_model.model.lm_head.weight",), read_files=READ),
    "missing": LoaderEvidence(kind="lora", missing=("base_model.model.x.lora_B.weight",), read_files=READ),
    "base_changed": LoaderEvidence(kind="lora", base_changed=("model.layers.0.mlp.up_proj.weight",), read_files=READ),
    "variant": LoaderEvidence(kind="lora", variants=("x (DoraLinearVariant)",), read_files=READ),
    "non_finite": LoaderEvidence(kind="lora", logits_finite=False, read_files=READ),
    "serving": LoaderEvidence(kind="lora", serving="vLLM gives other logits", read_files=READ),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_an_accept_all_gate_is_caught_on_broken_evidence(kind: str) -> None:
    rules = {d.rule for d in judge(ACCEPT_ALL, BROKEN[kind], ())}
    assert rules & {"accepted-broken", "accepted-serves-differently"}, rules
    # A gate warning does not excuse a load that breaks: only a refusal does.
    assert judge(ACCEPT_WITH_WARNING, BROKEN[kind], ()), kind
    assert judge(REFUSE_ALL, BROKEN[kind], ()) == []


def test_loader_warnings_need_a_refusal_or_a_gate_warning() -> None:
    warned = LoaderEvidence(kind="lora", warnings=("UserWarning: Found missing adapter keys",), read_files=READ)
    assert [d.rule for d in judge(ACCEPT_ALL, warned, ())] == ["accepted-warned"]
    assert judge(ACCEPT_WITH_WARNING, warned, ()) == []
    assert judge(REFUSE_ALL, warned, ()) == []


def test_a_no_op_adapter_needs_a_gate_warning() -> None:
    no_op = LoaderEvidence(kind="lora", logits_changed=False, read_files=READ)
    assert [d.rule for d in judge(ACCEPT_ALL, no_op, ())] == ["accepted-no-op"]
    assert judge(ACCEPT_WITH_WARNING, no_op, ()) == []


def test_full_weights_that_compute_differently_may_pass_with_a_warning() -> None:
    differs = LoaderEvidence(kind="full", serving="other logits than the base architecture", read_files=READ)
    assert [d.rule for d in judge(ACCEPT_ALL, differs, ())] == ["accepted-serves-differently"]
    assert judge(ACCEPT_WITH_WARNING, differs, ()) == []


def test_a_broken_platform_rule_needs_a_refusal() -> None:
    assert [d.rule for d in judge(ACCEPT_ALL, CLEAN, (NAN,))] == ["accepted-policy"]
    assert judge(REFUSE_ALL, CLEAN, (NAN,)) == []


def test_what_the_loader_read_must_be_published_as_uploaded() -> None:
    swapped = GateVerdict("SUCCESSED", None, None, (), (), published={**READ, "adapter_model.safetensors": "c" * 64})
    assert [d.rule for d in judge(swapped, CLEAN, ())] == ["accepted-unpublished"]
    assert [d.rule for d in judge(GateVerdict("SUCCESSED", None, None, (), ()), CLEAN, ())] == [
        "accepted-unpublished"
    ] * 2


def test_a_refuse_all_gate_is_caught_on_a_clean_upload() -> None:
    assert [d.rule for d in judge(REFUSE_ALL, CLEAN, ())] == ["refused-clean"]
    assert judge(ACCEPT_ALL, CLEAN, ()) == []
