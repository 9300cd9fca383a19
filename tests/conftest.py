"""Fixtures shared by every test layer: databases (SQLite always, PostgreSQL when reachable),
settings over a temporary data folder, and opened services.

PostgreSQL: tests use MODELPORT_TEST_POSTGRES_URL, or try postgresql://postgres@127.0.0.1:5432/postgres.
When the variable is set and the server is unreachable, the tests fail (CI must not skip them
silently); when it is not set and nothing answers, PostgreSQL tests are skipped with a message.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelport.db.engine import make_engine
from modelport.db.migrations import ensure_schema, head_revision
from modelport.services import Services, open_services
from modelport.settings import Settings, normalize_database_url

POSTGRES_ENV = "MODELPORT_TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SKIP_MESSAGE = (
    "PostgreSQL is not reachable at {url}; set MODELPORT_TEST_POSTGRES_URL=postgresql://USER@HOST:PORT/DB "
    "(a role that may create databases) to run the PostgreSQL tests."
)
TABLES = (
    "webhook_attempts",
    "webhook_messages",
    "webhook_endpoints",
    "import_jobs",
    "job_counts",
    "api_keys",
    "workspaces",
)


def _admin_url() -> tuple[str, bool]:
    explicit = os.environ.get(POSTGRES_ENV)
    return normalize_database_url(explicit or DEFAULT_POSTGRES), explicit is not None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server, or skip."""
    url, explicit = _admin_url()
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        if explicit:
            pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL is unreachable: {error}")
        pytest.skip(SKIP_MESSAGE.format(url=url.replace("+psycopg", "")))
    finally:
        engine.dispose()
    return url


def create_postgres_database(admin_url: str) -> str:
    name = f"modelport_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def fresh_postgres_url(postgres_server: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    url = create_postgres_database(postgres_server)
    yield url
    drop_postgres_database(postgres_server, url)


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_server: str) -> Iterator[str]:
    url = create_postgres_database(postgres_server)
    yield url
    drop_postgres_database(postgres_server, url)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session; tests start from a copy (migrating takes longer)."""
    path = tmp_path_factory.mktemp("template") / "modelport.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind; PostgreSQL tables are emptied before each test."""
    if request.param == "sqlite":
        path = tmp_path / "modelport.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("shared_postgres_url")
    engine = create_engine(url)
    with engine.begin() as connection:
        present = {
            row[0] for row in connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
        }
        version = (
            connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()
            if "alembic_version" in present
            else None
        )
        if set(TABLES) <= present and version == head_revision():
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        elif present:
            # An earlier test broke the schema on purpose: start from an empty database again.
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        lease_seconds=5.0,
        poll_seconds=0.05,
        chunk_bytes=64 * 1024,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    opened = open_services(settings)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nobody has touched yet, of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url
