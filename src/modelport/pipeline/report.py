"""The validation report: every check and its outcome, every finding, every file's fate, a summary.

The same shape answers the dry run (no job) and a job's report route (with the job's status and
live progress merged in by the route).
"""

from __future__ import annotations

from typing import Any

from modelport.domain.jobs import StorageInfo, WeightType
from modelport.validation.findings import Findings
from modelport.validation.upload import CopyPlan

REPORT_FORMAT = "modelport.report/v1"


def build_report(
    *,
    verdict: str,
    base_model: str,
    weight_type: WeightType,
    source: StorageInfo,
    findings: Findings,
    plan: CopyPlan | None,
    location: str | None,
) -> dict[str, Any]:
    """`verdict` is 'passed' or 'failed': whether the upload passed the gate (and, for a job, was imported)."""
    return {
        "format": REPORT_FORMAT,
        "verdict": verdict,
        "base_model": base_model,
        "weight_type": weight_type.value,
        "source": {
            "bucket_name": source.bucket_name,
            "object_key": source.object_key,
            "location": location,
        },
        "error": findings.error_sentence(),
        "checks": [check.to_json() for check in findings.checks],
        "findings": [finding.to_json() for finding in findings.findings],
        "files": [record.to_json() for record in sorted(findings.files.values(), key=lambda r: r.path)],
        "summary": dict(plan.summary) if plan is not None else {},
        "counts": {
            "errors": findings.error_count,
            "warnings": len(findings.warnings),
            "files": len(findings.files),
            "bytes_to_copy": plan.total_bytes if plan is not None else 0,
        },
    }
