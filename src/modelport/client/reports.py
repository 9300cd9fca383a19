"""Validation reports and live progress, as the extension routes return them.

The same `Report` type answers the dry run and a job's report route (`verdict` "passed", "failed"
or, for a job not finished yet, "pending"; the job route adds the job and its `progress`). The shape may grow: every
field but `verdict` is optional here and unknown ones stay in `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelport.client.fields import JsonObject, integer, integer_or, mapping, objects, require_object, text
from modelport.client.models import Job, JobStatus


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str
    file: str | None = None
    tensor: str | None = None
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: JsonObject) -> Finding:
        return cls(
            severity=(text(obj.get("severity")) or "error").lower(),
            code=text(obj.get("code")) or "unknown",
            message=text(obj.get("message")) or "",
            file=text(obj.get("file")),
            tensor=text(obj.get("tensor")),
            raw=obj,
        )


@dataclass(frozen=True)
class FileEntry:
    """One file of the upload and what the gate did with it (accepted, ignored, rejected)."""

    path: str
    size: int | None = None
    status: str | None = None
    kind: str | None = None
    reason: str | None = None
    sha256: str | None = None
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: JsonObject) -> FileEntry:
        return cls(
            path=text(obj.get("path")) or "?",
            size=integer(obj.get("size")),
            status=text(obj.get("status")),
            kind=text(obj.get("class")),
            reason=text(obj.get("reason")),
            sha256=text(obj.get("sha256")),
            raw=obj,
        )


@dataclass(frozen=True)
class Check:
    name: str
    outcome: str
    detail: str | None = None

    @classmethod
    def from_json(cls, obj: JsonObject) -> Check:
        return cls(
            name=text(obj.get("name")) or "?", outcome=text(obj.get("outcome")) or "?", detail=text(obj.get("detail"))
        )


@dataclass(frozen=True)
class Progress:
    """Where a job is: its status, the pipeline phase, and bytes copied so far."""

    status: JobStatus | None
    phase: str | None = None
    bytes_done: int = 0
    bytes_total: int | None = None
    attempts: int | None = None
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: JsonObject) -> Progress:
        status = text(obj.get("status"))
        return cls(
            status=JobStatus.parse(status) if status is not None else None,
            phase=text(obj.get("phase")),
            bytes_done=integer_or(obj.get("bytes_done"), 0),
            bytes_total=integer(obj.get("bytes_total")),
            attempts=integer(obj.get("attempts")),
            raw=obj,
        )

    @property
    def fraction(self) -> float | None:
        """Share of bytes copied, 0.0 to 1.0, or None while the total is unknown."""
        if not self.bytes_total:
            return None
        return min(max(self.bytes_done / self.bytes_total, 0.0), 1.0)


@dataclass(frozen=True)
class Report:
    verdict: str
    base_model: str | None = None
    weight_type: str | None = None
    error: str | None = None
    findings: tuple[Finding, ...] = ()
    files: tuple[FileEntry, ...] = ()
    checks: tuple[Check, ...] = ()
    summary: JsonObject = field(default_factory=dict)
    job: Job | None = None
    progress: Progress | None = None
    raw: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Report:
        obj = require_object(data, "report")
        job = obj.get("job")
        progress = obj.get("progress")
        return cls(
            verdict=text(obj.get("verdict")) or "unknown",
            base_model=text(obj.get("base_model")),
            weight_type=text(obj.get("weight_type")),
            error=text(obj.get("error")),
            findings=tuple(Finding.from_json(item) for item in objects(obj.get("findings"))),
            files=tuple(FileEntry.from_json(item) for item in objects(obj.get("files"))),
            checks=tuple(Check.from_json(item) for item in objects(obj.get("checks"))),
            summary=mapping(obj.get("summary")),
            job=Job.from_json(job) if isinstance(job, dict) else None,
            progress=Progress.from_json(progress) if isinstance(progress, dict) else None,
            raw=obj,
        )

    @property
    def passed(self) -> bool:
        """The dry run found no error (or the job succeeded)."""
        return self.verdict.lower() == "passed" or JobStatus.parse(self.verdict).succeeded

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def source_url(self) -> str | None:
        source = mapping(self.raw.get("source"))
        bucket, key = text(source.get("bucket_name")), text(source.get("object_key"))
        return f"oss://{bucket}/{key}" if bucket is not None and key is not None else None
