"""A single-row read that skips SQLAlchemy's per-execution machinery, for the one query every
client polls with (GET a job, authenticated in the same statement).

Profiling showed SQLAlchemy's execution path (result wrapping, cache-key lookup, connection
events) costing about two thirds of that route's time and three times SQLite's own work. The
statement is still written with SQLAlchemy Core and compiled once per engine for its dialect and
parameter style; only the execution goes straight to the pooled DBAPI connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Select


class FastRead:
    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._positional = compiled.positional
        self._order = tuple(compiled.positiontup or ())
        self.columns = tuple(column.name for column in statement.selected_columns)
        self._postgresql = engine.dialect.name == "postgresql"

    def first(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a column-name mapping, or None."""
        values: Any = [parameters[name] for name in self._order] if self._positional else dict(parameters)
        connection = self._engine.pool.connect()
        autocommit = self._postgresql
        try:
            if autocommit:
                # One round trip for one SELECT, instead of BEGIN, SELECT and the pool's ROLLBACK.
                connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, values)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except Exception:
            connection.invalidate()  # a broken connection must not go back to the pool
            raise
        finally:
            if autocommit and connection.is_valid:
                connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]
            connection.close()
        return None if row is None else dict(zip(self.columns, row, strict=True))
