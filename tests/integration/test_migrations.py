"""Migrations: the migrated schema equals the code's tables; outdated or foreign schemas are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from modelport.db.engine import make_engine
from modelport.db.migrations import SchemaError, alembic_config, ensure_schema, head_revision, upgrade
from modelport.db.schema import metadata


def test_the_migrated_schema_equals_the_tables_the_code_uses(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_an_empty_database_is_migrated_and_a_second_start_changes_nothing(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    ensure_schema(engine)
    ensure_schema(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()
    engine.dispose()


def test_a_schema_from_a_newer_modelport_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
        connection.execute(text("INSERT INTO workspaces (name, created_at_ms) VALUES ('x', 0)"))
    with pytest.raises(SchemaError, match="this modelport does not know"):
        ensure_schema(engine)
    engine.dispose()


def test_tables_without_a_schema_version_are_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    with pytest.raises(SchemaError, match="holds tables but no modelport schema version"):
        ensure_schema(engine)
    engine.dispose()


def test_a_schema_behind_the_code_is_refused_until_db_upgrade_keeps_the_data(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    with engine.connect() as connection, connection.begin():
        command.upgrade(alembic_config(connection), "0001")  # the schema of the first release
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO workspaces (id, name, created_at_ms) VALUES (1, 'alpha', 0)"))
        connection.execute(text("INSERT INTO job_counts (workspace_id, status, count) VALUES (1, 'PENDING', 7)"))
    behind = rf"at revision 0001 but this modelport needs {head_revision()}.*modelport db upgrade"
    with pytest.raises(SchemaError, match=behind):
        ensure_schema(engine)
    assert upgrade(engine) == ("0001", head_revision())
    ensure_schema(engine)
    with engine.connect() as connection:
        total = connection.execute(text("SELECT sum(count) FROM job_counts WHERE status = 'PENDING'")).scalar()
    assert total == 7
    engine.dispose()


def test_db_upgrade_command_brings_a_database_to_head(empty_database_url: str, tmp_path: Path) -> None:
    env = {"MODELPORT_DATABASE_URL": empty_database_url, "MODELPORT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(
        [sys.executable, "-m", "modelport", "db", "upgrade"], env=env, capture_output=True, text=True, check=True
    )
    assert "Upgraded the database schema from empty to" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "modelport", "db", "upgrade"], env=env, capture_output=True, text=True, check=True
    )
    assert "already at revision" in second.stdout


def test_serve_refuses_to_start_on_a_schema_it_does_not_know(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    env = {"MODELPORT_DATABASE_URL": database_url, "MODELPORT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "modelport", "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ffff" in result.stderr and "newer modelport" in result.stderr


def test_sharded_counts_fold_back_into_one_row_per_status_on_downgrade(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO workspaces (id, name, created_at_ms) VALUES (1, 'alpha', 0)"))
        connection.execute(
            text(
                "INSERT INTO job_counts (workspace_id, status, shard, count) VALUES "
                "(1, 'PENDING', 3, 2), (1, 'PENDING', 9, 5), (1, 'FAILED', 0, 1), (1, 'FAILED', 4, 1)"
            )
        )
    with engine.connect() as connection, connection.begin():
        command.downgrade(alembic_config(connection), "0001")
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT status, count FROM job_counts")).all())
    assert rows == {"PENDING": 7, "FAILED": 2}
    engine.dispose()
