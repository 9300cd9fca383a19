"""Creating, cancelling and deleting import jobs (the API side's writes; the worker's are in job_queue).

Both change the job counts in the same transaction, and a create announces the new job to
workers listening on PostgreSQL.

A create with an Idempotency-Key records the key in the same transaction as the job: the key's
row is inserted first, so on PostgreSQL a concurrent duplicate waits on the primary key until the
first commits and then finds it, and on SQLite writers are serialised anyway. Either way exactly
one job is created per key and request, across any number of API replicas.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from modelport.clock import now_ms
from modelport.db.engine import write_transaction
from modelport.db.job_counts import change_counts
from modelport.db.job_notifications import announce_claimable_job
from modelport.db.job_reads import JobReads
from modelport.db.quotas import change_stored_bytes
from modelport.db.schema import idempotency_keys, import_jobs
from modelport.db.transitions import change_status
from modelport.domain.jobs import Job, JobStatus, NewJob, Phase, new_job_id
from modelport.domain.naming import generate_model_name

_NAME_ATTEMPTS: Final = 20
IDEMPOTENCY_WINDOW_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    request_sha256: str  # a digest of the create request, so a reused key with another body is caught


class IdempotencyConflict(Exception):
    """The key was used, within the window, for a different request."""


@dataclass(frozen=True)
class Created:
    job: Job
    replayed: bool  # True when an earlier request with the same Idempotency-Key created it


class Cancel(enum.Enum):
    ENDED = "ended"  # it was PENDING and is FAILED now
    REQUESTED = "requested"  # it is RUNNING; the worker holding it will end it
    TOO_LATE = "too_late"  # it had already finished
    GONE = "gone"  # it was deleted meanwhile


@dataclass(frozen=True)
class CancelledEnding:
    """How a job cancelled while PENDING is recorded (built by the use case: it owns the report)."""

    error_code: str
    reason_code: str
    report: Mapping[str, Any]


class JobWrites:
    def __init__(self, engine: Engine, reads: JobReads) -> None:
        self._engine = engine
        self._reads = reads

    def create(self, workspace_id: int, request: NewJob, idempotency: IdempotencyKey | None = None) -> Created:
        created = now_ms()
        for _ in range(_NAME_ATTEMPTS):
            job_id = new_job_id()
            try:
                with write_transaction(self._engine) as connection:
                    if idempotency is not None:
                        earlier = self._record_key(connection, workspace_id, idempotency, job_id, created)
                        if earlier is not None:
                            job = self._reads.get_by_id(earlier)
                            if job is not None:
                                return Created(job, replayed=True)
                            # The job the key named was deleted since: the key starts afresh.
                            self._take_over_key(connection, workspace_id, idempotency, job_id, created)
                    self._insert(connection, workspace_id, request, job_id, created)
            except IntegrityError:
                # 36^4 names per base and day: a collision is rare but possible; draw again.
                continue
            job = self._reads.get_by_id(job_id)
            assert job is not None
            return Created(job, replayed=False)
        raise RuntimeError(f"could not generate a unique model name after {_NAME_ATTEMPTS} attempts")

    def is_known_key(self, workspace_id: int, key: str) -> bool:
        """Whether a create with this Idempotency-Key was recorded (and may be replayed)."""
        with self._engine.connect() as connection:
            found = connection.execute(
                select(idempotency_keys.c.created_at_ms).where(
                    idempotency_keys.c.workspace_id == workspace_id, idempotency_keys.c.key == key
                )
            ).scalar()
        return found is not None and found >= now_ms() - IDEMPOTENCY_WINDOW_MS

    def cancel(self, job_id: str, ending: CancelledEnding) -> Cancel:
        """End a PENDING job now, or flag a RUNNING one for its worker; each a compare-and-set."""
        while True:
            with write_transaction(self._engine) as connection:
                status = connection.execute(select(import_jobs.c.status).where(import_jobs.c.job_id == job_id)).scalar()
                if status is None:
                    return Cancel.GONE
                if JobStatus(status).is_terminal:
                    return Cancel.TOO_LATE
                if status == JobStatus.PENDING.value:
                    now = now_ms()
                    values = {
                        "error_code": ending.error_code,
                        "reason_code": ending.reason_code,
                        "report": json.dumps(ending.report, separators=(",", ":"), allow_nan=False),
                        "finished_at_ms": now,
                        "updated_at_ms": now,
                        "phase": Phase.FAILED.value,
                    }
                    if change_status(connection, job_id, JobStatus.PENDING, JobStatus.FAILED, values=values):
                        return Cancel.ENDED
                    continue  # claimed meanwhile: it is RUNNING now
                flagged = connection.execute(
                    update(import_jobs)
                    .where(import_jobs.c.job_id == job_id, import_jobs.c.status == JobStatus.RUNNING.value)
                    .values(cancel_requested_at_ms=func.coalesce(import_jobs.c.cancel_requested_at_ms, now_ms()))
                ).rowcount
                if flagged == 1:
                    return Cancel.REQUESTED

    def delete_finished(self, job: Job) -> bool:
        """Delete `job` if it is still there in its (terminal) status; False if someone else did."""
        assert job.status.is_terminal
        with write_transaction(self._engine) as connection:
            row = connection.execute(
                delete(import_jobs)
                .where(import_jobs.c.job_id == job.job_id, import_jobs.c.status == job.status.value)
                .returning(import_jobs.c.stored_bytes)
            ).first()
            if row is not None:
                change_counts(connection, job.workspace_id, job.job_id, {job.status: -1})
                change_stored_bytes(connection, job.workspace_id, job.job_id, -(row.stored_bytes or 0))
        return row is not None

    def _insert(self, connection: Connection, workspace_id: int, request: NewJob, job_id: str, created: int) -> None:
        connection.execute(
            import_jobs.insert().values(
                job_id=job_id,
                workspace_id=workspace_id,
                model_name=generate_model_name(request.base_model, created),
                display_name=request.display_name or request.base_model,
                base_model=request.base_model,
                weight_type=request.weight_type.value,
                bucket_name=request.storage.bucket_name,
                object_key=request.storage.object_key,
                status=JobStatus.PENDING.value,
                created_at_ms=created,
                updated_at_ms=created,
                attempts=0,
                bytes_done=0,
            )
        )
        change_counts(connection, workspace_id, job_id, {JobStatus.PENDING: +1})
        announce_claimable_job(connection)

    def _record_key(
        self, connection: Connection, workspace_id: int, key: IdempotencyKey, job_id: str, now: int
    ) -> str | None:
        """Record the key for `job_id`; or the job id an earlier request recorded (None if it is ours)."""
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        inserted = connection.execute(
            insert(idempotency_keys)
            .values(
                workspace_id=workspace_id,
                key=key.key,
                request_sha256=key.request_sha256,
                job_id=job_id,
                created_at_ms=now,
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
            .returning(idempotency_keys.c.key)
        ).first()
        if inserted is not None:
            return None
        row = connection.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.workspace_id == workspace_id, idempotency_keys.c.key == key.key
            )
        ).one()
        if row.created_at_ms < now - IDEMPOTENCY_WINDOW_MS:
            self._take_over_key(connection, workspace_id, key, job_id, now)
            return None
        if row.request_sha256 != key.request_sha256:
            raise IdempotencyConflict(key.key)
        return str(row.job_id)

    @staticmethod
    def _take_over_key(connection: Connection, workspace_id: int, key: IdempotencyKey, job_id: str, now: int) -> None:
        connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.workspace_id == workspace_id, idempotency_keys.c.key == key.key)
            .values(request_sha256=key.request_sha256, job_id=job_id, created_at_ms=now)
        )
