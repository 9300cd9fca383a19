"""Databases for the benchmarks: a fresh PostgreSQL database made and dropped per run, job timestamps read
straight from `import_jobs`, and fast seeding of many jobs (COPY on PostgreSQL, executemany on SQLite).

Seeding writes rows the way `JobWrites` would leave them and then rebuilds `job_counts` (the
per-(workspace, status) counts the list route reads for `total`) from the rows, so the table stays
consistent with what the server believes.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine, create_engine, text

from modelport.settings import normalize_database_url

POSTGRES_ADMIN_URL = os.environ.get("MODELPORT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_BATCH = 20_000
_COLUMNS = (
    "job_id", "workspace_id", "model_name", "display_name", "base_model", "weight_type", "bucket_name",
    "object_key", "status", "error_code", "reason_code", "created_at_ms", "updated_at_ms", "started_at_ms",
    "finished_at_ms", "attempts", "phase", "bytes_done", "bytes_total",
)  # fmt: skip


def engine_for(url: str) -> Engine:
    return create_engine(normalize_database_url(url))


@contextmanager
def fresh_postgres_database(stem: str = "modelport_bench") -> Iterator[str]:
    """A new, empty database on the local server for the duration of the block; dropped afterwards."""
    name = f"{stem}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(path: os.PathLike[str] | str) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class JobTimes:
    status: str
    created_at_ms: int
    started_at_ms: int | None
    finished_at_ms: int | None


def job_times(engine: Engine, job_ids: list[str]) -> dict[str, JobTimes]:
    found: dict[str, JobTimes] = {}
    with engine.connect() as connection:
        for start in range(0, len(job_ids), 500):
            chunk = job_ids[start : start + 500]
            marks = ", ".join(f":id{i}" for i in range(len(chunk)))
            rows = connection.execute(
                text(
                    "SELECT job_id, status, created_at_ms, started_at_ms, finished_at_ms FROM import_jobs "
                    f"WHERE job_id IN ({marks})"
                ),
                {f"id{i}": job_id for i, job_id in enumerate(chunk)},
            ).all()
            for row in rows:
                found[row.job_id] = JobTimes(row.status, row.created_at_ms, row.started_at_ms, row.finished_at_ms)
    return found


def workspace_of_key(engine: Engine, plaintext_key: str) -> int:
    key_hash = hashlib.sha256(plaintext_key.encode()).hexdigest()
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT workspace_id FROM api_keys WHERE key_hash = :h"), {"h": key_hash}
            ).scalar_one()
        )


def seed_jobs(
    engine: Engine,
    workspace_id: int,
    count: int,
    *,
    status: str | None = None,
    bucket: str = "bench-bucket",
    object_key: str = "models/empty/",
    base_model: str = "qwen3-8b",
    stem: str = "seed",
) -> list[str]:
    """Insert `count` jobs; terminal ones (a SUCCESSED/FAILED mix, oldest first) unless `status` is given
    (e.g. PENDING for a queue to drain). Returns the job ids in creation order."""
    now = int(time.time() * 1000)
    first = now - count * 10  # 10 ms apart, the newest just now
    job_ids = [str(uuid.uuid4()) for _ in range(count)]

    def rows(start: int, stop: int) -> Iterator[tuple[object, ...]]:
        for n in range(start, stop):
            created = first + n * 10
            chosen = status or ("FAILED" if n % 4 == 3 else "SUCCESSED")
            terminal = chosen in ("SUCCESSED", "FAILED")
            yield (
                job_ids[n], workspace_id, f"{base_model}-offline-bench-{stem}-{n:08d}", f"bench job {n}",
                base_model, "lora", bucket, object_key, chosen,
                "adapter_config.json: r is 12; the rank must be one of 8, 16, 32, 64." if chosen == "FAILED" else None,
                "lora.rank" if chosen == "FAILED" else None,
                created, created + 5 if terminal else created,
                created + 1 if terminal else None, created + 5 if terminal else None,
                1 if terminal else 0,
                ("failed" if chosen == "FAILED" else "succeeded") if terminal else None,
                4096 if terminal else 0, 4096 if terminal else None,
            )  # fmt: skip

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY import_jobs ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for start in range(0, count, _BATCH):
                    for row in rows(start, min(start + _BATCH, count)):
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in _COLUMNS)
            statement = f"INSERT INTO import_jobs ({', '.join(_COLUMNS)}) VALUES ({marks})"
            cursor.execute("BEGIN IMMEDIATE")
            for start in range(0, count, _BATCH):
                cursor.executemany(statement, list(rows(start, min(start + _BATCH, count))))
        raw.commit()
        cursor.close()
    finally:
        raw.close()
    rebuild_job_counts(engine, workspace_id)
    return job_ids


def rebuild_job_counts(engine: Engine, workspace_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM job_counts WHERE workspace_id = :w"), {"w": workspace_id})
        connection.execute(
            text(
                "INSERT INTO job_counts (workspace_id, status, count) "
                "SELECT workspace_id, status, COUNT(*) FROM import_jobs WHERE workspace_id = :w "
                "GROUP BY workspace_id, status"
            ),
            {"w": workspace_id},
        )
    if engine.dialect.name == "postgresql":
        # What autovacuum would do within a minute of a bulk load; the planner needs row estimates.
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE import_jobs"))


def count_jobs(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT COUNT(*) FROM import_jobs")).scalar_one())
