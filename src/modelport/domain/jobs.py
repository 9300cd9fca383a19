"""Import jobs: the status machine, the job record, and the validated create request.

The odd wire spelling `SUCCESSED` appears here and nowhere else; everything else uses `JobStatus`.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from modelport.domain.errors import InvalidParameter


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCESSED"  # the documented DashScope wire spelling
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    @classmethod
    def parse_filter(cls, value: str) -> JobStatus:
        """Status as a list filter: case-insensitive, `SUCCEEDED` accepted as an alias."""
        normalized = value.strip().upper()
        if normalized == "SUCCEEDED":
            return cls.SUCCEEDED
        for status in cls:
            if status.value == normalized:
                return status
        allowed = ", ".join(s.value for s in cls)
        raise InvalidParameter(f"status must be one of {allowed}; got {value!r}.")


# Which status may follow which; every repository transition is checked against this table.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


class WeightType(enum.StrEnum):
    LORA = "lora"
    FULL = "full"


@dataclass(frozen=True)
class StorageInfo:
    bucket_name: str
    object_key: str


@dataclass(frozen=True)
class Progress:
    phase: str | None
    bytes_done: int
    bytes_total: int | None
    updated_at_ms: int | None


@dataclass(frozen=True)
class Job:
    job_id: str
    workspace_id: int
    model_name: str
    display_name: str
    base_model: str
    weight_type: WeightType
    storage: StorageInfo
    status: JobStatus
    created_at_ms: int
    error_code: str | None
    reason_code: str | None
    attempts: int
    progress: Progress

    @property
    def gmt_create(self) -> str:
        return format_gmt(self.created_at_ms)


@dataclass(frozen=True)
class NewJob:
    """A create request that passed every synchronous rule."""

    base_model: str
    weight_type: WeightType
    storage: StorageInfo
    display_name: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_gmt(epoch_ms: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmm+00:00`, the wire format of `gmt_create` (isoformat is C; strftime
    cost 40 % more on the route every client polls)."""
    return (_EPOCH + timedelta(milliseconds=epoch_ms)).isoformat(timespec="milliseconds")


def new_job_id() -> str:
    return str(uuid.uuid4())


_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def normalize_job_id(raw: str) -> str | None:
    """The canonical (lowercase) form of a job id, or None when it cannot name any job."""
    candidate = raw.strip().lower()
    return candidate if _UUID_RE.match(candidate) else None
