"""The import of one job, end to end: inspect, copy once into staging, publish, report.

Returns an `ImportResult` rather than touching the database: the worker owns the lease and records
the outcome. Failures in the upload become FAILED results with a sentence; anything unexpected
propagates so the worker can retry the job on its next attempt.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from modelport.catalog.catalog import Catalog
from modelport.clock import now_ms
from modelport.domain import reasons
from modelport.domain.jobs import Job, JobStatus, format_gmt
from modelport.metrics import BYTES_IMPORTED
from modelport.pipeline.copier import CopiedFile, CopyOptions, copy_file
from modelport.pipeline.inspection import Inspection, inspect_upload
from modelport.pipeline.report import build_report
from modelport.pipeline.throttle import Throttle
from modelport.settings import Settings
from modelport.storage.interface import StagedModel, StorageError
from modelport.storage.registry import StorageRegistry
from modelport.validation.findings import FileStatus, Finding, Findings, ImportFailed, Severity

logger = logging.getLogger("modelport.pipeline")

ProgressSink = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class ImportResult:
    status: JobStatus
    error_code: str | None
    reason_code: str | None
    report: dict[str, Any]


class Importer:
    def __init__(self, settings: Settings, storage: StorageRegistry, catalog: Catalog) -> None:
        self._storage = storage
        self._catalog = catalog
        self._options = CopyOptions(
            chunk_bytes=settings.chunk_bytes,
            read_concurrency=settings.read_concurrency,
            throttle=Throttle(settings.max_bytes_per_second),
        )
        self._file_concurrency = settings.file_concurrency

    def run(
        self,
        job: Job,
        token: str,
        progress: ProgressSink,
        should_stop: Callable[[], bool],
        confirm_lease: Callable[[], None] = lambda: None,
    ) -> ImportResult:
        """Import `job`; `confirm_lease` raises CopyCancelled if another worker owns the job now."""
        base = self._catalog.get(job.base_model)
        if base is None:
            return self._failed(
                job,
                Findings(),
                Finding(
                    code=reasons.CATALOG_UNKNOWN_BASE,
                    severity=Severity.ERROR,
                    message=f"The base model {job.base_model!r} is no longer in this modelport's catalog.",
                ),
            )
        try:
            inspection = inspect_upload(
                self._storage,
                base,
                job.weight_type,
                job.storage,
                on_phase=lambda phase: progress(phase, 0, None),
            )
        except ImportFailed as failure:
            return self._failed(job, Findings(), failure.finding)
        if inspection.failed:
            return self._failed(job, inspection.findings, None, inspection)

        staged = self._storage.model_store.stage(job.model_name, token)
        try:
            copied = self._copy_all(job, inspection, staged, progress, should_stop)
            for result in copied:
                for finding in result.findings:
                    inspection.findings.add(finding)
                record = inspection.findings.files.get(result.name)
                if record is not None:
                    record.sha256 = result.sha256
            if inspection.failed:
                staged.abort()
                return self._failed(job, inspection.findings, None, inspection)
            progress("publishing", inspection.plan.total_bytes, inspection.plan.total_bytes)
            confirm_lease()
            staged.publish(_manifest(job, base.id, inspection, copied))
        except ImportFailed as failure:
            staged.abort()
            inspection.findings.add(failure.finding)
            return self._failed(job, inspection.findings, None, inspection)
        except BaseException:
            staged.abort()
            raise
        report = build_report(
            verdict="passed",
            base_model=job.base_model,
            weight_type=job.weight_type,
            source=job.storage,
            findings=inspection.findings,
            plan=inspection.plan,
            location=inspection.location,
        )
        return ImportResult(status=JobStatus.SUCCEEDED, error_code=None, reason_code=None, report=report)

    def _copy_all(
        self,
        job: Job,
        inspection: Inspection,
        staged: StagedModel,
        progress: ProgressSink,
        should_stop: Callable[[], bool],
    ) -> list[CopiedFile]:
        assert inspection.bucket is not None
        bucket = inspection.bucket
        total = inspection.plan.total_bytes
        done = 0
        lock = threading.Lock()
        progress("copying", 0, total)

        def on_bytes(count: int) -> None:
            nonlocal done
            BYTES_IMPORTED.inc(count)
            with lock:
                done += count
                current = done
            progress("copying", current, total)

        def copy_one(index: int) -> CopiedFile:
            item = inspection.plan.items[index]
            writer = staged.writer(item.name)
            return copy_file(
                bucket,
                job.storage.object_key,
                item,
                writer,
                self._options,
                header_digest=inspection.header_digests.get(item.name),
                on_bytes=on_bytes,
                should_stop=should_stop,
            )

        try:
            # Largest files first so the parallel copies finish together.
            order = sorted(range(len(inspection.plan.items)), key=lambda i: -inspection.plan.items[i].size)
            with ThreadPoolExecutor(max_workers=self._file_concurrency, thread_name_prefix="copy") as pool:
                results = list(pool.map(copy_one, order))
        except StorageError as error:
            raise ImportFailed(
                Finding(
                    code=reasons.STORAGE_UNREADABLE,
                    severity=Severity.ERROR,
                    message=f"Failed to get files from OSS. Check the files in OSS. {error}",
                )
            ) from None
        return sorted(results, key=lambda r: r.name)

    def _failed(
        self,
        job: Job,
        findings: Findings,
        finding: Finding | None,
        inspection: Inspection | None = None,
    ) -> ImportResult:
        if finding is not None:
            findings.add(finding)
        first = findings.first_error()
        assert first is not None
        report = build_report(
            verdict="failed",
            base_model=job.base_model,
            weight_type=job.weight_type,
            source=job.storage,
            findings=findings,
            plan=inspection.plan if inspection is not None else None,
            location=inspection.location if inspection is not None else None,
        )
        return ImportResult(
            status=JobStatus.FAILED,
            error_code=findings.error_sentence(),
            reason_code=first.code,
            report=report,
        )


def _manifest(job: Job, base_id: str, inspection: Inspection, copied: list[CopiedFile]) -> bytes:
    files = [{"path": c.name, "size": c.size, "sha256": c.sha256} for c in copied]
    ignored = [
        {"path": r.path, "reason": r.reason}
        for r in inspection.findings.files.values()
        if r.status == FileStatus.IGNORED
    ]
    document = {
        "format": "modelport.manifest/v1",
        "model_name": job.model_name,
        "job_id": job.job_id,
        "display_name": job.display_name,
        "base_model": base_id,
        "weight_type": job.weight_type.value,
        "source": {"bucket_name": job.storage.bucket_name, "object_key": job.storage.object_key},
        "created_at": format_gmt(job.created_at_ms),
        "imported_at": format_gmt(now_ms()),
        "files": files,
        "total_bytes": sum(c.size for c in copied),
        "summary": inspection.plan.summary,
        "ignored_files": ignored,
        "warnings": [f.to_json() for f in inspection.findings.warnings],
    }
    return json.dumps(document, indent=2, sort_keys=False).encode() + b"\n"
