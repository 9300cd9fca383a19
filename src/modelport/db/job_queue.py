"""The workers' side of import jobs: the lease protocol.

A worker claims a job in one transaction: an expired lease first (its job has waited longest),
else the next PENDING job in round-robin order across workspaces (`fair_share`), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers). It holds the job with a
lease on the database's clock that its heartbeat extends, and only the lease owner can finish,
release or abandon it. A lease that expires puts the job back in the queue; after
`max_attempts` claims it fails instead. A cancel request on a RUNNING job is a flag the
heartbeat answers with; the owner then ends the job. Every status change goes through
`transitions.change_status`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Engine, func, or_, select, update

from modelport.db.engine import db_now_ms, write_transaction
from modelport.db.fair_share import next_pending_job
from modelport.db.job_notifications import announce_claimable_job
from modelport.db.job_rows import JOB_COLUMNS, job_from_row
from modelport.db.quotas import change_stored_bytes
from modelport.db.schema import import_jobs, job_counts, workspace_quotas
from modelport.db.transitions import change_status
from modelport.domain import reasons
from modelport.domain.jobs import Job, JobStatus, Phase


def _encoded(report: Mapping[str, Any] | None) -> str | None:
    # Strict JSON: a NaN in a report would make it unreadable (and its route answer 500) for good.
    return None if report is None else json.dumps(report, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Claim:
    job: Job
    owner: str
    attempt: int


class Lease(enum.Enum):
    """What a heartbeat learned about the job it beat for."""

    HELD = "held"
    CANCEL_REQUESTED = "cancel_requested"  # still ours, but the user asked to stop it
    LOST = "lost"  # another worker owns it now, or it ended: stop working on it


class _AtRunningLimit(Exception):
    """The workspace of the chosen job reached max_running meanwhile: roll back, choose again."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id


def attempts_exhausted_message(attempts: int) -> str:
    return (
        f"The import could not be completed in {attempts} attempts (each time the worker stopped or hit "
        "an infrastructure fault) and was given up; create the import job again, and if it keeps failing "
        "check the worker logs."
    )


class JobQueue:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgresql = engine.dialect.name == "postgresql"

    def claim_next(self, owner: str, lease_seconds: float, max_attempts: int) -> Claim | None:
        """Take a job: one whose lease expired, else the next PENDING one in round-robin order.

        A job whose lease expired after `max_attempts` claims is failed here instead of retried.
        """
        lease_ms = int(lease_seconds * 1000)
        full: set[int] = set()
        while True:
            try:
                claim = self._claim_once(owner, lease_ms, max_attempts, frozenset(full))
            except _AtRunningLimit as limited:
                full.add(limited.workspace_id)
                continue
            if claim is not False:
                return claim

    def _claim_once(
        self, owner: str, lease_ms: int, max_attempts: int, full: frozenset[int]
    ) -> Claim | Literal[False] | None:
        """One attempt: the claim, None if nothing is claimable, False to try again."""
        with write_transaction(self._engine) as connection:
            candidate = self._next_candidate(connection, full)
            if candidate is None:
                return None
            job_id, old_status, attempts = candidate
            if old_status == JobStatus.RUNNING and attempts >= max_attempts:
                self._exhaust(connection, job_id, attempts)
                return False
            now = db_now_ms()
            lease = {
                "lease_owner": owner,
                "lease_expires_at_ms": now + lease_ms,
                "attempts": import_jobs.c.attempts + 1,
                "started_at_ms": func.coalesce(import_jobs.c.started_at_ms, now),
                "updated_at_ms": now,
                "phase": Phase.CLAIMED.value,
            }
            if old_status == JobStatus.PENDING:
                row = change_status(
                    connection, job_id, JobStatus.PENDING, JobStatus.RUNNING, values=lease, returning=JOB_COLUMNS
                )
            else:
                # Re-claiming a job whose lease expired is a change of owner, not of status.
                row = connection.execute(
                    update(import_jobs)
                    .where(import_jobs.c.job_id == job_id, import_jobs.c.status == JobStatus.RUNNING.value)
                    .values(**lease)
                    .returning(*JOB_COLUMNS)
                ).first()
            if row is None:
                return False
        job = job_from_row(row._mapping)
        return Claim(job=job, owner=owner, attempt=job.attempts)

    def heartbeat(
        self,
        job_id: str,
        owner: str,
        lease_seconds: float,
        *,
        phase: Phase | None = None,
        bytes_done: int | None = None,
        bytes_total: int | None = None,
    ) -> Lease:
        """Extend the lease and record progress; LOST means stop working, CANCEL_REQUESTED end it."""
        values: dict[str, Any] = {
            "lease_expires_at_ms": db_now_ms() + int(lease_seconds * 1000),
            "progress_at_ms": db_now_ms(),
        }
        if phase is not None:
            values["phase"] = phase.value
        if bytes_done is not None:
            values["bytes_done"] = bytes_done
        if bytes_total is not None:
            values["bytes_total"] = bytes_total
        with write_transaction(self._engine) as connection:
            row = connection.execute(
                update(import_jobs)
                .where(*self._owned(job_id, owner))
                .values(**values)
                .returning(import_jobs.c.cancel_requested_at_ms)
            ).first()
        if row is None:
            return Lease.LOST
        return Lease.HELD if row.cancel_requested_at_ms is None else Lease.CANCEL_REQUESTED

    def finish(
        self,
        job_id: str,
        owner: str,
        status: JobStatus,
        *,
        error_code: str | None = None,
        reason_code: str | None = None,
        report: Mapping[str, Any] | None = None,
        stored_bytes: int | None = None,
    ) -> bool:
        """Move an owned RUNNING job to a terminal status; False if the lease was lost.

        A success is refused too (False) once a cancel was requested: the owner then takes down
        what it published and records the cancel (`finish` with FAILED), so an accepted cancel
        never ends SUCCESSED. `stored_bytes` (a success's model size) counts toward the quota.
        """
        where: list[ColumnElement[bool]] = [import_jobs.c.lease_owner == owner]
        if status == JobStatus.SUCCEEDED:
            where.append(import_jobs.c.cancel_requested_at_ms.is_(None))
        with write_transaction(self._engine) as connection:
            now = db_now_ms()
            row = change_status(
                connection,
                job_id,
                JobStatus.RUNNING,
                status,
                where=where,
                values={
                    "error_code": error_code if status == JobStatus.FAILED else None,
                    "reason_code": reason_code,
                    "report": _encoded(report),
                    "stored_bytes": stored_bytes,
                    "finished_at_ms": now,
                    "updated_at_ms": now,
                    "lease_owner": None,
                    "lease_expires_at_ms": None,
                    "phase": Phase.ending(status).value,
                },
            )
            if row is not None and stored_bytes:
                change_stored_bytes(connection, row.workspace_id, job_id, stored_bytes)
        return row is not None

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
                    phase=Phase.RELEASED.value,
                    updated_at_ms=db_now_ms(),
                )
            ).rowcount
            if updated == 1:
                announce_claimable_job(connection)
        return bool(updated == 1)

    def abandon(self, job_id: str, owner: str) -> bool:
        """Give up an owned job after an infrastructure fault: it is retried, and the attempt counts."""
        with write_transaction(self._engine) as connection:
            updated = connection.execute(
                update(import_jobs)
                .where(*self._owned(job_id, owner))
                .values(lease_owner=None, lease_expires_at_ms=0, phase=Phase.RETRYING.value, updated_at_ms=db_now_ms())
            ).rowcount
        return bool(updated == 1)

    def expire_leases_of(self, owners: Sequence[str]) -> int:
        """Expire the leases of owners known to be dead, so their jobs are reclaimed without waiting."""
        if not owners:
            return 0
        with write_transaction(self._engine) as connection:
            expired: int = connection.execute(
                update(import_jobs)
                .where(import_jobs.c.status == JobStatus.RUNNING.value, import_jobs.c.lease_owner.in_(list(owners)))
                .values(lease_expires_at_ms=0)
            ).rowcount
        return expired

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
                select(import_jobs.c.job_id, import_jobs.c.attempts).where(
                    import_jobs.c.status == JobStatus.RUNNING.value,
                    import_jobs.c.lease_expires_at_ms < db_now_ms(),
                    import_jobs.c.attempts >= max_attempts,
                )
            ).all()
            for row in rows:
                failed += self._exhaust(connection, row.job_id, row.attempts)
        return failed

    def _next_candidate(self, connection: Connection, full: frozenset[int]) -> tuple[str, JobStatus, int] | None:
        # Expired leases first: a job a dead worker held has waited longest already.
        expired = (
            select(import_jobs.c.job_id, import_jobs.c.attempts)
            .where(import_jobs.c.status == JobStatus.RUNNING.value, import_jobs.c.lease_expires_at_ms < db_now_ms())
            .order_by(import_jobs.c.created_at_ms, import_jobs.c.job_id)
            .limit(1)
        )
        if self._postgresql:
            expired = expired.with_for_update(skip_locked=True)
        row = connection.execute(expired).first()
        if row is not None:
            return row.job_id, JobStatus.RUNNING, int(row.attempts)
        pending = connection.execute(next_pending_job(self._postgresql, full)).first()
        if pending is None:
            return None
        if self._postgresql:
            self._check_running_limit(connection, pending.workspace_id)
        return pending.job_id, JobStatus.PENDING, 0

    @staticmethod
    def _check_running_limit(connection: Connection, workspace_id: int) -> None:
        """Raise _AtRunningLimit if claiming one more job would pass the workspace's max_running.

        The choice above read the counts without a lock, so two workers could both see room for
        one more; locking the workspace's quota row serialises the claims that a limit governs,
        and the count read after the lock sees every claim committed before it.
        """
        limit = connection.execute(
            select(workspace_quotas.c.max_running)
            .where(workspace_quotas.c.workspace_id == workspace_id)
            .with_for_update()
        ).scalar()
        if limit is None:
            return
        running = connection.execute(
            select(func.coalesce(func.sum(job_counts.c.count), 0)).where(
                job_counts.c.workspace_id == workspace_id, job_counts.c.status == JobStatus.RUNNING.value
            )
        ).scalar_one()
        if running >= limit:
            raise _AtRunningLimit(workspace_id)

    def _exhaust(self, connection: Connection, job_id: str, attempts: int) -> int:
        now = db_now_ms()
        row = change_status(
            connection,
            job_id,
            JobStatus.RUNNING,
            JobStatus.FAILED,
            where=(or_(import_jobs.c.lease_expires_at_ms.is_(None), import_jobs.c.lease_expires_at_ms < now),),
            values={
                "error_code": attempts_exhausted_message(attempts),
                "reason_code": reasons.WORKER_ATTEMPTS_EXHAUSTED.code,
                "finished_at_ms": now,
                "updated_at_ms": now,
                "lease_owner": None,
                "lease_expires_at_ms": None,
                "phase": Phase.FAILED.value,
            },
        )
        return 0 if row is None else 1

    @staticmethod
    def _owned(job_id: str, owner: str) -> tuple[ColumnElement[bool], ...]:
        return (
            import_jobs.c.job_id == job_id,
            import_jobs.c.lease_owner == owner,
            import_jobs.c.status == JobStatus.RUNNING.value,
        )
