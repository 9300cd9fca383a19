"""The oracle can fail on real evidence: the real loaders' findings on real uploads, judged against a
gate that accepts everything (publishing exactly what the loaders read) and one that refuses
everything. Each upload below must trip one of them, and a correct verdict must trip neither.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from modelport.settings import Settings
from tests.support.oracle.cases import OracleCase, build
from tests.support.oracle.gate import upload_folder
from tests.support.oracle.judge import GateVerdict, LoaderEvidence, judge

pytestmark = [pytest.mark.slow, pytest.mark.oracle]

REFUSE_ALL = GateVerdict("FAILED", "any", "refused", ("any",), ())


def accept_all(evidence: LoaderEvidence) -> GateVerdict:
    return GateVerdict("SUCCESSED", None, None, (), (), published=dict(evidence.read_files))


CLEAN = [
    OracleCase("discriminate-lora-qwen3", "lora", "tiny-qwen3", "discriminate-clean-3"),
    OracleCase("discriminate-lora-qwen2", "lora", "tiny-qwen2", "discriminate-clean-2"),
    OracleCase("discriminate-lora-lm-head", "lora", "tiny-qwen3", "discriminate-head", ("targets.lm_head",)),
    OracleCase("discriminate-lora-embed", "lora", "tiny-qwen3", "discriminate-embed", ("targets.embed_tokens",)),
    OracleCase("discriminate-full-qwen3", "full", "tiny-qwen3", "discriminate-full-3", ("shards.two",)),
    OracleCase("discriminate-full-qwen2", "full", "tiny-qwen2", "discriminate-full-2"),
    OracleCase("discriminate-full-tied", "full", "tiny-qwen3-tied", "discriminate-full-tied"),
]
BROKEN = {
    "tensors.drop_lora_B": "accepted-broken",
    "config.use_dora": "accepted-broken",
    "tensors.extra_base_layer": "accepted-broken",
    "config.init_lora_weights.pissa": "accepted-broken",
    "config.rank_pattern.other": "accepted-serves-differently",
    "config.alpha_pattern.other": "accepted-serves-differently",
    "config.bias.all": "accepted-serves-differently",
    "tensors.adapter_name.default": "accepted-serves-differently",
    "config.fan_in_fan_out": "accepted-warned",
    "tensors.zeros.all_B": "accepted-no-op",
    "tensors.nan": "accepted-policy",
    "retrain.rank.12": "accepted-policy",
}
BROKEN_FULL = {
    "tensors.drop_one": "accepted-broken",
    "tensors.extra": "accepted-broken",
    "config.bom": "accepted-broken",
    "config.hidden_act.gelu": "accepted-serves-differently",
    "config.tie_word_embeddings.flip": "accepted-warned",
    "tensors.dtype.one": "accepted-policy",
    "index.total_size": "accepted-policy",
    "config.torch_dtype.other": "accepted-policy",
    "tensors.dtype.all_and_config": "accepted-policy",
    "config.unknown_key": "accepted-policy",
    "generation_config.suppress_out_of_vocab": "accepted-policy",
}


def observed(oracle: ModuleType, settings: Settings, case: OracleCase) -> LoaderEvidence:
    assert build(case, upload_folder(settings, f"{case.name}/")) == case.mutations
    evidence, facts = oracle.observe(settings, case)
    assert facts == (), facts
    return evidence


@pytest.mark.parametrize("case", CLEAN, ids=[c.name.removeprefix("discriminate-") for c in CLEAN])
def test_a_refuse_all_gate_fails_the_oracle(oracle: ModuleType, oracle_settings: Settings, case: OracleCase) -> None:
    evidence = observed(oracle, oracle_settings, case)
    assert [d.rule for d in judge(REFUSE_ALL, evidence, ())] == ["refused-clean"], evidence
    assert judge(accept_all(evidence), evidence, ()) == [], evidence


@pytest.mark.parametrize(
    ("weight_type", "mutation", "rule"),
    [("lora", m, r) for m, r in BROKEN.items()] + [("full", m, r) for m, r in BROKEN_FULL.items()],
)
def test_an_accept_all_gate_fails_the_oracle(
    oracle: ModuleType, oracle_settings: Settings, weight_type: str, mutation: str, rule: str
) -> None:
    case = OracleCase(f"discriminate-{weight_type}-{mutation}", weight_type, "tiny-qwen3", f"discriminate-{mutation}",
                      (mutation,))  # fmt: skip
    assert build(case, upload_folder(oracle_settings, f"{case.name}/")) == case.mutations
    evidence, facts = oracle.observe(oracle_settings, case)
    rules = {d.rule for d in judge(accept_all(evidence), evidence, facts)}
    assert rule in rules, (rules, evidence, facts)
    assert judge(REFUSE_ALL, evidence, facts) == []
