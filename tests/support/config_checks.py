"""Running the config.json and generation_config.json rules on one document, for the unit and
property tests: the bases as the catalog builds them, and the findings as the report shows them."""

from __future__ import annotations

import functools
import json
from typing import Any

from modelport import samples
from modelport.catalog.architecture import Architecture
from modelport.catalog.catalog import BaseModel, Catalog, load_catalog
from modelport.domain.jobs import WeightType
from modelport.validation.findings import Findings, FindingSet
from modelport.validation.generation_config import check_generation_config
from modelport.validation.model_config import check_model_config
from modelport.validation.upload import RuleContext, Upload


@functools.cache
def catalog() -> Catalog:
    return load_catalog(None)


def builtin(base_id: str) -> BaseModel:
    base = catalog().get(base_id)
    assert base is not None, base_id
    return base


def operator_base(config: dict[str, Any], references: dict[str, Any] | None = None, base_id: str = "tiny") -> BaseModel:
    """An operator's base as the catalog would load it from <data_dir>/base_models/<id>/."""
    return BaseModel(
        id=base_id,
        architecture=Architecture.from_config(config),
        config=config,
        weight_types=frozenset(WeightType),
        reference_files={name: json.dumps(value).encode() for name, value in (references or {}).items()},
        origin="data_dir",
    )


def tiny(model_type: str = "qwen3", **options: Any) -> BaseModel:
    return operator_base(samples.tiny_base_config(model_type, **options), base_id=f"tiny-{model_type}")


def run_model_config(base: BaseModel, document: Any) -> tuple[str | None, FindingSet]:
    findings = Findings()
    dtype = check_model_config(_context(base, "config.json", document, findings))
    return dtype, findings.freeze()


def run_generation_config(base: BaseModel, document: Any) -> FindingSet:
    findings = Findings()
    check_generation_config(_context(base, "generation_config.json", document, findings))
    return findings.freeze()


def errors(found: FindingSet) -> list[tuple[str, str]]:
    return [(f.code.code, f.message) for f in found.findings if f.severity.value == "error"]


def _context(base: BaseModel, name: str, document: Any, findings: Findings) -> RuleContext:
    upload = Upload(
        weight_type=WeightType.FULL, base=base, accepted={}, documents={name: document}, texts={}, headers={}
    )
    return RuleContext(upload=upload, findings=findings)
