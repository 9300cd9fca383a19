"""The import of one job, end to end: inspect, copy once into staging (writing only the files the
model store does not hold yet), publish, report.

Returns an `ImportResult` rather than touching the database: the worker owns the lease and records
the outcome, and passes a `SameContent` lookup when it wants the report to name an earlier model
with exactly these files (the lookup may read the database; the importer never does). Anything
wrong with the upload, including a rule that raised on it (fail closed), becomes a FAILED result
with a sentence at once; only infrastructure faults (the model store, the database) propagate, so
the worker retries the job on its next attempt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from modelport.catalog.catalog import Catalog
from modelport.clock import now_ms
from modelport.domain import reasons
from modelport.domain.jobs import Job, Phase, format_gmt
from modelport.metrics import BYTES_IMPORTED, BYTES_WRITTEN
from modelport.pipeline import outcome
from modelport.pipeline.copier import CopiedFile, CopyCancelled, CopyOptions, copy_file
from modelport.pipeline.inspection import Inspection, Inspector, in_process, storage_failure
from modelport.pipeline.outcome import ImportResult
from modelport.pipeline.throttle import Throttle
from modelport.settings import Settings
from modelport.storage.interface import SourceBucket, StagedModel, StorageError
from modelport.storage.manifest import Manifest, ManifestFile
from modelport.storage.registry import StorageRegistry
from modelport.validation.findings import FileStatus, Finding, ImportFailed, Severity

logger = logging.getLogger("modelport.pipeline")

ProgressSink = Callable[[Phase, int, int | None], None]
# (job, the SHA-256 of its files, their blob keys) -> the name of a SUCCESSED model of the same
# workspace, base model and weight type whose files have exactly these digests, or None.
SameContent = Callable[[Job, frozenset[str], frozenset[str]], str | None]


class Importer:
    def __init__(
        self,
        settings: Settings,
        storage: StorageRegistry,
        catalog: Catalog,
        inspect: Inspector | None = None,
        same_content: SameContent | None = None,
    ) -> None:
        """`inspect` runs the inspection (default: in this process; a server passes the sandbox)."""
        self._same_content = same_content
        self._storage = storage
        self._catalog = catalog
        self._inspect = inspect or in_process(storage)
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
        """Import `job`; raises CopyCancelled once `should_stop()` is true, and `confirm_lease` raises
        it just before publishing if the job was cancelled or another worker owns it now."""
        base = self._catalog.get(job.base_model)
        if base is None:
            return outcome.failed_before_inspection(
                job,
                Finding(
                    code=reasons.CATALOG_UNKNOWN_BASE,
                    severity=Severity.ERROR,
                    message=f"The base model {job.base_model!r} is no longer in this modelport's catalog.",
                ),
            )
        inspection = self._inspect(
            base, job.weight_type, job.storage, lambda phase: progress(phase, 0, None), should_stop
        )
        if should_stop():
            raise CopyCancelled()
        if inspection.failed:
            return outcome.failed(job, inspection)

        staged = self._storage.model_store.stage(job.model_name, token)
        try:
            copied = self._copy_all(job, inspection, staged, progress, should_stop)
            checked = Inspection(
                location=inspection.location,
                findings=inspection.findings.plus(*(f for result in copied for f in result.findings)),
                plan=inspection.plan,
            )
            if checked.failed:
                staged.abort()
                return outcome.failed(job, checked)
            progress(Phase.PUBLISHING, inspection.plan.total_bytes, inspection.plan.total_bytes)
            confirm_lease()
            manifest = _manifest(job, base.id, checked, copied)
            reported = checked.findings.plus(*self._twin_findings(job, copied))
            staged.publish(manifest.to_bytes())
        except ImportFailed as failure:
            staged.abort()
            return outcome.failed(
                job, Inspection(inspection.location, inspection.findings.plus(failure.finding), inspection.plan)
            )
        except BaseException:
            staged.abort()
            raise
        BYTES_WRITTEN.inc(sum(c.written for c in copied))
        logger.info(
            "import %s: %d of %d bytes written to the model store, the rest was there already",
            job.job_id, sum(c.written for c in copied), inspection.plan.total_bytes, extra={"job_id": job.job_id},
        )  # fmt: skip
        reported_inspection = Inspection(checked.location, reported, checked.plan)
        return outcome.succeeded(job, reported_inspection, {c.name: c.sha256 for c in copied}, manifest)

    def _twin_findings(self, job: Job, copied: Sequence[CopiedFile]) -> list[Finding]:
        """The report's note that an earlier model has exactly these files (never the manifest's:
        that model may be deleted later)."""
        if self._same_content is None or not copied:
            return []
        try:
            twin = self._same_content(job, frozenset(c.sha256 for c in copied), frozenset(c.blob for c in copied))
        except Exception:
            logger.exception("looking for a model with the same files failed; the report will not name one")
            return []
        if twin is None:
            return []
        return [
            Finding(
                code=reasons.STORAGE_SAME_CONTENT,
                severity=Severity.WARNING,
                message=f"These files are exactly those of model {twin}, which this workspace already imported for "
                f"{job.base_model} ({job.weight_type.value}); this import is a model of its own, and the model store "
                "keeps one copy of their bytes for both.",
            )
        ]

    def _copy_all(
        self,
        job: Job,
        inspection: Inspection,
        staged: StagedModel,
        progress: ProgressSink,
        should_stop: Callable[[], bool],
    ) -> list[CopiedFile]:
        total = inspection.plan.total_bytes
        done = 0
        lock = threading.Lock()
        progress(Phase.COPYING, 0, total)
        try:
            bucket = self._storage.bucket(job.storage.bucket_name)
        except StorageError as error:
            raise ImportFailed(storage_failure(reasons.STORAGE_UNREADABLE, str(error))) from None

        def on_bytes(count: int) -> None:
            nonlocal done
            BYTES_IMPORTED.inc(count)
            with lock:
                done += count
                current = done
            progress(Phase.COPYING, current, total)

        def copy_one(bucket: SourceBucket, index: int) -> CopiedFile:
            item = inspection.plan.items[index]
            return copy_file(
                bucket,
                job.storage.object_key,
                item,
                staged,
                self._options,
                on_bytes=on_bytes,
                should_stop=should_stop,
            )

        try:
            # Largest files first so the parallel copies finish together.
            order = sorted(range(len(inspection.plan.items)), key=lambda i: -inspection.plan.items[i].size)
            with ThreadPoolExecutor(max_workers=self._file_concurrency, thread_name_prefix="copy") as pool:
                results = list(pool.map(lambda index: copy_one(bucket, index), order))
        except StorageError as error:
            raise ImportFailed(storage_failure(reasons.STORAGE_UNREADABLE, str(error))) from None
        return sorted(results, key=lambda r: r.name)


def _manifest(job: Job, base_id: str, inspection: Inspection, copied: list[CopiedFile]) -> Manifest:
    return Manifest(
        model_name=job.model_name,
        job_id=job.job_id,
        display_name=job.display_name,
        base_model=base_id,
        weight_type=job.weight_type.value,
        bucket_name=job.storage.bucket_name,
        object_key=job.storage.object_key,
        created_at=format_gmt(job.created_at_ms),
        imported_at=format_gmt(now_ms()),
        files=tuple(ManifestFile(path=c.name, size=c.size, sha256=c.sha256, blob=c.blob) for c in copied),
        summary=inspection.plan.summary,
        ignored_files=tuple(
            (record.path, record.reason or "")
            for record in inspection.findings.files
            if record.status == FileStatus.IGNORED
        ),
        warnings=tuple(finding.to_json() for finding in inspection.findings.warnings),
    )
