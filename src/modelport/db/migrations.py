"""Schema migrations: upgrade to head, and the start-up check that refuses an out-of-date schema.

An empty database is migrated on start; a database behind the code is refused with the command
that upgrades it (in a rolling deployment the operator runs `modelport db upgrade` once, before
new processes start); a database ahead of the code is refused too, since old code must not write
rows it does not understand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

_SCRIPT_LOCATION = str(Path(__file__).parent / "alembic")
# Any constant works; it only has to be the same in every modelport process.
_PG_MIGRATION_LOCK = 7_231_905_114


class SchemaError(RuntimeError):
    pass


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    script = ScriptDirectory(_SCRIPT_LOCATION)
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """Serialize migrations between processes starting at the same time."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                connection.commit()
        else:
            yield connection


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; returns (revision before, revision after)."""
    with _migration_lock(engine) as connection:
        before = current_revision(connection)
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            command.upgrade(alembic_config(connection), "head")
        return before, head_revision()


def ensure_schema(engine: Engine) -> None:
    """Migrate an empty database; refuse one that is behind or ahead of this code."""
    with _migration_lock(engine) as connection:
        revision = current_revision(connection)
        has_tables = bool(inspect(connection).get_table_names())
        connection.commit()
    head = head_revision()
    if revision == head:
        return
    if revision is None and not has_tables:
        upgrade(engine)
        return
    if revision is None:
        raise SchemaError(
            "The database holds tables but no modelport schema version; "
            "point MODELPORT_DATABASE_URL at an empty database or at a modelport database."
        )
    known = {rev.revision for rev in ScriptDirectory(_SCRIPT_LOCATION).walk_revisions()}
    if revision in known:
        raise SchemaError(
            f"The database schema is at revision {revision} but this modelport needs {head}. "
            "Run `modelport db upgrade` (with the same MODELPORT_DATABASE_URL) and start again."
        )
    raise SchemaError(
        f"The database schema is at revision {revision}, which this modelport does not know "
        f"(its newest is {head}); it was written by a newer modelport. Upgrade modelport."
    )
