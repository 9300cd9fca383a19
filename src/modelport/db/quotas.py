"""Per-workspace limits and what each workspace uses: RUNNING and PENDING jobs (from the sharded
job counts) and stored bytes (the sharded `workspace_storage`, changed with the job rows).

Reads cost a few rows whatever the number of jobs, because create checks them on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from modelport.db.engine import single_read, write_transaction
from modelport.db.schema import count_shard, job_counts, workspace_quotas, workspace_storage, workspaces
from modelport.domain.jobs import JobStatus


@dataclass(frozen=True)
class Limits:
    """A workspace's limits; None is unlimited."""

    max_running: int | None = None
    max_pending: int | None = None
    max_stored_bytes: int | None = None


@dataclass(frozen=True)
class Usage:
    running: int
    pending: int
    stored_bytes: int


class QuotaRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def limits(self, workspace_id: int) -> Limits | None:
        """The operator's limits for the workspace, or None if it has none of its own."""
        with single_read(self._engine) as connection:
            row = connection.execute(
                select(workspace_quotas).where(workspace_quotas.c.workspace_id == workspace_id)
            ).first()
        return None if row is None else Limits(row.max_running, row.max_pending, row.max_stored_bytes)

    def set_limits(self, workspace_id: int, limits: Limits) -> None:
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        values = {"max_running": limits.max_running, "max_pending": limits.max_pending,
                  "max_stored_bytes": limits.max_stored_bytes}  # fmt: skip
        statement = insert(workspace_quotas).values(workspace_id=workspace_id, **values)
        with write_transaction(self._engine) as connection:
            connection.execute(statement.on_conflict_do_update(index_elements=["workspace_id"], set_=values))

    def workspaces(self) -> dict[str, int]:
        """Every workspace's id by name, for `quotas show`."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(workspaces.c.name, workspaces.c.id).order_by(workspaces.c.name)).all()
        return {row.name: row.id for row in rows}

    def usage(self, workspace_id: int) -> Usage:
        with single_read(self._engine) as connection:
            counts = dict(
                connection.execute(
                    select(job_counts.c.status, func.sum(job_counts.c.count))
                    .where(job_counts.c.workspace_id == workspace_id)
                    .group_by(job_counts.c.status)
                ).all()
            )
            stored = connection.execute(
                select(func.coalesce(func.sum(workspace_storage.c.bytes), 0)).where(
                    workspace_storage.c.workspace_id == workspace_id
                )
            ).scalar_one()
        return Usage(
            running=int(counts.get(JobStatus.RUNNING.value, 0)),
            pending=int(counts.get(JobStatus.PENDING.value, 0)),
            stored_bytes=int(stored),
        )


def change_stored_bytes(connection: Connection, workspace_id: int, job_id: str, delta: int) -> None:
    """Add `delta` to the workspace's stored bytes, on the job's shard, in the caller's transaction."""
    if delta == 0:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(workspace_storage).values(workspace_id=workspace_id, shard=count_shard(job_id), bytes=delta)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "shard"],
            set_={"bytes": workspace_storage.c.bytes + statement.excluded.bytes},
        )
    )
