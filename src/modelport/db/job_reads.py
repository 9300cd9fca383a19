"""Reads of import jobs, including the two every client runs most: the poll (a job, authenticated
in the same statement) and the list page with its total.

The hot statements are built and compiled once: building and cache-keying a select costs more
than SQLite takes to run it (see FastRead and AsyncPostgresRead). Reads skip transactions; each
statement is atomic by itself.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, select

from modelport.db.async_read import AsyncPostgresRead
from modelport.db.engine import single_read
from modelport.db.fast_read import FastRead
from modelport.db.job_rows import JOB_COLUMNS, job_from_row
from modelport.db.schema import api_keys, import_jobs, job_counts
from modelport.domain.jobs import Job, JobFilter, JobStatus

_SELECT_JOB = select(*JOB_COLUMNS).where(
    import_jobs.c.job_id == bindparam("job_id"), import_jobs.c.workspace_id == bindparam("workspace_id")
)
_SELECT_JOB_FOR_KEY = (
    select(*JOB_COLUMNS)
    .join(api_keys, api_keys.c.workspace_id == import_jobs.c.workspace_id)
    .where(
        import_jobs.c.job_id == bindparam("job_id"),
        api_keys.c.key_hash == bindparam("key_hash"),
        api_keys.c.revoked_at_ms.is_(None),
    )
)


_NAMES_PER_QUERY = 500


@dataclass(frozen=True)
class JobPage:
    total: int
    jobs: list[Job]


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
        select(*JOB_COLUMNS)
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


class JobReads:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._job_for_key = FastRead(engine, _SELECT_JOB_FOR_KEY)
        # The list route's reads, compiled once per filter combination.
        self._list_reads = {
            shape: tuple(FastRead(engine, statement) for statement in _list_reads(*shape))
            for shape in itertools.product((False, True), repeat=3)
        }
        self._async_job_for_key = (
            AsyncPostgresRead(engine, _SELECT_JOB_FOR_KEY) if engine.dialect.name == "postgresql" else None
        )

    def get(self, workspace_id: int, job_id: str) -> Job | None:
        with single_read(self._engine) as connection:
            row = connection.execute(_SELECT_JOB, {"job_id": job_id, "workspace_id": workspace_id}).first()
        return None if row is None else job_from_row(row._mapping)

    def get_for_key(self, key_hash: str, job_id: str) -> Job | None:
        """The job if it belongs to the workspace of this active key: auth and read in one statement.

        None means the key is not valid or the job is not the key's; the caller tells which apart.
        """
        row = self._job_for_key.first({"job_id": job_id, "key_hash": key_hash})
        return None if row is None else job_from_row(row)

    async def get_for_key_async(self, key_hash: str, job_id: str) -> Job | None:
        """`get_for_key` for the event loop: awaits PostgreSQL, reads SQLite in place (microseconds)."""
        if self._async_job_for_key is None:
            return self.get_for_key(key_hash, job_id)
        row = await self._async_job_for_key.first({"job_id": job_id, "key_hash": key_hash})
        return None if row is None else job_from_row(row)

    def get_by_id(self, job_id: str) -> Job | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(*JOB_COLUMNS).where(import_jobs.c.job_id == job_id)).first()
        return None if row is None else job_from_row(row._mapping)

    def page(self, workspace_id: int, *, page_no: int, page_size: int, where: JobFilter) -> JobPage:
        total_read, page_read = self._list_reads[
            (where.status is not None, where.model_name is not None, where.base_model is not None)
        ]
        parameters: dict[str, Any] = {"workspace_id": workspace_id}
        if where.status is not None:
            parameters["status"] = where.status.value
        if where.model_name is not None:
            parameters["model_name"] = where.model_name
        if where.base_model is not None:
            parameters["base_model"] = where.base_model
        # Reads without a transaction: under concurrent writes the total and the page may each be
        # a few milliseconds apart, which paging clients cannot tell from jobs created meanwhile.
        counted = total_read.first(parameters)
        total = int(counted["total"]) if counted is not None else 0
        offset = (page_no - 1) * page_size
        if offset >= total:
            return JobPage(total=total, jobs=[])
        rows = page_read.all({**parameters, "limit": page_size, "offset": offset})
        return JobPage(total=total, jobs=[job_from_row(row) for row in rows])

    def report(self, workspace_id: int, job_id: str) -> tuple[Job, dict[str, Any] | None] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(import_jobs).where(import_jobs.c.job_id == job_id, import_jobs.c.workspace_id == workspace_id)
            ).first()
        if row is None:
            return None
        return job_from_row(row._mapping), (json.loads(row.report) if row.report else None)

    def model_names(self, names: Sequence[str]) -> set[str]:
        """Which of `names` belong to a job (the orphan sweep keeps those)."""
        return self._names_where(names)

    def running_model_names(self, names: Sequence[str]) -> set[str]:
        """Which of `names` belong to a RUNNING job (their staging data may be in use)."""
        return self._names_where(names, JobStatus.RUNNING)

    def live_model_names(self, names: Sequence[str]) -> set[str]:
        """Which of `names` belong to a RUNNING or SUCCESSED job (the blob collector keeps their
        references)."""
        return self._names_where(names, JobStatus.RUNNING) | self._names_where(names, JobStatus.SUCCEEDED)

    def by_model_names(self, names: Sequence[str]) -> list[Job]:
        """The jobs of these model names, oldest first."""
        if not names:
            return []
        query = (
            select(*JOB_COLUMNS)
            .where(import_jobs.c.model_name.in_(list(names)))
            .order_by(import_jobs.c.created_at_ms, import_jobs.c.job_id)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [job_from_row(row._mapping) for row in rows]

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

    def _names_where(self, names: Sequence[str], status: JobStatus | None = None) -> set[str]:
        found: set[str] = set()
        # A few hundred at a time: the blob collector asks about every model that holds a blob.
        for start in range(0, len(names), _NAMES_PER_QUERY):
            query = select(import_jobs.c.model_name).where(
                import_jobs.c.model_name.in_(list(names[start : start + _NAMES_PER_QUERY]))
            )
            if status is not None:
                query = query.where(import_jobs.c.status == status.value)
            with self._engine.connect() as connection:
                found |= {row.model_name for row in connection.execute(query).all()}
        return found
