"""PostgreSQL only: the poll route's single-row read over psycopg's own asyncio connections.

A blocking read on the event loop leaves the API process idle while the database works, and on
PostgreSQL that wait is a network round trip plus the server's own CPU time; run through the
thread pool, the hand-off costs as much again. psycopg 3 speaks asyncio natively, so the poll
route awaits the database instead and the loop keeps serving. SQLite needs none of this: a read is
a few microseconds in-process. The statement is the same SQLAlchemy Core select as everywhere,
compiled once for psycopg's parameter style.

Connections belong to the event loop that opened them (one per running server, one per test
client); `aclose()` closes those of the current loop at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy import Engine, Select

from modelport.db.engine import libpq_conninfo


class _LoopPool:
    def __init__(self, conninfo: str, size: int) -> None:
        self._conninfo = conninfo
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def acquire(self, *, fresh: bool = False) -> psycopg.AsyncConnection[Any]:
        await self._slots.acquire()
        try:
            while self._idle and not fresh:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
            return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._idle.append(connection)
        self._slots.release()

    async def discard(self, connection: psycopg.AsyncConnection[Any]) -> None:
        try:
            await connection.close()
        finally:
            self._slots.release()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


class AsyncPostgresRead:
    def __init__(self, engine: Engine, statement: Select[Any], *, size: int = 8) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._sql = str(compiled)
        self._columns = tuple(column.name for column in statement.selected_columns)
        self._conninfo = libpq_conninfo(engine)
        self._size = size
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}

    async def first(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        pool = self._pool()
        try:
            return await self._first_on(pool, await pool.acquire(), parameters)
        except psycopg.OperationalError:
            # An idle connection may have died with a database restart; one fresh try tells that
            # apart from a database that is really down.
            return await self._first_on(pool, await pool.acquire(fresh=True), parameters)

    async def _first_on(
        self, pool: _LoopPool, connection: psycopg.AsyncConnection[Any], parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        try:
            cursor = await connection.execute(self._sql, dict(parameters))
            row = await cursor.fetchone()
        except BaseException:
            await pool.discard(connection)  # a failed or cancelled connection is not reused
            raise
        pool.release(connection)
        return None if row is None else dict(zip(self._columns, row, strict=True))

    async def aclose(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    def _pool(self) -> _LoopPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _LoopPool(self._conninfo, self._size)
        return pool
