"""Creating and deleting import jobs (the API side's writes; the worker's are in job_queue).

Both change the job counts in the same transaction, and a create announces the new job to
workers listening on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from modelport.clock import now_ms
from modelport.db.engine import write_transaction
from modelport.db.job_counts import change_counts
from modelport.db.job_notifications import announce_claimable_job
from modelport.db.job_reads import JobReads
from modelport.db.schema import import_jobs
from modelport.domain.jobs import Job, JobStatus, NewJob, new_job_id
from modelport.domain.naming import generate_model_name

_NAME_ATTEMPTS = 20


class JobWrites:
    def __init__(self, engine: Engine, reads: JobReads) -> None:
        self._engine = engine
        self._reads = reads

    def create(self, workspace_id: int, request: NewJob) -> Job:
        created = now_ms()
        for _ in range(_NAME_ATTEMPTS):
            job_id = new_job_id()
            values = {
                "job_id": job_id,
                "workspace_id": workspace_id,
                "model_name": generate_model_name(request.base_model, created),
                "display_name": request.display_name or request.base_model,
                "base_model": request.base_model,
                "weight_type": request.weight_type.value,
                "bucket_name": request.storage.bucket_name,
                "object_key": request.storage.object_key,
                "status": JobStatus.PENDING.value,
                "created_at_ms": created,
                "updated_at_ms": created,
                "attempts": 0,
                "bytes_done": 0,
            }
            try:
                with write_transaction(self._engine) as connection:
                    connection.execute(import_jobs.insert().values(**values))
                    change_counts(connection, workspace_id, job_id, {JobStatus.PENDING: +1})
                    announce_claimable_job(connection)
            except IntegrityError:
                # 36^4 names per base and day: a collision is rare but possible; draw again.
                continue
            job = self._reads.get_by_id(job_id)
            assert job is not None
            return job
        raise RuntimeError(f"could not generate a unique model name after {_NAME_ATTEMPTS} attempts")

    def delete_finished(self, job: Job) -> bool:
        """Delete `job` if it is still there in its (terminal) status; False if someone else did."""
        assert job.status.is_terminal
        with write_transaction(self._engine) as connection:
            deleted = connection.execute(
                delete(import_jobs).where(import_jobs.c.job_id == job.job_id, import_jobs.c.status == job.status.value)
            ).rowcount
            if deleted == 1:
                change_counts(connection, job.workspace_id, job.job_id, {job.status: -1})
        return bool(deleted == 1)
