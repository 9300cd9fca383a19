"""The lease protocol on SQLite and PostgreSQL: claim, heartbeat, finish, release, expiry, exhaustion,
and per-status counts that always equal the rows."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select, text, update

from modelport.db.engine import make_engine
from modelport.db.job_queue import JobQueue, Lease
from modelport.db.schema import import_jobs
from modelport.domain.jobs import JobFilter, JobStatus, NewJob, Phase, StorageInfo, WeightType
from modelport.services import Services


def new_job(n: int = 0) -> NewJob:
    return NewJob(
        base_model="qwen3-8b",
        weight_type=WeightType.LORA,
        storage=StorageInfo(bucket_name="my-bucket", object_key=f"models/{n}/"),
        display_name=None,
    )


def workspace(services: Services, name: str = "alpha") -> int:
    return services.keys.ensure_workspace(name)


def expire_lease(services: Services, job_id: str) -> None:
    """What the passing of `lease_seconds` does to a lease, without waiting for it."""
    with services.engine.begin() as connection:
        connection.execute(update(import_jobs).where(import_jobs.c.job_id == job_id).values(lease_expires_at_ms=0))


def assert_counts_match_rows(services: Services) -> None:
    with services.engine.connect() as connection:
        rows = connection.execute(
            select(import_jobs.c.workspace_id, import_jobs.c.status, func.count()).group_by(
                import_jobs.c.workspace_id, import_jobs.c.status
            )
        ).all()
        counted = connection.execute(
            text(
                "SELECT workspace_id, status, sum(count) FROM job_counts GROUP BY workspace_id, status "
                "HAVING sum(count) <> 0"
            )
        ).all()
    assert {(w, s): c for w, s, c in rows} == {(w, s): c for w, s, c in counted}


def test_jobs_are_claimed_oldest_first(services: Services) -> None:
    ws = workspace(services)
    created = [services.writes.create(ws, new_job(n)).job.job_id for n in range(3)]
    claimed = [services.queue.claim_next(f"w{n}", 30, 3) for n in range(4)]
    assert [c.job.job_id for c in claimed[:3] if c] == created
    assert claimed[3] is None
    assert all(c.job.status == JobStatus.RUNNING and c.attempt == 1 for c in claimed[:3] if c)
    assert_counts_match_rows(services)


def test_only_the_lease_owner_can_heartbeat_or_finish(services: Services) -> None:
    ws = workspace(services)
    job = services.writes.create(ws, new_job()).job
    claim = services.queue.claim_next("owner-a", 30, 3)
    assert claim is not None
    assert services.queue.heartbeat(job.job_id, "owner-b", 30) is Lease.LOST
    assert not services.queue.finish(job.job_id, "owner-b", JobStatus.SUCCEEDED)
    assert (
        services.queue.heartbeat(job.job_id, "owner-a", 30, phase=Phase.COPYING, bytes_done=5, bytes_total=10)
        is Lease.HELD
    )
    progress = services.reads.get(ws, job.job_id).progress  # type: ignore[union-attr]
    assert (progress.phase, progress.bytes_done, progress.bytes_total) == ("copying", 5, 10)
    assert services.queue.finish(job.job_id, "owner-a", JobStatus.SUCCEEDED, report={"ok": True})
    assert not services.queue.finish(job.job_id, "owner-a", JobStatus.FAILED, error_code="late")
    assert services.reads.get(ws, job.job_id).status == JobStatus.SUCCEEDED  # type: ignore[union-attr]
    assert_counts_match_rows(services)


def test_an_expired_lease_is_reclaimed_and_the_old_owner_is_fenced_off(services: Services) -> None:
    ws = workspace(services)
    job = services.writes.create(ws, new_job()).job
    assert services.queue.claim_next("owner-a", 30, 3) is not None
    assert services.queue.claim_next("owner-b", 30, 3) is None
    expire_lease(services, job.job_id)
    reclaimed = services.queue.claim_next("owner-b", 30, 3)
    assert reclaimed is not None and reclaimed.attempt == 2
    assert services.queue.heartbeat(job.job_id, "owner-a", 30) is Lease.LOST
    assert not services.queue.finish(job.job_id, "owner-a", JobStatus.SUCCEEDED)
    assert services.queue.finish(job.job_id, "owner-b", JobStatus.SUCCEEDED)
    assert_counts_match_rows(services)


def test_a_job_fails_after_its_attempts_are_used_up(services: Services) -> None:
    ws = workspace(services)
    job = services.writes.create(ws, new_job()).job
    for attempt in range(1, 4):
        claim = services.queue.claim_next(f"owner-{attempt}", 30, 3)
        assert claim is not None and claim.attempt == attempt
        expire_lease(services, job.job_id)
    assert services.queue.claim_next("owner-4", 30, 3) is None
    failed = services.reads.get(ws, job.job_id)
    assert failed is not None and failed.status == JobStatus.FAILED
    assert failed.reason_code == "worker.attempts_exhausted"
    assert "3 attempts" in (failed.error_code or "")
    assert_counts_match_rows(services)


def test_the_reaper_pass_fails_exhausted_jobs_without_a_claim(services: Services) -> None:
    ws = workspace(services)
    job = services.writes.create(ws, new_job()).job
    for attempt in range(3):
        assert services.queue.claim_next(f"owner-{attempt}", 30, 3) is not None
        expire_lease(services, job.job_id)
    assert services.queue.fail_exhausted(3) == 1
    assert services.queue.fail_exhausted(3) == 0
    assert services.reads.get(ws, job.job_id).status == JobStatus.FAILED  # type: ignore[union-attr]
    assert_counts_match_rows(services)


def test_a_released_job_is_claimable_at_once_and_the_attempt_does_not_count(services: Services) -> None:
    ws = workspace(services)
    job = services.writes.create(ws, new_job()).job
    for _ in range(5):
        claim = services.queue.claim_next("owner-a", 30, 3)
        assert claim is not None and claim.attempt == 1
        assert services.queue.release(job.job_id, "owner-a")
    assert services.reads.get(ws, job.job_id).status == JobStatus.RUNNING  # type: ignore[union-attr]
    assert_counts_match_rows(services)


def test_an_abandoned_job_is_retried_and_the_attempt_counts(services: Services) -> None:
    ws = workspace(services)
    job = services.writes.create(ws, new_job()).job
    assert services.queue.claim_next("owner-a", 30, 3) is not None
    assert services.queue.abandon(job.job_id, "owner-a")
    retry = services.queue.claim_next("owner-b", 30, 3)
    assert retry is not None and retry.attempt == 2


def test_expiring_the_leases_of_dead_owners(services: Services) -> None:
    ws = workspace(services)
    first = services.writes.create(ws, new_job(1)).job
    services.writes.create(ws, new_job(2))
    assert services.queue.claim_next("dead", 30, 3) is not None
    assert services.queue.claim_next("alive", 30, 3) is not None
    assert services.queue.running_owners() == {"dead", "alive"}
    assert services.queue.expire_leases_of(["dead"]) == 1
    reclaimed = services.queue.claim_next("new", 30, 3)
    assert reclaimed is not None and reclaimed.job.job_id == first.job_id


def test_concurrent_claimers_never_take_the_same_job(services: Services) -> None:
    ws = workspace(services)
    total = 60
    for n in range(total):
        services.writes.create(ws, new_job(n))
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def drain(owner: str) -> None:
        engine = make_engine(services.settings.database_url)  # one pool per claimer, like a process
        repository = JobQueue(engine)
        try:
            while (claim := repository.claim_next(owner, 30, 3)) is not None:
                with lock:
                    claimed.append(claim.job.job_id)
                assert repository.finish(claim.job.job_id, owner, JobStatus.SUCCEEDED)
        except BaseException as error:  # surfaced below: a thread's failure must fail the test
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=drain, args=(f"owner-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(claimed) == total
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert_counts_match_rows(services)


def test_counts_follow_creates_transitions_and_deletes(services: Services) -> None:
    alpha, beta = workspace(services, "alpha"), workspace(services, "beta")
    jobs = [services.writes.create(ws, new_job(n)).job for n, ws in enumerate([alpha, alpha, beta, alpha])]
    for outcome in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        claim = services.queue.claim_next("w", 30, 3)
        assert claim is not None
        services.queue.finish(claim.job.job_id, "w", outcome, error_code="x")
    finished = services.reads.get_by_id(jobs[0].job_id)
    assert finished is not None and services.writes.delete_finished(finished)
    assert not services.writes.delete_finished(finished)  # gone already: someone else won
    assert_counts_match_rows(services)
    page = services.reads.page(alpha, page_no=1, page_size=10, where=JobFilter())
    assert page.total == 2 and len(page.jobs) == 2
    # Round-robin: the second claim took beta's only job (FAILED), not alpha's next one.
    assert services.reads.page(beta, page_no=1, page_size=10, where=JobFilter(status=JobStatus.FAILED)).total == 1
    assert services.reads.page(alpha, page_no=1, page_size=10, where=JobFilter(status=JobStatus.PENDING)).total == 2
