"""Following a job until it finishes: one loop shared by `wait_for_job` and the CLI's watch.

Each poll is a GET of the job, or, when progress is wanted, of its report (job and live progress
in one request). A server without the report route (DashScope itself) answers NotFound there
while the job exists; the loop then falls back to plain GETs for good. Time is measured with a
monotonic clock; the last poll happens at the deadline, so a job finishing just in time counts.
Polls start fast and back off to `interval`: a small import finishes in well under a second, and
nobody should wait a whole interval to hear so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from modelport.client.errors import NotFound, UnexpectedResponse, WaitTimeout
from modelport.client.models import Job
from modelport.client.reports import Progress, Report

FIRST_PAUSE = 0.25


class JobSource(Protocol):
    def get_job(self, job_id: str) -> Job: ...

    def report(self, job_id: str) -> Report: ...


@dataclass(frozen=True)
class Snapshot:
    job: Job
    progress: Progress | None = None


def follow(
    source: JobSource,
    job_id: str,
    *,
    interval: float,
    timeout: float | None,
    with_progress: bool,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Snapshot]:
    """Yield a snapshot per poll; the last one yielded is terminal, or WaitTimeout is raised."""
    deadline = None if timeout is None else clock() + timeout
    use_report = with_progress
    pause = min(FIRST_PAUSE, interval)
    while True:
        snapshot, use_report = _poll(source, job_id, use_report)
        yield snapshot
        if snapshot.job.is_terminal:
            return
        if deadline is None:
            sleep(pause)
        else:
            remaining = deadline - clock()
            if remaining <= 0:
                assert timeout is not None
                raise WaitTimeout(job_id, timeout, snapshot.job.status_text)
            sleep(min(pause, remaining))
        pause = min(pause * 2, interval)


def _poll(source: JobSource, job_id: str, use_report: bool) -> tuple[Snapshot, bool]:
    if not use_report:
        return Snapshot(source.get_job(job_id)), False
    try:
        report = source.report(job_id)
    except (NotFound, UnexpectedResponse):
        # get_job raises NotFound itself when the job really is missing.
        return Snapshot(source.get_job(job_id)), False
    job = report.job if report.job is not None else source.get_job(job_id)
    return Snapshot(job, report.progress), True
