"""The job object exactly as the DashScope routes show it, as a plain dict.

It lives here rather than at the HTTP edge because the webhook outbox writes the same object into
each event, inside the transaction that changes the job (db/webhook_outbox.py), and must not pull
in the web framework to do it. The field rules are the contract's (docs/import-api.md §3):
`weight_type` only where the caller asks for it (create), `error_code` only when FAILED.
"""

from __future__ import annotations

from typing import Any

from modelport.domain.jobs import Job, JobStatus


def job_object(job: Job, *, include_weight_type: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": job.job_id,
        "model_name": job.model_name,
        "display_name": job.display_name,
        "source": "OSS",
    }
    if include_weight_type:
        body["weight_type"] = job.weight_type.value
    body["storage_info"] = {
        "bucket_name": job.storage.bucket_name,
        "object_key": job.storage.object_key,
    }
    body["status"] = job.status.value
    body["gmt_create"] = job.gmt_create
    if job.status == JobStatus.FAILED:
        body["error_code"] = job.error_code or "The import failed."
    return body
