"""Inspection: list the prefix, classify every key, read the small files and the safetensors headers
within caps decided before reading, and run the rules. No tensor data is read here, so a dry run
of a 100 GB model moves kilobytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelport.catalog.catalog import BaseModel
from modelport.domain import reasons
from modelport.domain.jobs import StorageInfo, WeightType
from modelport.domain.reasons import Reason
from modelport.limits import MAX_ADAPTER_BYTES, MAX_HEADER_BYTES, MAX_LISTED_FILES, MAX_SHARD_BYTES, small_file_cap
from modelport.storage.interface import BucketNotFound, SourceBucket, StorageError
from modelport.storage.registry import StorageRegistry
from modelport.strict_json import JsonFileError, find_key, parse_json
from modelport.validation.file_policy import Classified, classify
from modelport.validation.findings import FileRecord, FileStatus, Finding, Findings, ImportFailed, Severity
from modelport.validation.full import check_full
from modelport.validation.lora import check_lora
from modelport.validation.safetensors import SafetensorsError, SafetensorsHeader, parse_header
from modelport.validation.tokenizer import check_tokenizer_files
from modelport.validation.upload import CopyPlan, RuleContext, Upload

OSS_FAILURE = "Failed to get files from OSS. Check the files in OSS."
# auto_map is searched in every small JSON file; the big vocabulary files hold no configuration.
_NO_AUTO_MAP_SCAN = frozenset({"tokenizer.json", "vocab.json"})


@dataclass
class Inspection:
    location: str
    findings: Findings
    plan: CopyPlan = field(default_factory=CopyPlan)
    header_digests: dict[str, str] = field(default_factory=dict)
    bucket: SourceBucket | None = None

    @property
    def failed(self) -> bool:
        return self.findings.error_count > 0


def inspect_upload(
    storage: StorageRegistry,
    base: BaseModel,
    weight_type: WeightType,
    source: StorageInfo,
    *,
    on_phase: Callable[[str], None] = lambda _phase: None,
) -> Inspection:
    findings = Findings()
    prefix = source.object_key
    try:
        bucket = storage.bucket(source.bucket_name)
    except BucketNotFound as error:
        raise ImportFailed(_oss_failure(reasons.STORAGE_BUCKET_NOT_FOUND, str(error))) from None
    inspection = Inspection(location=bucket.location(prefix), findings=findings, bucket=bucket)

    on_phase("listing")
    classified = _list(bucket, prefix, weight_type, inspection.location)
    for item in classified:
        findings.record_file(
            FileRecord(path=item.key, size=item.size, status=item.status, kind=item.kind, reason=item.reason)
        )
        if item.status == FileStatus.REJECTED:
            assert item.code is not None and item.reason is not None
            findings.error(item.code, item.reason, file=item.key)
    accepted = {c.key: c for c in classified if c.status == FileStatus.ACCEPTED}
    findings.checked("files.policy", 0, f"{len(classified)} files listed, {len(accepted)} accepted")

    on_phase("validating")
    documents, texts = _read_small_files(bucket, prefix, accepted, findings)
    headers = _read_headers(bucket, prefix, accepted, findings, weight_type, inspection.header_digests)
    upload = Upload(
        weight_type=weight_type,
        base=base,
        accepted=accepted,
        documents=documents,
        texts=texts,
        headers=headers,
    )
    context = RuleContext(upload=upload, findings=findings)
    plan = check_lora(context) if weight_type == WeightType.LORA else check_full(context)
    plan.items.extend(check_tokenizer_files(context))
    inspection.plan = plan
    for name, record in findings.files.items():
        if record.status == FileStatus.ACCEPTED and name not in {i.name for i in plan.items}:
            record.status = FileStatus.IGNORED
            record.reason = "not needed for serving this import; never copied"
    return inspection


def _list(bucket: SourceBucket, prefix: str, weight_type: WeightType, location: str) -> list[Classified]:
    try:
        entries = list(bucket.list(prefix, limit=MAX_LISTED_FILES + 1))
    except StorageError as error:
        raise ImportFailed(_oss_failure(reasons.STORAGE_UNREADABLE, str(error))) from None
    if not entries:
        raise ImportFailed(_oss_failure(reasons.STORAGE_EMPTY_PREFIX, f"No files were found under {location}."))
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
    bucket: SourceBucket, prefix: str, accepted: dict[str, Classified], findings: Findings
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
        raw = _read_whole(bucket, prefix, name, item.size, findings)
        if raw is None:
            continue
        texts[name] = raw
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
    digests: dict[str, str],
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
            findings.error(reasons.STORAGE_UNREADABLE, f"{OSS_FAILURE} {error}", file=name)
            continue
        seen = hashlib.sha256()

        def read_range(offset: int, length: int, reader: Any = reader, seen: Any = seen) -> bytes:
            data: bytes = reader.read(offset, length)
            seen.update(data)
            return data

        try:
            headers[name] = parse_header(read_range, reader.size, max_header_bytes=MAX_HEADER_BYTES)
            digests[name] = seen.hexdigest()
        except SafetensorsError as error:
            message = error.message if error.message.endswith(".") else error.message + "."
            findings.error(error.code, f"{name}: {message}", file=name, tensor=error.tensor)
        except StorageError as error:
            findings.error(reasons.STORAGE_UNREADABLE, f"{OSS_FAILURE} {error}", file=name)
        finally:
            reader.close()
    findings.checked("safetensors.headers", before, f"{len(headers)} file{'' if len(headers) == 1 else 's'} parsed")
    return headers


def _read_whole(bucket: SourceBucket, prefix: str, name: str, size: int, findings: Findings) -> bytes | None:
    try:
        reader = bucket.open(prefix, name)
    except StorageError as error:
        findings.error(reasons.STORAGE_UNREADABLE, f"{OSS_FAILURE} {error}", file=name)
        return None
    try:
        if reader.size != size:
            findings.error(reasons.STORAGE_FILE_CHANGED, f"{name} changed while it was being listed; retry.", file=name)
            return None
        return reader.read(0, size)
    except StorageError as error:
        findings.error(reasons.STORAGE_UNREADABLE, f"{OSS_FAILURE} {error}", file=name)
        return None
    finally:
        reader.close()


def _oss_failure(code: Reason, detail: str) -> Finding:
    return Finding(code=code, severity=Severity.ERROR, message=f"{OSS_FAILURE} {detail}")
