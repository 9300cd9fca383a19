"""Import jobs: the status machine, the phases of a run, weight types, the job record and the
validated create request.

`JobStatus` is the one mapping from statuses to their wire spellings (DashScope writes
`SUCCESSED`); the API's OpenAPI enum, the CLI's choices and the client's parser all derive from it.
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
    def lookup(cls, value: str) -> JobStatus | None:
        """A status from any accepted spelling: case-insensitive, `SUCCEEDED` an alias of `SUCCESSED`."""
        normalized = value.strip().upper()
        return _BY_SPELLING.get(normalized)

    @classmethod
    def parse_filter(cls, value: str) -> JobStatus:
        """Status as a list filter; InvalidParameter for anything `lookup` does not know."""
        status = cls.lookup(value)
        if status is None:
            allowed = ", ".join(s.value for s in cls)
            raise InvalidParameter(f"status must be one of {allowed}; got {value!r}.")
        return status

    @classmethod
    def spellings(cls) -> tuple[str, ...]:
        """Every spelling a client may send, wire values first (for the OpenAPI enum and the CLI)."""
        return tuple(_BY_SPELLING)


# The wire value of each status, then the aliases clients use for the odd one.
_BY_SPELLING: dict[str, JobStatus] = {status.value: status for status in JobStatus} | {"SUCCEEDED": JobStatus.SUCCEEDED}


# Which status may follow which; every status change is a compare-and-set checked against this
# table (db/transitions.py).
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


class Phase(enum.StrEnum):
    """Where a job is within its run, shown in its report's progress (not part of the wire job)."""

    QUEUED = "queued"  # PENDING: waiting for a worker
    CLAIMED = "claimed"
    LISTING = "listing"
    VALIDATING = "validating"
    COPYING = "copying"
    PUBLISHING = "publishing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RELEASED = "released"  # handed back by a worker that shut down; waits for the next claim
    RETRYING = "retrying"  # a worker hit an infrastructure fault; the next claim retries it

    @classmethod
    def ending(cls, status: JobStatus) -> Phase:
        return cls.SUCCEEDED if status == JobStatus.SUCCEEDED else cls.FAILED


class WeightType(enum.StrEnum):
    LORA = "lora"
    FULL = "full"

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(weight_type.value for weight_type in cls)


@dataclass(frozen=True)
class StorageInfo:
    bucket_name: str
    object_key: str


@dataclass(frozen=True)
class Progress:
    phase: Phase | None
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
    cancel_requested: bool = False  # a cancel was asked while it ran; its worker is stopping it

    @property
    def gmt_create(self) -> str:
        return format_gmt(self.created_at_ms)


@dataclass(frozen=True)
class JobFilter:
    """The list route's filters; None means "any"."""

    status: JobStatus | None = None
    model_name: str | None = None  # the generated name, exactly
    base_model: str | None = None  # a base id, exactly (a modelport extension)


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
