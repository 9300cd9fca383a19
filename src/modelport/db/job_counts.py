"""Per-workspace job counts by status, spread over shard rows (`job_counts`).

Every insert, status change and delete of a job changes its counts in the same transaction, so the
list route's `total` costs a few row reads however many jobs a workspace holds. Each count is
spread over COUNT_SHARDS rows (a job always lands on the same one), so concurrent workers do not
queue on one row lock; readers sum the shards.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from modelport.db.schema import count_shard, job_counts
from modelport.domain.jobs import JobStatus


def change_counts(connection: Connection, workspace_id: int, job_id: str, deltas: Mapping[JobStatus, int]) -> None:
    """Apply per-status deltas in one statement, on the job's own shard of the counters."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
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


def move_count(connection: Connection, workspace_id: int, job_id: str, old: JobStatus, new: JobStatus) -> None:
    change_counts(connection, workspace_id, job_id, {old: -1, new: +1})


def status_counts(engine: Engine) -> dict[str, int]:
    """Jobs by status across workspaces (for /metrics)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(job_counts.c.status, func.sum(job_counts.c.count)).group_by(job_counts.c.status)
        ).all()
    return {status: int(total) for status, total in rows}
