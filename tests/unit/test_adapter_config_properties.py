"""Random JSON at adapter_config.json: the LoRA rules never raise, whatever the values, and every
problem becomes a finding. The values cover every key PEFT knows with values of the wrong type,
huge and non-finite-looking numbers, Unicode digits and deep nesting."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.domain.jobs import WeightType
from modelport.validation.adapter_config import AdapterConfigFile
from modelport.validation.file_policy import Classified
from modelport.validation.findings import FileStatus, Findings
from modelport.validation.lora import check_lora
from modelport.validation.safetensors import parse_header_bytes
from modelport.validation.upload import RuleContext, Upload

BASE = load_catalog(None).get("qwen3-8b")
assert BASE is not None
KEYS = [*sorted(AdapterConfigFile.rules()), "unknown_key", ""]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.floats(min_value=1e300, max_value=1.7e308),
    st.text(max_size=20), st.sampled_from(["8", "²", "٣", "+5", " 5", "1_0", "all-linear", "(.|.)*Z", "LORA", "none"]),
)  # fmt: skip
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _header(folder: Path) -> Any:
    specs = samples.lora_tensors(BASE.architecture, rank=8, targets=("q_proj", "v_proj"))
    samples.write_safetensors(folder / "adapter.safetensors", specs, samples.zero_filler, metadata={"format": "pt"})
    return parse_header_bytes((folder / "adapter.safetensors").read_bytes())


with tempfile.TemporaryDirectory() as _folder:
    HEADER = _header(Path(_folder))


def run(document: Any) -> Findings:
    accepted = {
        name: Classified(key=name, size=1, kind="config", status=FileStatus.ACCEPTED)
        for name in ("adapter_config.json", "adapter_model.safetensors")
    }
    upload = Upload(
        weight_type=WeightType.LORA, base=BASE, accepted=accepted,
        documents={"adapter_config.json": document}, texts={}, headers={"adapter_model.safetensors": HEADER},
    )  # fmt: skip
    findings = Findings()
    check_lora(RuleContext(upload=upload, findings=findings))
    return findings


@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=12))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_documents_never_raise(document: dict[str, Any]) -> None:
    findings = run(document)
    assert all(f.message and f.code for f in findings.freeze().findings)


@given(st.sampled_from(KEYS), values)
@settings(max_examples=300, deadline=None)
def test_one_wrong_value_in_a_valid_config_is_a_finding_or_accepted(key: str, value: Any) -> None:
    document = samples.adapter_config("qwen3-8b", rank=8)
    document[key] = value
    run(document)


@given(values)
@settings(max_examples=100, deadline=None)
def test_a_document_that_is_not_an_object_is_a_finding(document: Any) -> None:
    findings = run(document)
    if not isinstance(document, dict):
        assert findings.error_count >= 1
