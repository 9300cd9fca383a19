"""Import jobs in the database: create, read, list, delete, and the worker's lease protocol.

Every status change is a compare-and-set (`UPDATE ... WHERE status = :expected`, and for a
worker also `AND lease_owner = :me`); zero rows means someone else won and the caller backs off.
Per-status counts in `job_counts` change in the same transaction as the row they count.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from modelport.clock import now_ms
from modelport.db.async_read import AsyncPostgresRead
from modelport.db.engine import db_now_ms, single_read, write_transaction
from modelport.db.fast_read import FastRead
from modelport.db.job_notifications import announce_claimable_job
from modelport.db.schema import api_keys, count_shard, import_jobs, job_counts
from modelport.domain import reasons
from modelport.domain.errors import NotFound, OperationDenied
from modelport.domain.jobs import (
    TRANSITIONS,
    Job,
    JobStatus,
    NewJob,
    Progress,
    StorageInfo,
    WeightType,
    new_job_id,
)
from modelport.domain.naming import generate_model_name

DELETE_DENIED_MESSAGE = "The import job is currently running and cannot be deleted."

# The columns a job read needs; the report column can be large and is read only by its own route.
_JOB_COLUMNS = [c for c in import_jobs.c if c.name != "report"]
# Statements of the hot read paths are built once: building and cache-keying a select costs more
# than SQLite takes to run it.
_SELECT_JOB = select(*_JOB_COLUMNS).where(
    import_jobs.c.job_id == bindparam("job_id"), import_jobs.c.workspace_id == bindparam("workspace_id")
)
_SELECT_JOB_FOR_KEY = (
    select(*_JOB_COLUMNS)
    .join(api_keys, api_keys.c.workspace_id == import_jobs.c.workspace_id)
    .where(
        import_jobs.c.job_id == bindparam("job_id"),
        api_keys.c.key_hash == bindparam("key_hash"),
        api_keys.c.revoked_at_ms.is_(None),
    )
)


def _list_reads(by_status: bool, by_model_name: bool, by_base_model: bool) -> tuple[Select[Any], Select[Any]]:
    """The total and the page of one combination of list filters, with every value a parameter."""
    conditions = [import_jobs.c.workspace_id == bindparam("workspace_id")]
    if by_status:
        conditions.append(import_jobs.c.status == bindparam("status"))
    if by_model_name:
        conditions.append(import_jobs.c.model_name == bindparam("model_name"))
    if by_base_model:
        conditions.append(import_jobs.c.base_model == bindparam("base_model"))
    page = (
        select(*_JOB_COLUMNS)
        .where(*conditions)
        .order_by(import_jobs.c.created_at_ms.desc(), import_jobs.c.job_id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    if by_model_name or by_base_model:
        # model_name is unique, so that count touches at most one row; a base model's jobs are
        # counted through their own index.
        total = select(func.count().label("total")).select_from(import_jobs).where(*conditions)
    else:
        # The per-status counters, summed over their shards: a few rows however many jobs there are.
        counted = [job_counts.c.workspace_id == bindparam("workspace_id")]
        if by_status:
            counted.append(job_counts.c.status == bindparam("status"))
        total = select(func.coalesce(func.sum(job_counts.c.count), 0).label("total")).where(*counted)
    return total, page


_LIST_FILTERS = list(itertools.product((False, True), repeat=3))


@dataclass(frozen=True)
class JobPage:
    total: int
    jobs: list[Job]


@dataclass(frozen=True)
class Claim:
    job: Job
    owner: str
    attempt: int


class JobRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._job_for_key = FastRead(engine, _SELECT_JOB_FOR_KEY)
        # The list route's reads, compiled once: building a select per request cost a third of it.
        self._list_reads = {
            filters: tuple(FastRead(engine, statement) for statement in _list_reads(*filters))
            for filters in _LIST_FILTERS
        }
        self._async_job_for_key = (
            AsyncPostgresRead(engine, _SELECT_JOB_FOR_KEY) if self._dialect == "postgresql" else None
        )

    # -- the API side ---------------------------------------------------------------------------

    def create(self, workspace_id: int, request: NewJob) -> Job:
        created = now_ms()
        for _ in range(20):
            job_id = new_job_id()
            model_name = generate_model_name(request.base_model, created)
            values = {
                "job_id": job_id,
                "workspace_id": workspace_id,
                "model_name": model_name,
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
                    self._count_change(connection, workspace_id, job_id, {JobStatus.PENDING: +1})
                    announce_claimable_job(connection)
            except IntegrityError:
                # 36^4 names per base and day: a collision is rare but possible; draw again.
                continue
            return self._require(job_id)
        raise RuntimeError("could not generate a unique model name after 20 attempts")

    def get(self, workspace_id: int, job_id: str) -> Job | None:
        with single_read(self._engine) as connection:
            row = connection.execute(_SELECT_JOB, {"job_id": job_id, "workspace_id": workspace_id}).first()
        return None if row is None else _job(row._mapping)

    def get_for_key(self, key_hash: str, job_id: str) -> Job | None:
        """The job if it belongs to the workspace of this active key: auth and read in one statement.

        None means the key is not valid or the job is not the key's; the caller tells which apart.
        """
        row = self._job_for_key.first({"job_id": job_id, "key_hash": key_hash})
        return None if row is None else _job(row)

    def get_by_id(self, job_id: str) -> Job | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(*_JOB_COLUMNS).where(import_jobs.c.job_id == job_id)).first()
        return None if row is None else _job(row._mapping)

    def list(
        self,
        workspace_id: int,
        *,
        page_no: int,
        page_size: int,
        status: JobStatus | None = None,
        model_name: str | None = None,
        base_model: str | None = None,
    ) -> JobPage:
        total_read, page_read = self._list_reads[(status is not None, model_name is not None, base_model is not None)]
        parameters: dict[str, Any] = {"workspace_id": workspace_id}
        if status is not None:
            parameters["status"] = status.value
        if model_name is not None:
            parameters["model_name"] = model_name
        if base_model is not None:
            parameters["base_model"] = base_model
        # Reads without a transaction: under concurrent writes the total and the page may each be
        # a few milliseconds apart, which paging clients cannot tell from jobs created meanwhile.
        counted = total_read.first(parameters)
        total = int(counted["total"]) if counted is not None else 0
        offset = (page_no - 1) * page_size
        if offset >= total:
            return JobPage(total=total, jobs=[])
        rows = page_read.all({**parameters, "limit": page_size, "offset": offset})
        return JobPage(total=total, jobs=[_job(row) for row in rows])

    def delete_finished(self, workspace_id: int, job_id: str) -> Job:
        """Delete a SUCCESSED or FAILED job and return it as it was."""
        with write_transaction(self._engine) as connection:
            row = connection.execute(
                select(*_JOB_COLUMNS)
                .where(import_jobs.c.job_id == job_id, import_jobs.c.workspace_id == workspace_id)
                .with_for_update()
            ).first()
            if row is None:
                raise NotFound(f"Import job {job_id} does not exist.")
            job = _job(row._mapping)
            if not job.status.is_terminal:
                raise OperationDenied(DELETE_DENIED_MESSAGE)
            deleted = connection.execute(
                delete(import_jobs).where(import_jobs.c.job_id == job_id, import_jobs.c.status == job.status.value)
            ).rowcount
            if deleted != 1:
                raise OperationDenied(DELETE_DENIED_MESSAGE)
            self._count_change(connection, workspace_id, job_id, {job.status: -1})
        return job

    async def get_for_key_async(self, key_hash: str, job_id: str) -> Job | None:
        """`get_for_key` for the event loop: awaits PostgreSQL, reads SQLite in place (microseconds)."""
        if self._async_job_for_key is None:
            return self.get_for_key(key_hash, job_id)
        row = await self._async_job_for_key.first({"job_id": job_id, "key_hash": key_hash})
        return None if row is None else _job(row)

    def close(self) -> None:
        """Close the connections the fast reads keep outside the engine's pool."""
        self._job_for_key.close()
        for reads in self._list_reads.values():
            for read in reads:
                read.close()

    async def aclose(self) -> None:
        """Close the event loop's async connections (the API's shutdown)."""
        if self._async_job_for_key is not None:
            await self._async_job_for_key.aclose()

    def report(self, workspace_id: int, job_id: str) -> tuple[Job, dict[str, Any] | None] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(import_jobs).where(import_jobs.c.job_id == job_id, import_jobs.c.workspace_id == workspace_id)
            ).first()
        if row is None:
            return None
        return _job(row._mapping), (json.loads(row.report) if row.report else None)

    def model_names(self, names: Sequence[str]) -> set[str]:
        """Which of `names` belong to a job (the orphan sweep keeps those)."""
        if not names:
            return set()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(import_jobs.c.model_name).where(import_jobs.c.model_name.in_(list(names)))
            ).all()
        return {row.model_name for row in rows}

    # -- the worker side ------------------------------------------------------------------------

    def claim_next(self, owner: str, lease_seconds: float, max_attempts: int) -> Claim | None:
        """Take the oldest claimable job: PENDING, or RUNNING with an expired lease.

        A job whose lease expired after `max_attempts` claims is failed here instead of retried.
        """
        lease_ms = int(lease_seconds * 1000)
        while True:
            with write_transaction(self._engine) as connection:
                candidate = self._next_candidate(connection)
                if candidate is None:
                    return None
                job_id, old_status, attempts, workspace_id = candidate
                if old_status == JobStatus.RUNNING and attempts >= max_attempts:
                    self._exhaust(connection, job_id, workspace_id, attempts)
                    continue
                now = db_now_ms()
                row = connection.execute(
                    update(import_jobs)
                    .where(import_jobs.c.job_id == job_id, import_jobs.c.status == old_status.value)
                    .values(
                        status=JobStatus.RUNNING.value,
                        lease_owner=owner,
                        lease_expires_at_ms=now + lease_ms,
                        attempts=import_jobs.c.attempts + 1,
                        started_at_ms=func.coalesce(import_jobs.c.started_at_ms, now),
                        updated_at_ms=now,
                        phase="claimed",
                    )
                    .returning(*_JOB_COLUMNS)
                ).first()
                if row is None:
                    continue
                if old_status == JobStatus.PENDING:
                    self._count_move(connection, workspace_id, job_id, JobStatus.PENDING, JobStatus.RUNNING)
            job = _job(row._mapping)
            return Claim(job=job, owner=owner, attempt=job.attempts)

    def heartbeat(
        self,
        job_id: str,
        owner: str,
        lease_seconds: float,
        *,
        phase: str | None = None,
        bytes_done: int | None = None,
        bytes_total: int | None = None,
    ) -> bool:
        """Extend the lease and record progress; False means the lease is lost: stop working."""
        values: dict[str, Any] = {
            "lease_expires_at_ms": db_now_ms() + int(lease_seconds * 1000),
            "progress_at_ms": db_now_ms(),
        }
        if phase is not None:
            values["phase"] = phase
        if bytes_done is not None:
            values["bytes_done"] = bytes_done
        if bytes_total is not None:
            values["bytes_total"] = bytes_total
        with write_transaction(self._engine) as connection:
            updated = connection.execute(
                update(import_jobs).where(*self._owned(job_id, owner)).values(**values)
            ).rowcount
        return updated == 1

    def finish(
        self,
        job_id: str,
        owner: str,
        status: JobStatus,
        *,
        error_code: str | None = None,
        reason_code: str | None = None,
        report: Mapping[str, Any] | None = None,
    ) -> bool:
        """Move an owned RUNNING job to a terminal status; False if the lease was lost."""
        if status not in TRANSITIONS[JobStatus.RUNNING]:
            raise ValueError(f"a running job cannot become {status}")
        with write_transaction(self._engine) as connection:
            now = db_now_ms()
            row = connection.execute(
                update(import_jobs)
                .where(*self._owned(job_id, owner))
                .values(
                    status=status.value,
                    error_code=error_code if status == JobStatus.FAILED else None,
                    reason_code=reason_code,
                    report=json.dumps(report, separators=(",", ":")) if report is not None else None,
                    finished_at_ms=now,
                    updated_at_ms=now,
                    lease_owner=None,
                    lease_expires_at_ms=None,
                    phase="succeeded" if status == JobStatus.SUCCEEDED else "failed",
                )
                .returning(import_jobs.c.workspace_id)
            ).first()
            if row is None:
                return False
            self._count_move(connection, row.workspace_id, job_id, JobStatus.RUNNING, status)
        return True

    def release(self, job_id: str, owner: str) -> bool:
        """Hand an owned job back to the queue at once (graceful shutdown); the attempt is not counted."""
        with write_transaction(self._engine) as connection:
            updated = connection.execute(
                update(import_jobs)
                .where(*self._owned(job_id, owner))
                .values(
                    lease_owner=None,
                    lease_expires_at_ms=0,
                    attempts=import_jobs.c.attempts - 1,
                    phase="released",
                    updated_at_ms=db_now_ms(),
                )
            ).rowcount
            if updated == 1:
                announce_claimable_job(connection)
        return updated == 1

    def abandon(self, job_id: str, owner: str) -> bool:
        """Give up an owned job after an unexpected error: it is retried, and the attempt counts."""
        with write_transaction(self._engine) as connection:
            updated = connection.execute(
                update(import_jobs)
                .where(*self._owned(job_id, owner))
                .values(lease_owner=None, lease_expires_at_ms=0, phase="retrying", updated_at_ms=db_now_ms())
            ).rowcount
        return updated == 1

    def running_model_names(self, names: Sequence[str]) -> set[str]:
        """Which of `names` belong to a RUNNING job (their staging data may be in use)."""
        if not names:
            return set()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(import_jobs.c.model_name).where(
                    import_jobs.c.model_name.in_(list(names)), import_jobs.c.status == JobStatus.RUNNING.value
                )
            ).all()
        return {row.model_name for row in rows}

    def expire_leases_of(self, owners: Sequence[str]) -> int:
        """Expire the leases of owners known to be dead, so their jobs are reclaimed without waiting."""
        if not owners:
            return 0
        with write_transaction(self._engine) as connection:
            return connection.execute(
                update(import_jobs)
                .where(
                    import_jobs.c.status == JobStatus.RUNNING.value,
                    import_jobs.c.lease_owner.in_(list(owners)),
                )
                .values(lease_expires_at_ms=0)
            ).rowcount

    def running_owners(self) -> set[str]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(import_jobs.c.lease_owner)
                .where(import_jobs.c.status == JobStatus.RUNNING.value, import_jobs.c.lease_owner.isnot(None))
                .distinct()
            ).all()
        return {row.lease_owner for row in rows}

    def fail_exhausted(self, max_attempts: int) -> int:
        """The reaper's pass: fail every expired job that has used up its attempts."""
        failed = 0
        with write_transaction(self._engine) as connection:
            rows = connection.execute(
                select(import_jobs.c.job_id, import_jobs.c.workspace_id, import_jobs.c.attempts).where(
                    import_jobs.c.status == JobStatus.RUNNING.value,
                    import_jobs.c.lease_expires_at_ms < db_now_ms(),
                    import_jobs.c.attempts >= max_attempts,
                )
            ).all()
            for row in rows:
                failed += self._exhaust(connection, row.job_id, row.workspace_id, row.attempts)
        return failed

    def status_counts(self) -> dict[str, int]:
        """Jobs by status across workspaces (for /metrics)."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(job_counts.c.status, func.sum(job_counts.c.count)).group_by(job_counts.c.status)
            ).all()
        return {status: int(total) for status, total in rows}

    # -- internals ------------------------------------------------------------------------------

    def _next_candidate(self, connection: Connection) -> tuple[str, JobStatus, int, int] | None:
        columns = (
            import_jobs.c.job_id,
            import_jobs.c.status,
            import_jobs.c.attempts,
            import_jobs.c.workspace_id,
        )
        # Expired leases first: a job a dead worker held has waited longest already.
        for condition in (
            and_(
                import_jobs.c.status == JobStatus.RUNNING.value,
                import_jobs.c.lease_expires_at_ms < db_now_ms(),
            ),
            import_jobs.c.status == JobStatus.PENDING.value,
        ):
            query = (
                select(*columns).where(condition).order_by(import_jobs.c.created_at_ms, import_jobs.c.job_id).limit(1)
            )
            if self._dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = connection.execute(query).first()
            if row is not None:
                return row.job_id, JobStatus(row.status), int(row.attempts), int(row.workspace_id)
        return None

    def _exhaust(self, connection: Connection, job_id: str, workspace_id: int, attempts: int) -> int:
        now = db_now_ms()
        message = (
            f"The import could not be completed in {attempts} attempts (each time the worker stopped or hit "
            "an internal error) and was given up; create the import job again, and if it keeps failing "
            "check the worker logs."
        )
        updated = connection.execute(
            update(import_jobs)
            .where(
                import_jobs.c.job_id == job_id,
                import_jobs.c.status == JobStatus.RUNNING.value,
                or_(import_jobs.c.lease_expires_at_ms.is_(None), import_jobs.c.lease_expires_at_ms < now),
            )
            .values(
                status=JobStatus.FAILED.value,
                error_code=message,
                reason_code=reasons.WORKER_ATTEMPTS_EXHAUSTED,
                finished_at_ms=now,
                updated_at_ms=now,
                lease_owner=None,
                lease_expires_at_ms=None,
                phase="failed",
            )
        ).rowcount
        if updated == 1:
            self._count_move(connection, workspace_id, job_id, JobStatus.RUNNING, JobStatus.FAILED)
        return int(updated)

    @staticmethod
    def _owned(job_id: str, owner: str) -> tuple[Any, ...]:
        return (
            import_jobs.c.job_id == job_id,
            import_jobs.c.lease_owner == owner,
            import_jobs.c.status == JobStatus.RUNNING.value,
        )

    def _count_move(
        self, connection: Connection, workspace_id: int, job_id: str, old: JobStatus, new: JobStatus
    ) -> None:
        self._count_change(connection, workspace_id, job_id, {old: -1, new: +1})

    def _count_change(
        self, connection: Connection, workspace_id: int, job_id: str, deltas: Mapping[JobStatus, int]
    ) -> None:
        """Apply per-status deltas in one statement, on the job's own shard of the counters."""
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        shard = count_shard(job_id)
        statement = insert(job_counts).values(
            [
                {"workspace_id": workspace_id, "status": status.value, "shard": shard, "count": delta}
                # One order for every writer, so two transactions never lock the same rows crosswise.
                for status, delta in sorted(deltas.items(), key=lambda item: item[0].value)
            ]
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[job_counts.c.workspace_id, job_counts.c.status, job_counts.c.shard],
                set_={"count": job_counts.c.count + statement.excluded.count},
            )
        )

    def _require(self, job_id: str) -> Job:
        job = self.get_by_id(job_id)
        assert job is not None
        return job


def _job(row: Mapping[Any, Any]) -> Job:
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
            phase=row["phase"],
            bytes_done=row["bytes_done"],
            bytes_total=row["bytes_total"],
            updated_at_ms=row["progress_at_ms"],
        ),
    )
