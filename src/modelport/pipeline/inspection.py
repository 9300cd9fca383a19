"""Inspection: list the prefix, classify every key, read the small files and the safetensors headers
within caps decided before reading, and run the rules. No tensor data is read here, so a dry run
of a 100 GB model moves kilobytes.

The result is a frozen `Inspection`: the findings, the copy plan, and for every file a rule read,
a `Pin` (the digest of the bytes the rules saw, and the ETag) that the copy must find again. It
holds no storage handle, so it can cross a process boundary (the validation sandbox).

Fail closed: a rule that raises on untrusted content is a bug, but it must never let an upload
through or crash the caller. Each stage runs under a guard that logs the traceback and records a
`gate.internal_error` finding naming the rule and its files, which fails the import at once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from modelport.catalog.catalog import BaseModel
from modelport.domain import reasons
from modelport.domain.jobs import Phase, StorageInfo, WeightType
from modelport.domain.reasons import Reason
from modelport.limits import MAX_ADAPTER_BYTES, MAX_HEADER_BYTES, MAX_LISTED_FILES, MAX_SHARD_BYTES, small_file_cap
from modelport.storage.interface import BucketNotFound, ObjectVersion, SourceBucket, StorageError
from modelport.storage.registry import StorageRegistry
from modelport.strict_json import JsonFileError, find_key, parse_json
from modelport.validation.file_policy import Classified, classify, display_key
from modelport.validation.findings import FileRecord, FileStatus, Finding, Findings, FindingSet, ImportFailed, Severity
from modelport.validation.full import check_full
from modelport.validation.lora import check_lora
from modelport.validation.safetensors import SafetensorsError, SafetensorsHeader, parse_header
from modelport.validation.tokenizer import check_tokenizer_files
from modelport.validation.upload import CopyItem, CopyPlan, Pin, RuleContext, Upload

logger = logging.getLogger("modelport.gate")

# The sentence DashScope documents for an unreadable bucket or prefix; every such failure starts so.
OSS_FAILURE = "Failed to get files from OSS. Check the files in OSS."
# auto_map is searched in every small JSON file; the big vocabulary files hold no configuration.
_NO_AUTO_MAP_SCAN = frozenset({"tokenizer.json", "vocab.json"})
_NOT_NEEDED = "not needed for serving this import; never copied"

T = TypeVar("T")


@dataclass(frozen=True)
class Inspection:
    location: str | None
    findings: FindingSet
    plan: CopyPlan = field(default_factory=CopyPlan)

    @property
    def failed(self) -> bool:
        return self.findings.failed


PhaseSink = Callable[[Phase], None]


class Inspector(Protocol):
    """Runs `inspect_upload` somewhere: in this process, or in the validation sandbox."""

    def __call__(
        self,
        base: BaseModel,
        weight_type: WeightType,
        source: StorageInfo,
        on_phase: PhaseSink,
        should_stop: Callable[[], bool] = ...,
    ) -> Inspection:
        """May raise CopyCancelled once `should_stop()` is true (the sandbox checks it as it waits)."""


def in_process(storage: StorageRegistry) -> Inspector:
    def inspect(
        base: BaseModel,
        weight_type: WeightType,
        source: StorageInfo,
        on_phase: PhaseSink,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Inspection:
        # In-process inspections are the tests' and the CLI's: short, and not interruptible.
        return inspect_upload(storage, base, weight_type, source, on_phase=on_phase)

    return inspect


def storage_failure(code: Reason, detail: str, *, file: str | None = None) -> Finding:
    """A finding for an unreadable bucket, prefix or file: DashScope's sentence, then what was wrong."""
    return Finding(code=code, severity=Severity.ERROR, message=f"{OSS_FAILURE} {detail}", file=file)


def inspect_upload(
    storage: StorageRegistry,
    base: BaseModel,
    weight_type: WeightType,
    source: StorageInfo,
    *,
    on_phase: Callable[[Phase], None] = lambda _phase: None,
) -> Inspection:
    findings = Findings()
    prefix = source.object_key
    try:
        bucket = storage.bucket(source.bucket_name)
    except BucketNotFound as error:
        findings.add(storage_failure(reasons.STORAGE_BUCKET_NOT_FOUND, str(error)))
        return Inspection(location=None, findings=findings.freeze())
    location = bucket.location(prefix)

    on_phase(Phase.LISTING)
    try:
        classified = _list(bucket, prefix, weight_type, location)
    except ImportFailed as failure:
        findings.add(failure.finding)
        return Inspection(location=location, findings=findings.freeze())
    for item in classified:
        findings.record_file(
            FileRecord(
                path=display_key(item.key), size=item.size, status=item.status, kind=item.kind, reason=item.reason
            )
        )
        if item.status == FileStatus.REJECTED:
            assert item.code is not None and item.reason is not None
            findings.error(item.code, item.reason, file=item.key)
    accepted = {c.key: c for c in classified if c.status == FileStatus.ACCEPTED}
    findings.checked("files.policy", 0, f"{len(classified)} files listed, {len(accepted)} accepted")

    on_phase(Phase.VALIDATING)
    pins: dict[str, Pin] = {}
    small = sorted(name for name in accepted if not name.endswith(".safetensors"))
    nothing_read: tuple[dict[str, Any], dict[str, bytes]] = ({}, {})
    documents, texts = guarded(
        findings, "reading the configuration files", small, nothing_read,
        lambda: _read_small_files(bucket, prefix, accepted, findings, pins),
    )  # fmt: skip
    weights = sorted(name for name in accepted if name.endswith(".safetensors"))
    no_headers: dict[str, SafetensorsHeader] = {}
    headers = guarded(
        findings, "the safetensors header parser", weights, no_headers,
        lambda: _read_headers(bucket, prefix, accepted, findings, weight_type, pins),
    )  # fmt: skip
    upload = Upload(
        weight_type=weight_type, base=base, accepted=accepted, documents=documents, texts=texts, headers=headers
    )
    context = RuleContext(upload=upload, findings=findings)
    if weight_type == WeightType.LORA:
        lora_files = ("adapter_config.json", "adapter_model.safetensors")
        plan = guarded(findings, "the LoRA rules", lora_files, CopyPlan(), lambda: check_lora(context))
    else:
        plan = guarded(findings, "the full-weight rules", sorted(accepted), CopyPlan(), lambda: check_full(context))
    no_items: tuple[CopyItem, ...] = ()
    tokenizer_items = guarded(
        findings, "the tokenizer and chat template rules", sorted(accepted), no_items,
        lambda: tuple(check_tokenizer_files(context)),
    )  # fmt: skip
    items = tuple(replace(item, pin=pins.get(item.name)) for item in (*plan.items, *tokenizer_items))
    plan = CopyPlan(items=items, summary=plan.summary)
    for name, record in list(findings.files.items()):
        if record.status == FileStatus.ACCEPTED and name not in plan.names():
            findings.record_file(replace(record, status=FileStatus.IGNORED, reason=_NOT_NEEDED))
    return Inspection(location=location, findings=findings.freeze(), plan=plan)


def guarded(findings: Findings, rule: str, files: Sequence[str], fallback: T, run: Callable[[], T]) -> T:
    """Run one rule; an exception from it is recorded as a refusal naming the rule and its files."""
    try:
        return run()
    except MemoryError:
        raise  # a resource limit, not a bug: the sandbox reports it as one
    except Exception as error:
        shown = ", ".join(files) or "the upload"
        logger.exception("%s raised on %s", rule, shown)
        findings.error(
            reasons.GATE_INTERNAL_ERROR,
            f"{shown}: {rule} could not evaluate this upload ({type(error).__name__}), so it is refused; "
            "this is a modelport bug, please report it with the job id.",
            file=files[0] if files else None,
        )
        return fallback


def _list(bucket: SourceBucket, prefix: str, weight_type: WeightType, location: str) -> list[Classified]:
    try:
        entries = list(bucket.list(prefix, limit=MAX_LISTED_FILES + 1))
    except StorageError as error:
        raise ImportFailed(storage_failure(reasons.STORAGE_UNREADABLE, str(error))) from None
    if not entries:
        raise ImportFailed(storage_failure(reasons.STORAGE_EMPTY_PREFIX, f"No files were found under {location}."))
    if len(entries) > MAX_LISTED_FILES:
        raise ImportFailed(
            Finding(
                code=reasons.FILES_TOO_MANY,
                severity=Severity.ERROR,
                message=f"{location} holds more than {MAX_LISTED_FILES} files; upload only the model folder.",
            )
        )
    return [classify(entry, weight_type) for entry in entries]


def _read_small_files(
    bucket: SourceBucket, prefix: str, accepted: dict[str, Classified], findings: Findings, pins: dict[str, Pin]
) -> tuple[dict[str, Any], dict[str, bytes]]:
    documents: dict[str, Any] = {}
    texts: dict[str, bytes] = {}
    for name, item in sorted(accepted.items()):
        if name.endswith(".safetensors"):
            continue
        cap = small_file_cap(name)
        if item.size > cap:
            findings.error(
                reasons.FILES_TOO_LARGE,
                f"{name} is {item.size} bytes; files of this kind are at most {cap} bytes.",
                file=name,
            )
            continue
        read = _read_whole(bucket, prefix, name, item.size, findings)
        if read is None:
            continue
        raw, identity = read
        texts[name] = raw
        pins[name] = Pin(length=len(raw), sha256=hashlib.sha256(raw).hexdigest(), identity=identity)
        if not name.endswith(".json"):
            continue
        try:
            document = parse_json(raw)
        except JsonFileError as error:
            findings.error(reasons.FILES_INVALID_JSON, f"{name} {error}.", file=name)
            continue
        if name not in _NO_AUTO_MAP_SCAN and (where := find_key(document, "auto_map")) is not None:
            findings.error(
                reasons.FILES_AUTO_MAP,
                f"{name}: '{where}' is set; auto_map makes loaders run code shipped with the model, which is "
                "never allowed. Remove it (the base architecture is used as is).",
                file=name,
            )
        documents[name] = document
    return documents, texts


def _read_headers(
    bucket: SourceBucket,
    prefix: str,
    accepted: dict[str, Classified],
    findings: Findings,
    weight_type: WeightType,
    pins: dict[str, Pin],
) -> dict[str, SafetensorsHeader]:
    headers: dict[str, SafetensorsHeader] = {}
    cap = MAX_ADAPTER_BYTES if weight_type == WeightType.LORA else MAX_SHARD_BYTES
    before = findings.error_count
    for name, item in sorted(accepted.items()):
        if not name.endswith(".safetensors"):
            continue
        if item.size > cap:
            findings.error(
                reasons.FILES_TOO_LARGE,
                f"{name} is {item.size} bytes, more than any {weight_type.value} weights file of a supported "
                f"base can be ({cap} bytes).",
                file=name,
            )
            continue
        try:
            reader = bucket.open(prefix, name)
        except StorageError as error:
            findings.add(storage_failure(reasons.STORAGE_UNREADABLE, str(error), file=name))
            continue
        seen = hashlib.sha256()

        def read_range(offset: int, length: int, reader: Any = reader, seen: Any = seen) -> bytes:
            data: bytes = reader.read(offset, length)
            seen.update(data)
            return data

        try:
            header = parse_header(read_range, reader.size, max_header_bytes=MAX_HEADER_BYTES)
            headers[name] = header
            pins[name] = Pin(length=header.data_start, sha256=seen.hexdigest(), identity=reader.identity)
        except SafetensorsError as error:
            message = error.message if error.message.endswith(".") else error.message + "."
            findings.error(error.code, f"{name}: {message}", file=name, tensor=error.tensor)
        except StorageError as error:
            findings.add(storage_failure(reasons.STORAGE_UNREADABLE, str(error), file=name))
        finally:
            reader.close()
    findings.checked("safetensors.headers", before, f"{len(headers)} file{'' if len(headers) == 1 else 's'} parsed")
    return headers


def _read_whole(
    bucket: SourceBucket, prefix: str, name: str, size: int, findings: Findings
) -> tuple[bytes, ObjectVersion] | None:
    try:
        reader = bucket.open(prefix, name)
    except StorageError as error:
        findings.add(storage_failure(reasons.STORAGE_UNREADABLE, str(error), file=name))
        return None
    try:
        if reader.size != size:
            findings.error(reasons.STORAGE_FILE_CHANGED, f"{name} changed while it was being listed; retry.", file=name)
            return None
        data = reader.read(0, size)
        if len(data) != size:
            findings.error(
                reasons.STORAGE_FILE_CHANGED,
                f"{name} changed while it was being read ({len(data)} of {size} bytes came back); retry.",
                file=name,
            )
            return None
        return data, reader.identity
    except StorageError as error:
        findings.add(storage_failure(reasons.STORAGE_UNREADABLE, str(error), file=name))
        return None
    finally:
        reader.close()
