"""Typed results: frozen dataclasses parsed leniently from the server's `output` objects.

Parsing tolerates unknown fields and missing optional ones, so a newer server (or DashScope
itself) does not break an older client; each result keeps the object it came from in `raw`.
Only the fields a result cannot mean anything without (a job's id, name and status) are required.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelport.client.fields import JsonObject, integer, integer_or, malformed, require_object, text, texts
from modelport.domain.jobs import JobStatus as WireStatus


class JobStatus(enum.StrEnum):
    """The server's statuses (spelled as `modelport.domain.jobs.JobStatus` spells them on the wire),
    plus UNKNOWN for a value this client does not know, so a newer server never breaks it."""

    PENDING = WireStatus.PENDING.value
    RUNNING = WireStatus.RUNNING.value
    SUCCEEDED = WireStatus.SUCCEEDED.value
    FAILED = WireStatus.FAILED.value
    UNKNOWN = "UNKNOWN"  # the job's `raw` keeps what was sent

    @classmethod
    def parse(cls, value: str) -> JobStatus:
        known = WireStatus.lookup(value)
        return cls.UNKNOWN if known is None else cls(known.value)

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    @property
    def succeeded(self) -> bool:
        return self is JobStatus.SUCCEEDED

    @property
    def failed(self) -> bool:
        return self is JobStatus.FAILED


@dataclass(frozen=True)
class StorageInfo:
    bucket_name: str
    object_key: str

    @property
    def url(self) -> str:
        return f"oss://{self.bucket_name}/{self.object_key}"


@dataclass(frozen=True)
class Job:
    """An import job as get, list, create and delete return it (`weight_type` only on create)."""

    job_id: str
    model_name: str
    status: JobStatus
    display_name: str | None = None
    source: str | None = None
    storage_info: StorageInfo | None = None
    gmt_create: str | None = None
    weight_type: str | None = None
    error_code: str | None = None
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Job:
        obj = require_object(data, "job")
        status = text(obj.get("status"))
        job_id, model_name = text(obj.get("job_id")), text(obj.get("model_name"))
        if job_id is None or model_name is None or status is None:
            raise malformed("a job object needs job_id, model_name and status")
        storage = obj.get("storage_info")
        storage_info = None
        if isinstance(storage, Mapping):
            bucket, key = text(storage.get("bucket_name")), text(storage.get("object_key"))
            storage_info = StorageInfo(bucket, key) if bucket is not None and key is not None else None
        return cls(
            job_id=job_id,
            model_name=model_name,
            status=JobStatus.parse(status),
            display_name=text(obj.get("display_name")),
            source=text(obj.get("source")),
            storage_info=storage_info,
            gmt_create=text(obj.get("gmt_create")),
            weight_type=text(obj.get("weight_type")),
            error_code=text(obj.get("error_code")),
            raw=obj,
        )

    @property
    def status_text(self) -> str:
        """The status as the server spelled it (useful when `status` is UNKNOWN)."""
        return text(self.raw.get("status")) or self.status.value

    @property
    def created_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.gmt_create) if self.gmt_create else None
        except ValueError:
            return None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def succeeded(self) -> bool:
        return self.status.succeeded

    @property
    def failed(self) -> bool:
        return self.status.failed


@dataclass(frozen=True)
class JobPage:
    total: int
    page_no: int
    page_size: int
    jobs: tuple[Job, ...]
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any, *, page_no: int, page_size: int) -> JobPage:
        obj = require_object(data, "job list")
        items = obj.get("list")
        if not isinstance(items, list):
            raise malformed("a job list needs a 'list' array")
        jobs = tuple(Job.from_json(item) for item in items)
        return cls(
            total=integer_or(obj.get("total"), len(jobs)),
            page_no=integer_or(obj.get("page_no"), page_no),
            page_size=integer_or(obj.get("page_size"), page_size),
            jobs=jobs,
            raw=obj,
        )

    @property
    def has_next(self) -> bool:
        return self.page_no * self.page_size < self.total and bool(self.jobs)


@dataclass(frozen=True)
class BaseModelInfo:
    """One importable base model, from GET /api/v1/custom_models/base_models."""

    id: str
    model_type: str | None = None
    weight_types: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    parameter_count: int | None = None
    is_vision: bool = False
    origin: str | None = None
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> BaseModelInfo:
        obj = require_object(data, "base model")
        model_id = text(obj.get("id"))
        if model_id is None:
            raise malformed("a base model needs an id")
        return cls(
            id=model_id,
            model_type=text(obj.get("model_type")),
            weight_types=texts(obj.get("weight_types")),
            architectures=texts(obj.get("architectures")),
            parameter_count=integer(obj.get("parameter_count")),
            is_vision=obj.get("vision") is not None,
            origin=text(obj.get("origin")),
            raw=obj,
        )


@dataclass(frozen=True)
class BaseModelList:
    """The importable base models; iterate it, or read `models`."""

    models: tuple[BaseModelInfo, ...]
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> BaseModelList:
        obj = require_object(data, "base model list")
        items = obj.get("list")
        if not isinstance(items, list):
            raise malformed("the base model list needs a 'list' array")
        return cls(models=tuple(BaseModelInfo.from_json(item) for item in items), raw=obj)

    def __iter__(self) -> Iterator[BaseModelInfo]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def get(self, model_id: str) -> BaseModelInfo | None:
        return next((model for model in self.models if model.id == model_id), None)
