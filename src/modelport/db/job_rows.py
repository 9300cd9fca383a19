"""How an `import_jobs` row becomes a `Job`: the columns a job read selects and the mapping.

Shared by every job read and write, so a column added to the job record changes one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from modelport.db.schema import import_jobs
from modelport.domain.jobs import Job, JobStatus, Phase, Progress, StorageInfo, WeightType

# The columns a job read needs; the report column can be large and is read only by its own route.
JOB_COLUMNS: Final = tuple(c for c in import_jobs.c if c.name != "report")


def job_from_row(row: Mapping[Any, Any]) -> Job:
    phase = row["phase"]
    return Job(
        job_id=row["job_id"],
        workspace_id=row["workspace_id"],
        model_name=row["model_name"],
        display_name=row["display_name"],
        base_model=row["base_model"],
        weight_type=WeightType(row["weight_type"]),
        storage=StorageInfo(bucket_name=row["bucket_name"], object_key=row["object_key"]),
        status=JobStatus(row["status"]),
        created_at_ms=row["created_at_ms"],
        error_code=row["error_code"],
        reason_code=row["reason_code"],
        attempts=row["attempts"],
        progress=Progress(
            phase=Phase(phase) if phase is not None else None,
            bytes_done=row["bytes_done"],
            bytes_total=row["bytes_total"],
            updated_at_ms=row["progress_at_ms"],
        ),
        cancel_requested=row["cancel_requested_at_ms"] is not None,
    )
