"""The validation report: every check and its outcome, every finding, every file's fate, a summary,
and for a SUCCESSED import its manifest.

One builder answers the dry run, a finished job and a job still waiting (`pending_report`). A
report is bounded whatever the upload holds: findings are capped per reason code by the
collector, file entries by MAX_REPORT_FILES, and `bounded` trims the long lists of a report that
would still serialise to more than MAX_REPORT_BYTES, saying so in `truncated`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from modelport.domain.jobs import Job, JobStatus, StorageInfo, WeightType
from modelport.limits import MAX_REPORT_BYTES, MAX_REPORT_FILES
from modelport.storage.manifest import Manifest
from modelport.validation.findings import FindingSet
from modelport.validation.upload import CopyPlan

REPORT_FORMAT: Final = "modelport.report/v1"


def build_report(
    *,
    verdict: str,
    base_model: str,
    weight_type: WeightType,
    source: StorageInfo,
    findings: FindingSet,
    plan: CopyPlan | None,
    location: str | None,
    digests: Mapping[str, str] | None = None,
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    """`verdict` is 'passed', 'failed' or 'cancelled'; `digests` are the SHA-256 of copied files."""
    digests = digests or {}
    files = [record.to_json(digests.get(record.path)) for record in findings.files[:MAX_REPORT_FILES]]
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "verdict": verdict,
        "base_model": base_model,
        "weight_type": weight_type.value,
        "source": {"bucket_name": source.bucket_name, "object_key": source.object_key, "location": location},
        "error": findings.error_sentence(),
        "checks": [check.to_json() for check in findings.checks],
        "findings": [finding.to_json() for finding in findings.findings],
        "files": files,
        "summary": dict(plan.summary) if plan is not None else {},
        "counts": {
            "errors": findings.error_count,
            "warnings": findings.warning_count,
            "files": len(findings.files),
            "bytes_to_copy": plan.total_bytes if plan is not None else 0,
        },
    }
    if manifest is not None:
        report["manifest"] = manifest.to_json()
    return bounded(report)


def pending_report(job: Job) -> dict[str, Any]:
    """The report of a job no worker has finished yet (or whose report was never written)."""
    return {
        "format": REPORT_FORMAT,
        # A job can end with no report of its own (its attempts ran out, say): still say it failed.
        "verdict": "failed" if job.status == JobStatus.FAILED else "pending",
        "base_model": job.base_model,
        "weight_type": job.weight_type.value,
        "source": {"bucket_name": job.storage.bucket_name, "object_key": job.storage.object_key, "location": None},
        "error": job.error_code,
        "checks": [],
        "findings": [],
        "files": [],
        "summary": {},
        "counts": {"errors": 0, "warnings": 0, "files": 0, "bytes_to_copy": 0},
    }


def encoded_size(report: Mapping[str, Any]) -> int:
    return len(json.dumps(report, separators=(",", ":"), allow_nan=False).encode("utf-8"))


def bounded(report: dict[str, Any], limit: int = MAX_REPORT_BYTES) -> dict[str, Any]:
    """`report`, with its long lists halved until it serialises to at most `limit` bytes."""
    truncated: dict[str, int] = {}
    for key in ("files", "findings", "checks"):
        while encoded_size(report) > limit and report.get(key):
            items = report[key]
            keep = len(items) // 2
            truncated[key] = truncated.get(key, 0) + len(items) - keep
            report[key] = items[:keep]
    if encoded_size(report) > limit:
        # Only the summary and manifest are left to blame: keep the verdict and the error sentence.
        truncated["summary"] = 1
        report["summary"] = {}
        report.pop("manifest", None)
    if truncated:
        report["truncated"] = truncated
    return report
