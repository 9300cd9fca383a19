"""The body of a webhook: the event type, when it happened, the job object exactly as GET job
shows it, and a summary of its validation report (verdict, error sentence, counts), not the
report itself, which stays at its route.

The body is built once, when the event is written to the outbox, and stored as the bytes that
are signed and sent on every attempt: a redelivery is byte for byte the first delivery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelport.domain.job_object import job_object
from modelport.domain.jobs import Job, JobStatus, format_gmt
from modelport.domain.webhooks import EventType

_NO_COUNTS = {"errors": 0, "warnings": 0, "files": 0, "bytes_to_copy": 0}
# A job that ended without a report (its attempts ran out, say) still has a verdict.
_VERDICT_WITHOUT_REPORT = {JobStatus.SUCCEEDED: "passed", JobStatus.FAILED: "failed"}


def event_body(event: EventType, job: Job, report: Mapping[str, Any] | None, occurred_at_ms: int) -> str:
    document = {
        "type": event.value,
        "timestamp": format_gmt(occurred_at_ms),
        "data": {"job": job_object(job), "report": report_summary(job, report)},
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def report_summary(job: Job, report: Mapping[str, Any] | None) -> dict[str, Any]:
    if report is None:
        return {
            "verdict": _VERDICT_WITHOUT_REPORT.get(job.status, "pending"),
            "error": job.error_code if job.status == JobStatus.FAILED else None,
            "reason_code": job.reason_code,
            "base_model": job.base_model,
            "weight_type": job.weight_type.value,
            "counts": dict(_NO_COUNTS),
        }
    return {
        "verdict": report.get("verdict"),
        "error": report.get("error"),
        "reason_code": job.reason_code,
        "base_model": job.base_model,
        "weight_type": job.weight_type.value,
        "counts": dict(report.get("counts") or _NO_COUNTS),
    }
