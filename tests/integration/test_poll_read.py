"""The poll route's blocking read (SQLite keeps a connection per thread, PostgreSQL uses the pool):
every read sees the latest commit, whichever thread reads, and shutdown closes what it kept."""

from __future__ import annotations

import threading

from sqlalchemy import update

from modelport.db.schema import import_jobs
from modelport.domain.jobs import JobStatus
from modelport.services import Services
from tests.support.jobs import key_hash_and_pending_job


def _set_status(services: Services, job_id: str, status: JobStatus) -> None:
    with services.engine.begin() as connection:
        connection.execute(update(import_jobs).where(import_jobs.c.job_id == job_id).values(status=status.value))


def test_each_read_sees_the_latest_commit_from_any_thread(services: Services) -> None:
    key_hash, job_id = key_hash_and_pending_job(services, "poll-reads")
    seen: list[str] = []

    def poll() -> None:
        job = services.reads.get_for_key(key_hash, job_id)
        assert job is not None
        seen.append(job.status.value)

    poll()  # this thread's connection now exists and is reused below
    _set_status(services, job_id, JobStatus.RUNNING)
    poll()
    other = threading.Thread(target=poll)
    other.start()
    other.join()
    _set_status(services, job_id, JobStatus.FAILED)
    poll()
    assert seen == ["PENDING", "RUNNING", "RUNNING", "FAILED"]


def test_closing_the_services_closes_the_kept_connections(services: Services) -> None:
    key_hash, job_id = key_hash_and_pending_job(services, "poll-reads")
    assert services.reads.get_for_key(key_hash, job_id) is not None
    services.close()
    # Closed, not leaked: a read after shutdown opens a fresh connection rather than failing.
    assert services.reads.get_for_key(key_hash, job_id) is not None
    services.close()
