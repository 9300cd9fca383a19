"""The poll route's awaited read on PostgreSQL: same answers as the blocking read, and a database
restart that kills its idle connections costs no failed poll."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, literal_column, select, text

from modelport.db.async_read import AsyncPostgresRead
from modelport.db.keys_repository import hash_key
from modelport.services import Services
from tests.support.jobs import key_hash_and_pending_job

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(shared_postgres_url: str) -> str:
    return shared_postgres_url


def test_awaited_read_answers_as_the_blocking_read(services: Services) -> None:
    key_hash, job_id = key_hash_and_pending_job(services, "async-reads")
    other_key, _ = services.keys.create_key("someone-else")

    async def reads() -> list[object]:
        try:
            return [
                await services.reads.get_for_key_async(key_hash, job_id),
                await services.reads.get_for_key_async(hash_key(other_key), job_id),
                await services.reads.get_for_key_async(key_hash, "no-such-job"),
            ]
        finally:
            await services.reads.aclose()

    mine, not_mine, missing = asyncio.run(reads())
    assert mine == services.reads.get_for_key(key_hash, job_id)
    assert mine is not None and mine.job_id == job_id
    assert not_mine is None and missing is None


def test_idle_connections_killed_by_the_server_are_replaced(services: Services) -> None:
    key_hash, job_id = key_hash_and_pending_job(services, "async-reads")

    async def read_kill_read() -> tuple[object, object, int]:
        try:
            before = await services.reads.get_for_key_async(key_hash, job_id)
            with services.engine.connect() as connection:
                killed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state = 'idle' AND application_name = ''"
                    )
                ).scalar_one()
            after = await services.reads.get_for_key_async(key_hash, job_id)
            return before, after, killed
        finally:
            await services.reads.aclose()

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


def test_libpq_url_parameters_are_honoured_not_sent_to_the_server(shared_postgres_url: str) -> None:
    # connect_timeout is libpq's, not a server setting: passed through as-is, every read would fail.
    separator = "&" if "?" in shared_postgres_url else "?"
    engine = create_engine(f"{shared_postgres_url}{separator}connect_timeout=5&application_name=modelport-poll")
    reader = AsyncPostgresRead(engine, select(literal_column("current_setting('application_name')").label("app")))

    async def read() -> object:
        try:
            return await reader.first({})
        finally:
            await reader.aclose()

    assert asyncio.run(read()) == {"app": "modelport-poll"}
    engine.dispose()
