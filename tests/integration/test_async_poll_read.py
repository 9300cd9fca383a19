"""The poll route's awaited read on PostgreSQL: same answers as the blocking read, and a database
restart that kills its idle connections costs no failed poll."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, literal_column, select, text

from modelport.db.async_read import AsyncPostgresRead
from modelport.db.keys_repository import hash_key
from modelport.domain.jobs import NewJob, StorageInfo, WeightType
from modelport.services import Services

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(shared_postgres_url: str) -> str:
    return shared_postgres_url


def _create_job(services: Services) -> tuple[str, str]:
    key, record = services.keys.create_key("async-reads")
    workspace_id = services.keys.authenticate(key)
    assert workspace_id is not None and record.active
    job = services.jobs.create(
        workspace_id,
        NewJob(
            base_model="qwen3-8b",
            weight_type=WeightType.LORA,
            storage=StorageInfo(bucket_name="b", object_key="m/"),
            display_name=None,
        ),
    )
    return key, job.job_id


def test_awaited_read_answers_as_the_blocking_read(services: Services) -> None:
    key, job_id = _create_job(services)
    other_key, _ = services.keys.create_key("someone-else")

    async def reads() -> list[object]:
        try:
            return [
                await services.jobs.get_for_key_async(hash_key(key), job_id),
                await services.jobs.get_for_key_async(hash_key(other_key), job_id),
                await services.jobs.get_for_key_async(hash_key(key), "no-such-job"),
            ]
        finally:
            await services.jobs.aclose()

    mine, not_mine, missing = asyncio.run(reads())
    assert mine == services.jobs.get_for_key(hash_key(key), job_id)
    assert mine is not None and mine.job_id == job_id
    assert not_mine is None and missing is None


def test_idle_connections_killed_by_the_server_are_replaced(services: Services) -> None:
    key, job_id = _create_job(services)

    async def read_kill_read() -> tuple[object, object, int]:
        try:
            before = await services.jobs.get_for_key_async(hash_key(key), job_id)
            with services.engine.connect() as connection:
                killed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state = 'idle' AND application_name = ''"
                    )
                ).scalar_one()
            after = await services.jobs.get_for_key_async(hash_key(key), job_id)
            return before, after, killed
        finally:
            await services.jobs.aclose()

    before, after, killed = asyncio.run(read_kill_read())
    assert killed >= 1  # the awaited read's idle connection was among them
    assert before == after
    assert after is not None


def test_a_database_that_is_down_is_an_error_not_an_empty_answer() -> None:
    nothing_listens = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/modelport")
    reader = AsyncPostgresRead(nothing_listens, select(literal_column("1").label("one")))

    async def read() -> object:
        try:
            return await reader.first({})
        finally:
            await reader.aclose()

    with pytest.raises(OSError):  # connection refused
        asyncio.run(read())
