"""Engine construction and transaction helpers shared by every repository.

SQLite needs care to behave like a server database under concurrent writers: WAL so that readers
never wait on the worker, a busy timeout, and `BEGIN IMMEDIATE` for write transactions so that
two writers queue on the lock instead of one failing with "database is locked" at upgrade time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

_SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
            # As many kept connections as the API's thread pool has threads (40): an overflow
            # connection is opened, set up and closed per request, which halved the list route's
            # throughput under load. Idle SQLite connections cost a file handle each.
            pool_size=40,
            max_overflow=16,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the sqlite3 module's implicit
        # transactions would start DEFERRED and defeat BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:
            connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: takes SQLite's write lock up front."""
    with engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            yield connection


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for reads on a hot path, without transaction round trips: no BEGIN/ROLLBACK
    around them (each statement is atomic by itself), which on PostgreSQL saves two of three
    round trips per SELECT."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            connection.execution_options(sqlite_begin=None)
        yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection, connection.begin():
        yield connection


class db_now_ms(FunctionElement[int]):
    """The database server's clock in epoch milliseconds.

    Leases are compared against one clock (the database's), so workers on hosts whose clocks
    drift can never steal each other's jobs early.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(db_now_ms, "sqlite")
def _sqlite_now(_element: db_now_ms, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"


@compiles(db_now_ms, "postgresql")
def _postgresql_now(_element: db_now_ms, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"


def libpq_conninfo(engine: Engine) -> str:
    """The engine's PostgreSQL URL in libpq's form, for connections made outside SQLAlchemy's pool
    (the workers' LISTEN connection, the poll route's asyncpg reads)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
