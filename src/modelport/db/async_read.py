"""PostgreSQL only: the poll route's single-row read over asyncpg, awaited on the event loop.

A blocking read on the event loop leaves the API process idle while the database works, and on
PostgreSQL that wait is a network round trip plus the server's own CPU time; run through the
thread pool, the hand-off costs as much again. So the poll route awaits the database instead.
asyncpg rather than psycopg's own asyncio mode, which SQLAlchemy uses everywhere else: the API
process is CPU-bound under load, and psycopg's asyncio path cost 119 µs of CPU per query against
asyncpg's 56 µs (same query, same server), a quarter of the whole request (BENCHMARKS.md, API).
SQLite needs none of this: a read is a few microseconds in-process. The statement is the same
SQLAlchemy Core select as everywhere, compiled once for asyncpg's `$n` parameters.

Connections belong to the event loop that opened them (one per running server, one per test
client); `aclose()` closes those of the current loop at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import Engine, Select, make_url
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from modelport.db.engine import libpq_conninfo

_DEFAULT_CONNECT_TIMEOUT = 60.0  # asyncpg's own default; libpq's 0 means "no limit"
# What a connection that died under us raises (a database restart, a dropped socket).
_CONNECTION_LOST = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionError)


class _LoopPool:
    def __init__(self, dsn: str, connect_timeout: float, size: int) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._slots = asyncio.Semaphore(size)
        self._idle: list[asyncpg.Connection] = []

    async def acquire(self, *, fresh: bool = False) -> asyncpg.Connection:
        await self._slots.acquire()
        try:
            while self._idle and not fresh:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
            return await asyncpg.connect(self._dsn, timeout=self._connect_timeout, statement_cache_size=16)
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: asyncpg.Connection) -> None:
        self._idle.append(connection)
        self._slots.release()

    def discard(self, connection: asyncpg.Connection) -> None:
        try:
            connection.terminate()
        finally:
            self._slots.release()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


class AsyncPostgresRead:
    def __init__(self, engine: Engine, statement: Select[Any], *, size: int = 8) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())
        self._columns = tuple(column.name for column in statement.selected_columns)
        self._dsn, self._connect_timeout = _asyncpg_dsn(engine)
        self._size = size
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}

    async def first(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        pool = self._pool()
        arguments = [parameters[name] for name in self._order]
        try:
            return await self._first_on(pool, await pool.acquire(), arguments)
        except _CONNECTION_LOST:
            # An idle connection may have died with a database restart; one fresh try tells that
            # apart from a database that is really down.
            return await self._first_on(pool, await pool.acquire(fresh=True), arguments)

    async def _first_on(
        self, pool: _LoopPool, connection: asyncpg.Connection, arguments: list[Any]
    ) -> dict[str, Any] | None:
        try:
            row = await connection.fetchrow(self._sql, *arguments)
        except BaseException:
            pool.discard(connection)  # a failed or cancelled connection is not reused
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
            pool = self._pools[loop] = _LoopPool(self._dsn, self._connect_timeout, self._size)
        return pool


def _asyncpg_dsn(engine: Engine) -> tuple[str, float]:
    """The engine's URL for asyncpg, and its connect timeout. asyncpg reads libpq's URL parameters
    except `connect_timeout`, which it would send to the server as a setting (and fail every read)."""
    url = make_url(libpq_conninfo(engine))
    timeout = url.query.get("connect_timeout")
    seconds = float(timeout if isinstance(timeout, str) else timeout[-1]) if timeout else _DEFAULT_CONNECT_TIMEOUT
    dsn = url.difference_update_query(["connect_timeout"]).render_as_string(hide_password=False)
    return dsn, seconds if seconds > 0 else _DEFAULT_CONNECT_TIMEOUT
