"""Queue latency: how long a new job waits for an idle worker (create → RUNNING, p50/p99 over a few hundred
jobs, from the job's own timestamps `started_at_ms - created_at_ms`), and how fast 1, 2 and 4 worker
processes on PostgreSQL drain 10,000 queued jobs.

    .venv/bin/python bench/queue_latency.py
    .venv/bin/python bench/queue_latency.py --quick

Every job points at an empty prefix of an existing bucket, so the import fails at once
(`storage.empty_prefix`): what is measured is the queue (claim, lease, finish, counts), not copying.
Baselines in the same run: the create request's own latency (a job cannot start before its create
returns), and the job repository's claim + finish statements in a loop without a worker around them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Engine, text

import machine
from database import engine_for, fresh_postgres_database, seed_jobs, sqlite_url, workspace_of_key
from modelport.db.job_queue import JobQueue
from modelport.domain.jobs import JobStatus
from processes import BENCH_KEY, ApiServer, WorkerProcess, base_env, wait_for
from tables import Table, save

BUCKET = "queue-bench"
EMPTY_PREFIX = "nothing-here/"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def environment(folder: Path, url: str, **extra: str) -> dict[str, str]:
    (folder / "data" / "buckets" / BUCKET).mkdir(parents=True, exist_ok=True)
    return base_env(folder / "data", MODELPORT_DATABASE_URL=url, **extra)


def latency_run(
    label: str, folder: Path, url: str, jobs: int, *, separate_worker: bool, think: float, table: Table
) -> None:
    """Create `jobs` jobs one after another, each a random 0..`think` s after the previous one ended (so
    creates do not fall in step with a polling worker's cycle), with one idle worker."""
    folder.mkdir(parents=True)
    env = environment(folder, url)
    with ExitStack() as stack:
        api = ApiServer(env, folder / "api.log", worker=not separate_worker).start()
        stack.callback(api.stop)
        if separate_worker:
            worker = WorkerProcess(env, folder / "worker.log").start()
            stack.callback(worker.stop)
        engine = engine_for(url)
        stack.callback(engine.dispose)
        creates: list[float] = []
        job_ids: list[str] = []
        pause = random.Random(0)
        for _ in range(jobs):
            time.sleep(pause.uniform(0, think))  # think time of a client between two imports
            began = time.perf_counter()
            job_id = api.create_job("qwen3-8b", "lora", BUCKET, EMPTY_PREFIX)
            creates.append((time.perf_counter() - began) * 1000)
            job_ids.append(job_id)
            api.wait_terminal(job_id, timeout=60, interval=0.01)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT created_at_ms, started_at_ms, reason_code FROM import_jobs"),
            ).all()
    waits = [float(row.started_at_ms - row.created_at_ms) for row in rows]
    reasons = {row.reason_code for row in rows}
    if reasons != {"storage.empty_prefix"}:
        raise RuntimeError(f"{label}: unexpected outcomes {reasons}")
    table.add(
        label, jobs, statistics.median(waits), percentile(waits, 99), max(waits), statistics.median(creates),
        percentile(creates, 99), machine.load_average(),
    )  # fmt: skip
    print(f"  {label}: create→RUNNING p50 {statistics.median(waits):.0f} ms p99 {percentile(waits, 99):.0f} ms")


def reseed_pending(engine: Engine, jobs: int, *, stem: str) -> None:
    """Empty the queue, then fill it with `jobs` PENDING jobs whose prefix is empty (each fails at once)."""
    workspace = workspace_of_key(engine, BENCH_KEY)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM import_jobs"))
        connection.execute(text("DELETE FROM job_counts"))
    seed_jobs(engine, workspace, jobs, status="PENDING", bucket=BUCKET, object_key=EMPTY_PREFIX, stem=stem)


def drain_run(folder: Path, url: str, jobs: int, workers: int, table: Table, repository_rate: float) -> None:
    """Seed `jobs` PENDING jobs, start `workers` worker processes, and time the queue emptying."""
    folder.mkdir(parents=True, exist_ok=True)
    env = environment(folder, url)
    engine = engine_for(url)
    try:
        reseed_pending(engine, jobs, stem="drain")
        processes = [WorkerProcess(env, folder / f"worker-{workers}-{n}.log") for n in range(workers)]
        began = time.perf_counter()
        try:
            for process in processes:
                process.launch()
            for process in processes:
                process.wait_running()

            def drained() -> bool:
                for process in processes:
                    process.check_alive()
                with engine.connect() as connection:
                    left = connection.execute(
                        text("SELECT COUNT(*) FROM import_jobs WHERE status IN ('PENDING', 'RUNNING')")
                    ).scalar_one()
                return left == 0

            wait_for(drained, timeout=3600, interval=0.25, what="the queue draining")
            wall = time.perf_counter() - began
        finally:
            for process in processes:
                process.stop()
        with engine.connect() as connection:
            first, last, failed = connection.execute(
                text(
                    "SELECT MIN(started_at_ms), MAX(finished_at_ms), COUNT(*) FROM import_jobs WHERE status = 'FAILED'"
                )
            ).one()
            counts = dict(connection.execute(text("SELECT status, sum(count) FROM job_counts GROUP BY status")).all())
    finally:
        engine.dispose()
    if failed != jobs:
        raise RuntimeError(f"drain with {workers} workers: {failed} of {jobs} jobs ended FAILED as expected")
    if counts.get("FAILED") != jobs or any(v for k, v in counts.items() if k != "FAILED"):
        raise RuntimeError(f"job_counts is inconsistent after the drain: {counts}")
    seconds = (last - first) / 1000
    rate = jobs / seconds
    table.add(
        f"{workers} worker process{'es' if workers > 1 else ''}", jobs, seconds, rate, rate / workers,
        rate / repository_rate, wall, machine.load_average(),
    )  # fmt: skip
    print(f"  {workers} worker(s): {rate:.0f} jobs/s ({seconds:.1f} s first claim → last finish)", flush=True)


def repository_rate(url: str, jobs: int) -> float:
    """Jobs per second of JobQueue.claim_next + finish alone, one thread, no worker, no storage."""
    engine = engine_for(url)
    try:
        reseed_pending(engine, jobs, stem="repo")
        repository = JobQueue(engine)
        began = time.perf_counter()
        done = 0
        while (claim := repository.claim_next(f"bench:{os.getpid()}", 30, 3)) is not None:
            repository.finish(claim.job.job_id, claim.owner, JobStatus.FAILED, error_code="x", reason_code="bench")
            done += 1
        rate = done / (time.perf_counter() - began)
    finally:
        engine.dispose()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-jobs", type=int, default=None, help="jobs per latency run (default 200)")
    parser.add_argument("--poll-jobs", type=int, default=None, help="jobs for the polling worker's run (default 100)")
    parser.add_argument("--drain-jobs", type=int, default=None, help="queued jobs to drain (default 10000)")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts for the drain (default 1,2,4)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 30 latency jobs, 1000 to drain")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    latency_jobs = args.latency_jobs or (30 if args.quick else 200)
    poll_jobs = args.poll_jobs or (20 if args.quick else 100)
    drain_jobs = args.drain_jobs or (1000 if args.quick else 10_000)
    worker_counts = [int(n) for n in args.workers.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="modelport-bench-queue-"))
    facts = machine.print_header("Queue latency", workdir)
    latency = Table(
        "Create → RUNNING with an idle worker (job timestamps)",
        ["set-up", "jobs", "p50 ms", "p99 ms", "max ms", "create request p50 ms", "create request p99 ms",
         "load avg"],
    )  # fmt: skip
    drain = Table(
        f"Draining {drain_jobs:,} queued jobs on PostgreSQL (empty prefix: each job fails at once)",
        ["workers", "jobs", "seconds", "jobs/s", "jobs/s per worker", "vs repository loop", "wall s incl. start",
         "load avg"],
    )  # fmt: skip
    try:
        latency_run(
            "SQLite, `serve` (built-in worker, woken on create)",
            workdir / "lat-sqlite",
            sqlite_url(workdir / "lat-sqlite" / "data" / "modelport.db"),
            latency_jobs,
            separate_worker=False,
            think=0.05,
            table=latency,
        )
        with fresh_postgres_database() as url:
            latency_run(
                "PostgreSQL, `serve` (built-in worker, woken on create)",
                workdir / "lat-pg-builtin", url, latency_jobs, separate_worker=False, think=0.05, table=latency,
            )  # fmt: skip
        with fresh_postgres_database() as url:
            latency_run(
                "PostgreSQL, `serve --no-worker` + `worker` (woken by NOTIFY; 1 s poll as fallback)",
                workdir / "lat-pg-worker", url, poll_jobs, separate_worker=True, think=1.0, table=latency,
            )  # fmt: skip
        with fresh_postgres_database() as url:
            folder = workdir / "drain"
            folder.mkdir()
            # The API creates the schema and the bench key; the drain itself needs no API.
            api = ApiServer(environment(folder, url), folder / "api.log").start()
            api.stop()
            repository = repository_rate(url, min(drain_jobs, 2000))
            print(f"  repository loop: {repository:.0f} jobs/s", flush=True)
            drain.add("repository loop (claim_next + finish, 1 thread)", min(drain_jobs, 2000), None, repository,
                      None, 1.0, None, machine.load_average())  # fmt: skip
            for workers in worker_counts:
                drain_run(folder, url, drain_jobs, workers, drain, repository)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    latency.print()
    drain.print()
    save(args.json, facts, [latency, drain])
    return 0


if __name__ == "__main__":
    sys.exit(main())
