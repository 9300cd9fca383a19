"""The one database read serving needs: which workspace a published model's job belongs to.

The manifest does not carry the workspace, so the resolver asks the database that the workers
write (`MODELPORT_DATABASE_URL`), and only when a workspace allowlist is set. Reads only: this
module never migrates, creates or writes anything, and a database that is missing or has no
modelport schema is a configuration error at start, not an empty answer later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from modelport.db.engine import make_engine
from modelport.db.schema import import_jobs, workspaces
from modelport.serving.config import WORKSPACES_VARIABLE, ServingConfigError


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    model_name: str
    workspace: str
    status: str


class JobLookup:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, database_url: str) -> JobLookup:
        """An engine on `database_url`, checked with one read; raises ServingConfigError."""
        url = make_url(database_url)
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
            # make_engine would create an empty SQLite file: a wrong data dir must not look like "no jobs".
            raise ServingConfigError(
                f"{WORKSPACES_VARIABLE} needs the modelport database, and {shown} does not exist: set "
                "MODELPORT_DATABASE_URL (or MODELPORT_DATA_DIR) to the one the workers use."
            )
        lookup = cls(make_engine(database_url))
        try:
            lookup.job("00000000-0000-0000-0000-000000000000")
        except SQLAlchemyError as error:
            lookup.close()
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise ServingConfigError(
                f"{WORKSPACES_VARIABLE} needs the modelport database, and {shown} cannot be read as one ({reason}); "
                "check MODELPORT_DATABASE_URL."
            ) from None
        return lookup

    def job(self, job_id: str) -> JobRecord | None:
        statement = (
            select(import_jobs.c.job_id, import_jobs.c.model_name, import_jobs.c.status, workspaces.c.name)
            .join(workspaces, workspaces.c.id == import_jobs.c.workspace_id)
            .where(import_jobs.c.job_id == job_id)
        )
        with self._engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return JobRecord(job_id=row.job_id, model_name=row.model_name, workspace=row.name, status=row.status)

    def close(self) -> None:
        self._engine.dispose()
