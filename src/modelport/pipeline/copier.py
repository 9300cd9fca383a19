"""The one pass over the bytes: read each file once, in ranged chunks fetched ahead in parallel, and
feed every chunk to the value scanner and the blob sink (its SHA-256, and the model store: a new
blob, or none at all when the store holds the same bytes already; pipeline/blob_sink).

Memory is bounded by `read_concurrency x chunk_bytes` per file being copied, whatever the model's
size. Every file carries the `Pin` of the bytes the rules read (a small file whole, a safetensors
file's 8 + N header bytes); the copy hashes the same bytes again and refuses to commit a file whose
digest differs, so what is published is exactly what was checked even if the source changes
meanwhile. The tensor data itself is checked in this same pass, so it needs no pin.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from modelport.domain import reasons
from modelport.pipeline.blob_sink import BlobSink
from modelport.pipeline.stopping import CopyCancelled
from modelport.pipeline.throttle import Throttle
from modelport.storage.interface import ObjectChanged, RangeReader, SourceBucket, StagedModel
from modelport.validation.findings import Finding, ImportFailed, Severity
from modelport.validation.upload import CopyItem
from modelport.validation.values import ValueScanner

__all__ = ["CopiedFile", "CopyCancelled", "CopyOptions", "copy_file"]

logger = logging.getLogger("modelport.gate")


@dataclass(frozen=True)
class CopiedFile:
    name: str
    size: int
    sha256: str
    findings: tuple[Finding, ...]
    blob: str  # the key of the blob that holds it in the model store
    written: int  # bytes this copy wrote to the model store (0 when the store held them already)


@dataclass(frozen=True)
class CopyOptions:
    chunk_bytes: int
    read_concurrency: int
    throttle: Throttle = field(default_factory=lambda: Throttle(None))


def copy_file(
    bucket: SourceBucket,
    prefix: str,
    item: CopyItem,
    staged: StagedModel,
    options: CopyOptions,
    *,
    on_bytes: Callable[[int], None],
    should_stop: Callable[[], bool],
) -> CopiedFile:
    if item.pin is None:
        raise ValueError(f"{item.name} has no pin: every copied file must have been read by the rules")
    try:
        reader = bucket.open(prefix, item.name, pinned=item.pin.identity)
    except ObjectChanged as error:
        raise ImportFailed(_changed(item.name, str(error))) from None
    sink = BlobSink(staged, item.name, item.size, chunk_bytes=options.chunk_bytes)
    try:
        if reader.size != item.size:
            raise ImportFailed(_changed(item.name, f"its size was {item.size} bytes and is now {reader.size}"))
        scanner = ValueScanner(item.name, item.header, item.zero_check) if item.header is not None else None
        header_end = item.pin.length
        header_hash = hashlib.sha256()
        with ThreadPoolExecutor(max_workers=options.read_concurrency, thread_name_prefix="read") as pool:
            for offset, chunk in _chunks_in_order(item.name, reader, options, pool):
                if should_stop():
                    raise CopyCancelled()
                options.throttle.consume(len(chunk))
                if offset < header_end:
                    header_hash.update(memoryview(chunk)[: header_end - offset])
                if scanner is not None:
                    _scan(scanner, offset, chunk)
                sink.feed(chunk)
                on_bytes(len(chunk))
        if header_hash.hexdigest() != item.pin.sha256:
            what = "its header is" if item.header is not None else "its content is"
            raise ImportFailed(_changed(item.name, f"{what} not what was validated"))
        findings = tuple(_scan_findings(scanner)) if scanner is not None else ()
        blob = sink.finish()
    except ObjectChanged as error:
        sink.abort()
        raise ImportFailed(_changed(item.name, str(error))) from None
    except BaseException:
        sink.abort()
        raise
    finally:
        reader.close()
    return CopiedFile(
        name=item.name, size=item.size, sha256=sink.sha256, findings=findings, blob=blob.key, written=sink.bytes_written
    )


def _chunks_in_order(
    name: str, reader: RangeReader, options: CopyOptions, pool: ThreadPoolExecutor
) -> Iterator[tuple[int, bytes]]:
    size = reader.size
    window: deque[tuple[int, Future[bytes]]] = deque()
    next_offset = 0

    def submit() -> None:
        nonlocal next_offset
        length = min(options.chunk_bytes, size - next_offset)
        window.append((next_offset, pool.submit(reader.read, next_offset, length)))
        next_offset += length

    while next_offset < size and len(window) < options.read_concurrency:
        submit()
    while window:
        offset, future = window.popleft()
        chunk = future.result()
        if next_offset < size:
            submit()
        expected = min(options.chunk_bytes, size - offset)
        if len(chunk) != expected:
            raise ImportFailed(_changed(name, f"a read at offset {offset} returned {len(chunk)} of {expected} bytes"))
        yield offset, chunk


def _scan(scanner: ValueScanner, offset: int, chunk: bytes) -> None:
    try:
        scanner.feed(offset, chunk)
    except Exception as error:
        raise ImportFailed(_scanner_failed(scanner.file, error)) from None


def _scan_findings(scanner: ValueScanner) -> list[Finding]:
    try:
        return scanner.findings()
    except Exception as error:
        raise ImportFailed(_scanner_failed(scanner.file, error)) from None


def _scanner_failed(name: str, error: Exception) -> Finding:
    """The value scan is validation too: a bug in it refuses the upload at once (fail closed)."""
    logger.exception("the value scan raised on %s", name)
    return Finding(
        code=reasons.GATE_INTERNAL_ERROR,
        severity=Severity.ERROR,
        message=f"{name}: the value scan could not evaluate this file ({type(error).__name__}), so it is refused; "
        "this is a modelport bug, please report it with the job id.",
        file=name,
    )


def _changed(name: str, detail: str) -> Finding:
    return Finding(
        code=reasons.STORAGE_FILE_CHANGED,
        severity=Severity.ERROR,
        message=f"{name} changed during import ({detail}); nothing was published. Upload it again and create "
        "a new import job.",
        file=name,
    )
