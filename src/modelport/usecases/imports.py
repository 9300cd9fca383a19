"""The import jobs use case: create, poll, list, cancel, delete, the report and the dry run.

The DashScope routes and their extensions call these methods and nothing below them, and so do
the CLI's operator commands. Every sentence a client reads about a job that is not there, or that
cannot be deleted yet, is written here once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from modelport.catalog.catalog import BaseModel
from modelport.db.job_reads import JobPage
from modelport.db.job_writes import Cancel, CancelledEnding, Created, IdempotencyConflict, IdempotencyKey
from modelport.db.keys_repository import hash_key
from modelport.domain.errors import InvalidApiKey, InvalidParameter, NotFound, OperationDenied
from modelport.domain.jobs import Job, JobFilter, NewJob, normalize_job_id
from modelport.pipeline import outcome
from modelport.pipeline.report import pending_report
from modelport.services import Services
from modelport.usecases.deletion import delete_finished_job
from modelport.usecases.dry_run import DryRuns
from modelport.usecases.quotas import Quotas

INVALID_KEY_MESSAGE = "The API key is invalid or has been revoked."
DELETE_DENIED_MESSAGE = "The import job is currently running and cannot be deleted."
CANCEL_DENIED_MESSAGE = "The import job has already finished ({status}) and cannot be cancelled."


@dataclass(frozen=True)
class JobReport:
    job: Job
    report: dict[str, Any]


class ImportJobs:
    def __init__(self, services: Services, dry_runs: DryRuns) -> None:
        self._services = services
        self._dry_runs = dry_runs
        self._quotas = Quotas(services.quotas, services.settings.default_max_pending)

    # -- callers ------------------------------------------------------------------------------------

    def authenticate(self, key: str) -> int:
        """The workspace of an active key; InvalidApiKey otherwise."""
        workspace_id = self._services.keys.authenticate(key)
        if workspace_id is None:
            raise InvalidApiKey(INVALID_KEY_MESSAGE)
        return workspace_id

    # -- the DashScope routes ------------------------------------------------------------------------

    def create(self, workspace_id: int, new_job: NewJob, idempotency_key: str | None = None) -> Created:
        """A new PENDING job; with an Idempotency-Key, a retry within 24 h returns the first one's job."""
        self.require_base(new_job)
        idempotency = None if idempotency_key is None else IdempotencyKey(idempotency_key, _request_digest(new_job))
        if idempotency is None or not self._services.writes.is_known_key(workspace_id, idempotency.key):
            # A replay is answered even over a limit: it creates nothing.
            self._quotas.check_create(workspace_id)
        try:
            created = self._services.writes.create(workspace_id, new_job, idempotency)
        except IdempotencyConflict:
            raise InvalidParameter(
                f"The Idempotency-Key {idempotency_key!r} was already used in the last 24 hours for a "
                "different request; send a new key for a new import."
            ) from None
        if not created.replayed:
            self._services.notify_new_job()
        return created

    async def poll(self, key: str, raw_job_id: str) -> Job:
        """GET job for the event loop: the key is checked and the job read in one statement."""
        job_id = normalize_job_id(raw_job_id)
        job = await self._services.reads.get_for_key_async(hash_key(key), job_id) if job_id else None
        if job is None:
            self.authenticate(key)  # raises InvalidApiKey when the key is the problem
            raise job_not_found(raw_job_id)
        return job

    def list_jobs(self, workspace_id: int, *, page_no: int, page_size: int, where: JobFilter) -> JobPage:
        return self._services.reads.page(workspace_id, page_no=page_no, page_size=page_size, where=where)

    def cancel(self, workspace_id: int, raw_job_id: str) -> Job:
        """End a PENDING job now, or ask the worker holding a RUNNING one to stop it; the job after."""
        job = self._require_job(workspace_id, raw_job_id)
        ending = outcome.cancelled(job)
        assert ending.error_code is not None and ending.reason_code is not None
        answer = self._services.writes.cancel(
            job.job_id, CancelledEnding(ending.error_code, ending.reason_code, ending.report)
        )
        if answer is Cancel.GONE:
            raise job_not_found(raw_job_id)
        current = self._require_job(workspace_id, raw_job_id)
        if answer is Cancel.TOO_LATE:
            raise OperationDenied(CANCEL_DENIED_MESSAGE.format(status=current.status.value))
        return current

    def delete(self, workspace_id: int, raw_job_id: str) -> Job:
        """Delete a SUCCESSED or FAILED job and its model; returns the job as it was."""
        job = self._require_job(workspace_id, raw_job_id)
        if not job.status.is_terminal:
            raise OperationDenied(DELETE_DENIED_MESSAGE)
        if not delete_finished_job(self._services.writes, self._services.model_store, job):
            raise job_not_found(raw_job_id)
        return job

    # -- extensions ---------------------------------------------------------------------------------

    def report(self, workspace_id: int, raw_job_id: str) -> JobReport:
        job_id = normalize_job_id(raw_job_id)
        found = self._services.reads.report(workspace_id, job_id) if job_id else None
        if found is None:
            raise job_not_found(raw_job_id)
        job, report = found
        return JobReport(job=job, report=report if report is not None else pending_report(job))

    def dry_run(self, new_job: NewJob) -> dict[str, Any]:
        """The report an import of `new_job` would get, with no job created and no byte copied."""
        return self._dry_runs.run(self.require_base(new_job), new_job)

    def base_models(self) -> list[BaseModel]:
        return self._services.catalog.all()

    def require_base(self, new_job: NewJob) -> BaseModel:
        """The catalog entry a create (or dry run) targets; NotFound if unknown or not for this weight type."""
        base = self._services.catalog.get(new_job.base_model)
        if base is None:
            raise NotFound(
                f"The base model {new_job.base_model!r} is not supported for import; "
                "GET /api/v1/custom_models/base_models lists the supported ones."
            )
        if new_job.weight_type not in base.weight_types:
            accepted = ", ".join(sorted(weight_type.value for weight_type in base.weight_types))
            raise NotFound(
                f"The base model {new_job.base_model!r} does not accept weight_type "
                f"{new_job.weight_type.value!r} (it accepts: {accepted})."
            )
        return base

    def _require_job(self, workspace_id: int, raw_job_id: str) -> Job:
        job_id = normalize_job_id(raw_job_id)
        job = self._services.reads.get(workspace_id, job_id) if job_id else None
        if job is None:
            raise job_not_found(raw_job_id)
        return job


def _request_digest(new_job: NewJob) -> str:
    """What makes two creates "the same request" for an Idempotency-Key: the parsed body, canonical."""
    canonical = {
        "base_model": new_job.base_model,
        "weight_type": new_job.weight_type.value,
        "bucket_name": new_job.storage.bucket_name,
        "object_key": new_job.storage.object_key,
        "display_name": new_job.display_name,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def job_not_found(raw_job_id: str) -> NotFound:
    """A job that does not exist, or belongs to another workspace: the two are indistinguishable."""
    return NotFound(f"Import job {raw_job_id} does not exist.")
