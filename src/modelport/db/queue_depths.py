"""The queue per workspace, for /metrics: PENDING and RUNNING jobs and how long the oldest PENDING
job has waited. Read when scraped, at a cost bounded by the workspaces with work (the sharded job
counts, then one index probe each), not by the number of jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, case, func, or_, select

from modelport.clock import now_ms
from modelport.db.schema import import_jobs, job_counts, workspaces
from modelport.domain.jobs import JobStatus


@dataclass(frozen=True)
class QueueDepth:
    workspace: str
    pending: int
    running: int
    oldest_wait_seconds: float  # 0 when nothing is PENDING


def queue_depths(engine: Engine) -> list[QueueDepth]:
    pending = func.sum(case((job_counts.c.status == JobStatus.PENDING.value, job_counts.c.count), else_=0))
    running = func.sum(case((job_counts.c.status == JobStatus.RUNNING.value, job_counts.c.count), else_=0))
    oldest = (
        select(func.min(import_jobs.c.created_at_ms))
        .where(import_jobs.c.workspace_id == job_counts.c.workspace_id, import_jobs.c.status == JobStatus.PENDING.value)
        .scalar_subquery()
    )
    statement = (
        select(workspaces.c.name, pending.label("pending"), running.label("running"), oldest.label("oldest"))
        .join(workspaces, workspaces.c.id == job_counts.c.workspace_id)
        .where(job_counts.c.status.in_((JobStatus.PENDING.value, JobStatus.RUNNING.value)))
        .group_by(job_counts.c.workspace_id, workspaces.c.name)
        .having(or_(pending > 0, running > 0))
        .order_by(workspaces.c.name)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    now = now_ms()  # the clock created_at_ms is written with (the API's, not the database's)
    return [
        QueueDepth(
            workspace=row.name,
            pending=int(row.pending),
            running=int(row.running),
            oldest_wait_seconds=max(now - int(row.oldest), 0) / 1000 if row.oldest is not None else 0.0,
        )
        for row in rows
    ]
