"""How an import ends: the result the worker records (status, the error_code sentence, the reason
code, the report) built in one place for every way an import can end.

A FAILED result's `error_code` is the first error's sentence, its `reason_code` that error's code,
and its report says everything else; a SUCCESSED result's report carries the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.domain import reasons
from modelport.domain.jobs import Job, JobStatus
from modelport.pipeline.inspection import Inspection
from modelport.pipeline.report import build_report
from modelport.storage.manifest import Manifest
from modelport.validation.findings import Finding, FindingSet, Severity

CANCELLED_MESSAGE = "Cancelled by the user."


@dataclass(frozen=True)
class ImportResult:
    status: JobStatus
    error_code: str | None
    reason_code: str | None
    report: dict[str, Any]
    stored_bytes: int | None = None  # a success's model size, counted toward the workspace's quota


def failed(job: Job, inspection: Inspection, *, verdict: str = "failed") -> ImportResult:
    """The import was refused (or stopped); `inspection.findings` holds at least one error."""
    findings = inspection.findings
    first = findings.first_error()
    assert first is not None, "a failed import has an error"
    return ImportResult(
        status=JobStatus.FAILED,
        error_code=findings.error_sentence(),
        reason_code=first.code.code,
        report=_report(job, inspection, verdict),
    )


def failed_before_inspection(job: Job, finding: Finding) -> ImportResult:
    """Nothing could be inspected (the base model left the catalog, say)."""
    return failed(job, Inspection(location=None, findings=FindingSet().plus(finding)))


def succeeded(job: Job, inspection: Inspection, digests: Mapping[str, str], manifest: Manifest) -> ImportResult:
    return ImportResult(
        status=JobStatus.SUCCEEDED,
        error_code=None,
        reason_code=None,
        report=_report(job, inspection, "passed", digests=digests, manifest=manifest),
        stored_bytes=sum(file.size for file in manifest.files),
    )


def cancelled(job: Job) -> ImportResult:
    """The user cancelled the job: FAILED on the wire (DashScope has no CANCELLED), `cancelled` in the report."""
    finding = Finding(code=reasons.JOB_CANCELLED, severity=Severity.ERROR, message=CANCELLED_MESSAGE)
    return ImportResult(
        status=JobStatus.FAILED,
        error_code=CANCELLED_MESSAGE,
        reason_code=reasons.JOB_CANCELLED.code,
        report=_report(job, Inspection(location=None, findings=FindingSet().plus(finding)), "cancelled"),
    )


def _report(
    job: Job,
    inspection: Inspection,
    verdict: str,
    *,
    digests: Mapping[str, str] | None = None,
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    return build_report(
        verdict=verdict,
        base_model=job.base_model,
        weight_type=job.weight_type,
        source=job.storage,
        findings=inspection.findings,
        plan=inspection.plan,
        location=inspection.location,
        digests=digests,
        manifest=manifest,
    )
