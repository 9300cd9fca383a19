"""The polling loop: fast first polls backing off to the interval, and the deadline honoured."""

from __future__ import annotations

import pytest

from modelport.client.errors import WaitTimeout
from modelport.client.models import Job
from modelport.client.reports import Report
from modelport.client.waiting import follow


def job(status: str) -> Job:
    return Job.from_json(
        {
            "job_id": "j",
            "model_name": "m",
            "display_name": "d",
            "source": "OSS",
            "storage_info": {"bucket_name": "b", "object_key": "k/"},
            "status": status,
            "gmt_create": "2026-11-28T00:00:00.000+00:00",
        }
    )


class Source:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def get_job(self, job_id: str) -> Job:
        return job(self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0])

    def report(self, job_id: str) -> Report:
        raise AssertionError("not asked for progress")


def test_polls_start_fast_and_back_off_to_the_interval() -> None:
    pauses: list[float] = []
    snapshots = list(
        follow(
            Source(["PENDING"] * 8 + ["SUCCESSED"]),
            "j",
            interval=5,
            timeout=None,
            with_progress=False,
            sleep=pauses.append,
        )
    )
    assert snapshots[-1].job.succeeded
    assert pauses == [0.25, 0.5, 1, 2, 4, 5, 5, 5]


def test_the_deadline_ends_the_wait() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(WaitTimeout):
        list(
            follow(
                Source(["RUNNING"]), "j", interval=5, timeout=3, with_progress=False, sleep=sleep, clock=lambda: now[0]
            )
        )
    assert now[0] == pytest.approx(3)
