"""Which PENDING job a worker claims next: round-robin across the workspaces that have one waiting.

The workspace whose last claim is oldest goes first (one never claimed before goes before all),
and within a workspace the oldest job. Each claim makes its workspace the most recent, so a
workspace with one waiting job waits for at most one claim per other waiting workspace, however
many jobs those hold. A workspace at its `max_running` limit is passed over.

The cost is bounded by the number of workspaces, not of jobs: the waiting workspaces come from the
sharded job counts, "last claim" is one index probe each (ix_import_jobs_started), and the job is
the head of ix_import_jobs_listing_status.

On PostgreSQL it is one statement: the workspaces in round-robin order, joined LATERAL to the
head of each one's queue with `FOR UPDATE SKIP LOCKED`, and LIMIT 1, so the nested loop stops at
(and locks) the first job nobody else holds. SQLite serialises writers, so a correlated subquery
picks the same job without locking.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, case, func, literal_column, nulls_first, or_, select
from sqlalchemy.sql.elements import ColumnElement

from modelport.db.schema import import_jobs, job_counts, workspace_quotas
from modelport.domain.jobs import JobStatus


def _waiting_workspaces() -> Select[tuple[int, int | None]]:
    """Workspaces with a PENDING job and room under max_running, with when they last had one claimed."""
    pending = func.sum(case((job_counts.c.status == JobStatus.PENDING.value, job_counts.c.count), else_=0))
    running = func.sum(case((job_counts.c.status == JobStatus.RUNNING.value, job_counts.c.count), else_=0))
    claimed = import_jobs.alias("claimed")
    last_claim = (
        select(func.max(claimed.c.started_at_ms))
        .where(claimed.c.workspace_id == job_counts.c.workspace_id)
        .scalar_subquery()
    )
    return (
        select(job_counts.c.workspace_id, last_claim.label("last_claim"))
        .outerjoin(workspace_quotas, workspace_quotas.c.workspace_id == job_counts.c.workspace_id)
        .where(job_counts.c.status.in_((JobStatus.PENDING.value, JobStatus.RUNNING.value)))
        .group_by(job_counts.c.workspace_id, workspace_quotas.c.max_running)
        .having(
            and_(
                pending > 0,
                or_(workspace_quotas.c.max_running.is_(None), running < workspace_quotas.c.max_running),
            )
        )
    )


def _head_of(workspace_id: ColumnElement[int]) -> Select[tuple[str]]:
    return (
        select(import_jobs.c.job_id)
        .where(import_jobs.c.workspace_id == workspace_id, import_jobs.c.status == JobStatus.PENDING.value)
        .order_by(import_jobs.c.created_at_ms, import_jobs.c.job_id)
        .limit(1)
    )


def next_pending_job(postgresql: bool, skip_workspaces: frozenset[int] = frozenset()) -> Select[tuple[str, int]]:
    """The statement selecting (job_id, workspace_id) of the job to claim next, or no row."""
    waiting = _waiting_workspaces()
    if skip_workspaces:
        waiting = waiting.where(job_counts.c.workspace_id.notin_(sorted(skip_workspaces)))
    last_claim = waiting.selected_columns.last_claim
    # Ordered inside the subquery too: PostgreSQL then walks the workspaces in this order through
    # the nested loop and the outer LIMIT stops at the first head it could lock, instead of locking
    # every workspace's head and sorting afterwards.
    ordered = waiting.order_by(nulls_first(last_claim.asc()), job_counts.c.workspace_id).subquery("waiting")
    order = (nulls_first(ordered.c.last_claim.asc()), ordered.c.workspace_id)
    if postgresql:
        head = _head_of(ordered.c.workspace_id).with_for_update(skip_locked=True).lateral("head")
        return (
            select(head.c.job_id, ordered.c.workspace_id)
            .select_from(ordered.join(head, literal_column("true")))
            .order_by(*order)
            .limit(1)
        )
    head_id = _head_of(ordered.c.workspace_id).scalar_subquery()
    return select(head_id.label("job_id"), ordered.c.workspace_id).order_by(*order).limit(1)
