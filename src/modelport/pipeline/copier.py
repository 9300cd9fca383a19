"""The one pass over the bytes: read each file once, in ranged chunks fetched ahead in parallel, and
feed every chunk to the SHA-256, the value scanner and the staging writer.

Memory is bounded by `read_concurrency x chunk_bytes` per file being copied, whatever the model's
size. The first `8 + N` bytes of each safetensors file are compared with the header that was
validated, so what is published is exactly what was checked, even if the source changes meanwhile.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from modelport.domain import reasons
from modelport.pipeline.throttle import Throttle
from modelport.storage.interface import ObjectWriter, RangeReader, SourceBucket
from modelport.validation.findings import Finding, ImportFailed, Severity
from modelport.validation.upload import CopyItem
from modelport.validation.values import ValueScanner


class CopyCancelled(Exception):
    """The worker was asked to stop (lease lost or shutdown); the staging area is discarded."""


@dataclass(frozen=True)
class CopiedFile:
    name: str
    size: int
    sha256: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class CopyOptions:
    chunk_bytes: int
    read_concurrency: int
    throttle: Throttle = field(default_factory=lambda: Throttle(None))


def copy_file(
    bucket: SourceBucket,
    prefix: str,
    item: CopyItem,
    writer: ObjectWriter,
    options: CopyOptions,
    *,
    header_digest: str | None,
    on_bytes: Callable[[int], None],
    should_stop: Callable[[], bool],
) -> CopiedFile:
    reader = bucket.open(prefix, item.name)
    try:
        if reader.size != item.size:
            raise ImportFailed(_changed(item.name, f"its size was {item.size} bytes and is now {reader.size}"))
        scanner = ValueScanner(item.name, item.header, item.zero_check) if item.header is not None else None
        header_end = item.header.data_start if item.header is not None else 0
        header_hash = hashlib.sha256()
        digest = hashlib.sha256()
        with ThreadPoolExecutor(max_workers=options.read_concurrency, thread_name_prefix="read") as pool:
            for offset, chunk in _chunks_in_order(item.name, reader, options, pool):
                if should_stop():
                    raise CopyCancelled()
                options.throttle.consume(len(chunk))
                if offset < header_end:
                    header_hash.update(memoryview(chunk)[: header_end - offset])
                digest.update(chunk)
                if scanner is not None:
                    scanner.feed(offset, chunk)
                writer.write(chunk)
                on_bytes(len(chunk))
        if header_digest is not None and header_hash.hexdigest() != header_digest:
            raise ImportFailed(_changed(item.name, "its header is not the one that was validated"))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
    return CopiedFile(
        name=item.name,
        size=item.size,
        sha256=digest.hexdigest(),
        findings=tuple(scanner.findings()) if scanner is not None else (),
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


def _changed(name: str, detail: str) -> Finding:
    return Finding(
        code=reasons.STORAGE_FILE_CHANGED,
        severity=Severity.ERROR,
        message=f"{name} changed while it was being imported ({detail}); upload it again and retry the import.",
        file=name,
    )
