"""Reads that skip SQLAlchemy's per-execution machinery, for the queries every client runs most:
the poll (GET a job, authenticated in the same statement) and the list route's total and page.

Profiling showed SQLAlchemy's execution path (result wrapping, cache-key lookup, connection
events) costing about two thirds of that route's time and three times SQLite's own work. The
statement is still written with SQLAlchemy Core and compiled once per engine for its dialect and
parameter style; only the execution goes straight to the DBAPI connection.

On SQLite each thread keeps one connection of its own, taken out of the pool: the pool's
check-out and reset-on-return cost as much as the read itself (7 % of the route under load), and
an SQLite connection is a file handle, not a server session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.pool import PoolProxiedConnection


class FastRead:
    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._positional = compiled.positional
        self._order = tuple(compiled.positiontup or ())
        # Literals in the statement (a COALESCE default, say) are bound parameters with fixed values.
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}
        self.columns = tuple(column.name for column in statement.selected_columns)
        self._postgresql = engine.dialect.name == "postgresql"
        self._local = threading.local()
        self._own: list[PoolProxiedConnection] = []  # every thread's, so close() reaches them all
        self._own_lock = threading.Lock()

    def first(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a column-name mapping, or None."""
        rows = self._run(parameters, _fetch_first)
        return None if not rows else dict(zip(self.columns, rows[0], strict=True))

    def all(self, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row, each as a column-name mapping."""
        return [dict(zip(self.columns, row, strict=True)) for row in self._run(parameters, _fetch_all)]

    def _run(self, parameters: Mapping[str, Any], fetch: _Fetch) -> list[Any]:
        bound = {**self._fixed, **parameters}
        values: Any = [bound[name] for name in self._order] if self._positional else bound
        if self._postgresql:
            return self._on_pooled_connection(values, fetch)
        return self._on_own_connection(values, fetch)

    def close(self) -> None:
        """Close the per-thread SQLite connections (at shutdown)."""
        with self._own_lock:
            own, self._own = self._own, []
        for connection in own:
            connection.close()
        self._local = threading.local()

    def _on_own_connection(self, values: Any, fetch: _Fetch) -> list[Any]:
        connection: PoolProxiedConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._engine.raw_connection()  # runs the engine's SQLite set-up (WAL, ...)
            connection.detach()
            with self._own_lock:
                self._own.append(connection)
            self._local.connection = connection
        try:
            return fetch(connection, self._sql, values)
        except Exception:
            self._local.connection = None  # a broken connection is not used again
            with self._own_lock:
                if connection in self._own:
                    self._own.remove(connection)
            connection.close()
            raise

    def _on_pooled_connection(self, values: Any, fetch: _Fetch) -> list[Any]:
        connection = self._engine.pool.connect()
        try:
            # One round trip for one SELECT, instead of BEGIN, SELECT and the pool's ROLLBACK.
            connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            return fetch(connection, self._sql, values)
        except Exception:
            connection.invalidate()  # a broken connection must not go back to the pool
            raise
        finally:
            if connection.is_valid:
                connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]
            connection.close()


_Fetch = Callable[[PoolProxiedConnection, str, Any], list[Any]]


def _fetch_first(connection: PoolProxiedConnection, sql: str, values: Any) -> list[Any]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, values)
        row = cursor.fetchone()
        return [] if row is None else [row]
    finally:
        cursor.close()


def _fetch_all(connection: PoolProxiedConnection, sql: str, values: Any) -> list[Any]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, values)
        return list(cursor.fetchall())
    finally:
        cursor.close()
