"""The model store on an S3-compatible service or Alibaba OSS: `<root>/<model_name>/manifest.json`,
written last, is a model's commit marker, and the model's files are found through it.

The bytes live once in the blob ledger (`.blobs/`, `.refs/`, `.claims/`, see storage/blob_ledger),
written straight to their final key (objects cannot be renamed cheaply, so a blob's key is chosen
before its bytes are known); `open(model, path)` reads the manifest and opens the blob it names.
An attempt's claims object says which blobs it references, so the sweep finds what an interrupted
attempt left. Manifests written before blobs existed name no blob: their files are read from
`<root>/<model_name>/`, and `.staging/<model_name>.<token>` markers of that time are still swept.

Readers ignore a model without a manifest. Before writing the manifest, publish removes any other
object under the model's prefix and checks the size of every blob it names: what the manifest
commits is exactly what this attempt copied or found, even if a stale attempt or a sweep ran.

Files go up as multipart uploads, `part_concurrency` parts at a time, so memory is bounded by
part size times concurrency per file. The part size is the configured `part_bytes`, raised for a
file too large to fit in S3's 10,000 parts at that size (`UploadOptions.part_bytes_for`). A writer
that is aborted is dropped, never closed: closing would complete the upload and publish a partial
object. The Python binding cannot abort a multipart upload, so its parts stay invisible on the
server until a lifecycle rule (AbortIncompleteMultipartUpload) removes them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import opendal
from opendal import exceptions as opendal_errors
from opendal.file import File

from modelport.storage.blob_ledger import DELETING, BlobAttempt, BlobLedger, BlobRecord, data_key
from modelport.storage.interface import MANIFEST_NAME, StorageError
from modelport.storage.local_models import check_plain_name
from modelport.storage.manifest import Manifest, ManifestError
from modelport.storage.opendal_access import (
    OPENDAL_ERRORS,
    ObjectStoreSpec,
    OpenDalRangeReader,
    Operators,
    call,
    open_operators,
    open_reader,
    translate,
)
from modelport.storage.opendal_listing import Listed, list_paths

logger = logging.getLogger("modelport.storage")

STAGING_PREFIX = ".staging/"
MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB  # S3's smallest part (OSS allows 100 KiB); the last part may be smaller
MAX_PART_BYTES = 5 * 1024**3  # S3's and OSS's largest part
MAX_PARTS = 10_000  # S3 and OSS alike
_BUCKET_LABEL = "of the model store"
_MANY = 1_000_000


@dataclass(frozen=True)
class UploadOptions:
    part_bytes: int = 8 * MIB  # the smallest part used; larger files get larger parts
    part_concurrency: int = 2

    def part_bytes_for(self, size: int) -> int:
        """The part size for a file of `size` bytes: `part_bytes`, or for a file that would need more
        than MAX_PARTS of them (78 GiB at 8 MiB), the smallest whole number of MiB that fits it in
        MAX_PARTS parts. Memory per file grows with the file only past that point."""
        if size <= self.part_bytes * MAX_PARTS:
            return self.part_bytes
        needed = -(-size // MAX_PARTS)
        return min(MAX_PART_BYTES, -(-needed // MIB) * MIB)


class OpenDalObjectWriter:
    def __init__(self, file: File, subject: str, part_bytes: int) -> None:
        self._file: File | None = file
        self._subject = subject
        self._part_bytes = part_bytes
        self._written = 0

    @property
    def max_object_bytes(self) -> int:
        return self._part_bytes * MAX_PARTS

    def write(self, data: bytes | memoryview) -> None:
        file = self._require_open()
        self._written += len(data)
        if self._written > self.max_object_bytes:
            raise StorageError(
                f"{self._subject} is larger than {self.max_object_bytes} bytes, the most {MAX_PARTS} parts "
                f"of {self._part_bytes} bytes can hold."
            )
        chunk = data if isinstance(data, bytes) else bytes(data)  # the binding accepts bytes only
        call(lambda: file.write(chunk), self._subject, verb="written", bucket_label=_BUCKET_LABEL)

    def commit(self) -> None:
        file = self._require_open()
        call(file.close, self._subject, verb="written", bucket_label=_BUCKET_LABEL)
        self._file = None

    def abort(self) -> None:
        self._file = None  # dropped without close(): the partial upload is never completed

    def _require_open(self) -> File:
        if self._file is None:
            raise StorageError(f"{self._subject} was already committed or aborted.")
        return self._file


class OpenDalSpace:
    """The store's root as an `ObjectSpace` for the blob ledger."""

    def __init__(self, operators: Operators) -> None:
        self._operators = operators

    def put(self, key: str, data: bytes) -> None:
        op = self._operators.blocking
        call(lambda: op.write(key, data), f"{key} in the model store", verb="written", bucket_label=_BUCKET_LABEL)

    def get(self, key: str) -> bytes | None:
        try:
            data: bytes = self._operators.blocking.read(key)
        except opendal_errors.NotFound:
            return None
        except OPENDAL_ERRORS as error:
            raise translate(error, f"{key} in the model store", verb="read", bucket_label=_BUCKET_LABEL) from None
        return data

    def keys(self, prefix: str) -> list[str]:
        listed = call(
            lambda: list_paths(self._operators, prefix, recursive=True, limit=_MANY),
            f"the model store ({prefix or 'root'})",
            verb="listed",
            bucket_label=_BUCKET_LABEL,
        )
        return sorted(entry.path for entry in listed if not entry.path.endswith("/"))

    def delete(self, key: str) -> None:
        op = self._operators.blocking
        call(lambda: op.delete(key), f"{key} in the model store", verb="deleted", bucket_label=_BUCKET_LABEL)

    def size(self, key: str) -> int | None:
        try:
            return int(self._operators.blocking.stat(key).content_length)
        except opendal_errors.NotFound:
            return None
        except OPENDAL_ERRORS as error:
            raise translate(error, f"{key} in the model store", verb="read", bucket_label=_BUCKET_LABEL) from None


class OpenDalStagedModel:
    def __init__(self, store: OpenDalModelStore, model_name: str, attempt: BlobAttempt) -> None:
        self._store = store
        self._model_name = model_name
        self._attempt = attempt
        self._placed: dict[str, BlobRecord] = {}
        self._keep: frozenset[str] = frozenset()  # what abort must not drop: a manifest may name it
        self._lock = threading.Lock()

    def candidates(self, size: int, head: str) -> list[BlobRecord]:
        return self._attempt.candidates(size, head)

    def open_blob(self, key: str) -> OpenDalRangeReader:
        return self._store.open_blob(key)

    def new_blob(self, size: int, head: str) -> tuple[str, OpenDalObjectWriter]:
        key = self._attempt.new_key(size, head)
        return key, self._store.open_writer(data_key(key), f"a file of model {self._model_name}", size)

    def commit_blob(self, record: BlobRecord) -> BlobRecord:
        return self._attempt.commit(record)

    def place(self, name: str, record: BlobRecord) -> None:
        check_plain_name(name)
        if name == MANIFEST_NAME:
            raise StorageError(f"{MANIFEST_NAME} is written by publish, not as a model file.")
        with self._lock:
            self._placed[name] = record

    def publish(self, manifest: bytes) -> None:
        with self._lock:
            placed = dict(self._placed)
        self._keep = frozenset(record.key for record in placed.values())  # the manifest may be written
        self._store.publish(self._model_name, placed, manifest)
        try:
            self._attempt.settle(self._keep)
        except StorageError as error:
            logger.warning("could not drop the unused claims of %s; the sweep will: %s", self._model_name, error)

    def abort(self) -> None:
        """Best effort, like removing a local staging folder: what a failure leaves behind keeps its
        claims, so the sweep removes it later, and the caller's own error is not masked."""
        try:
            self._attempt.settle(self._keep)
        except StorageError as error:
            logger.warning("could not remove the staged data of %s; the sweep will: %s", self._model_name, error)


class OpenDalModelStore:
    def __init__(self, spec: ObjectStoreSpec, upload: UploadOptions, operators: Operators | None = None) -> None:
        self._spec = spec
        self._upload = upload
        self._operators = operators if operators is not None else open_operators(spec)
        self.ledger = BlobLedger(OpenDalSpace(self._operators), self.manifest_blobs)

    def __repr__(self) -> str:
        return f"OpenDalModelStore(backend={self._spec.url!r})"

    @property
    def _op(self) -> opendal.Operator:
        return self._operators.blocking

    def location(self, model_name: str) -> str:
        return f"{self._spec.url}{model_name}/"

    # -- staging and publishing --------------------------------------------------------------------

    def stage(self, model_name: str, token: str) -> OpenDalStagedModel:
        check_plain_name(model_name)
        check_plain_name(token)
        attempt = BlobAttempt(self.ledger, model_name, token)
        # Only an earlier attempt of the same job can have published this name: record its blobs,
        # then take its manifest down, so nobody reads the model while this attempt runs.
        attempt.inherit(self.manifest_blobs(model_name) or frozenset())
        self._delete(_manifest(model_name))
        return OpenDalStagedModel(self, model_name, attempt)

    def open_writer(self, path: str, subject: str, size: int) -> OpenDalObjectWriter:
        """A multipart writer for an object of `size` bytes, its parts sized for that size."""
        part_bytes = self._upload.part_bytes_for(size)
        concurrency = self._upload.part_concurrency
        file = call(
            lambda: self._op.open(path, "wb", chunk=part_bytes, concurrent=concurrency),
            subject,
            verb="written",
            bucket_label=_BUCKET_LABEL,
        )
        return OpenDalObjectWriter(file, subject, part_bytes)

    def publish(self, model_name: str, placed: dict[str, BlobRecord], manifest: bytes) -> None:
        for listed in self._list(f"{model_name}/", recursive=True):
            if listed.path != _manifest(model_name) and not listed.path.endswith("/"):
                self._delete(listed.path)  # left by an attempt from before blobs
        for name, record in sorted(placed.items()):
            subject = f"{name} of model {model_name}"
            try:
                actual = self._op.stat(data_key(record.key)).content_length
            except opendal_errors.NotFound:
                raise StorageError(f"{subject} disappeared before the model was published.") from None
            except OPENDAL_ERRORS as error:
                raise translate(error, subject, verb="read", bucket_label=_BUCKET_LABEL) from None
            if actual != record.size:
                raise StorageError(f"{subject} holds {actual} bytes, not the {record.size} this attempt wrote.")
        self._write_small(_manifest(model_name), manifest)

    # -- reading ------------------------------------------------------------------------------------

    def read_manifest(self, model_name: str) -> bytes | None:
        check_plain_name(model_name)
        try:
            data: bytes = self._op.read(_manifest(model_name))
        except opendal_errors.NotFound:
            return None
        except OPENDAL_ERRORS as error:
            raise translate(
                error, f"the manifest of model {model_name}", verb="read", bucket_label=_BUCKET_LABEL
            ) from None
        return data

    def manifest_blobs(self, model_name: str) -> frozenset[str] | None:
        manifest = self._manifest(model_name)
        return None if manifest is None else manifest.blob_keys()

    def open(self, model_name: str, name: str) -> OpenDalRangeReader:
        check_plain_name(model_name)
        check_plain_name(name)
        subject = f"{name} of model {model_name}"
        manifest = self._manifest(model_name)
        entry = manifest.file(name) if manifest is not None else None
        if entry is None or entry.blob is None:
            return open_reader(self._op, f"{model_name}/{name}", subject=subject, bucket_label=_BUCKET_LABEL)
        reader = open_reader(self._op, data_key(entry.blob), subject=subject, bucket_label=_BUCKET_LABEL)
        if reader.size != entry.size:
            raise StorageError(f"{subject} holds {reader.size} bytes, not the {entry.size} its manifest says.")
        return reader

    def open_blob(self, key: str) -> OpenDalRangeReader:
        return open_reader(self._op, data_key(key), subject=f"blob {key}", bucket_label=_BUCKET_LABEL)

    # -- removal and sweeping -----------------------------------------------------------------------

    def delete(self, model_name: str) -> None:
        check_plain_name(model_name)
        try:
            published = self.manifest_blobs(model_name)
        except StorageError:
            published = None  # unreadable: the collector drops its references once the job is gone
        if published:
            # Claims first: once the manifest is gone, only they say which references to drop.
            self.ledger.write_claims(model_name, DELETING, published)
        self._delete(_manifest(model_name))  # readers stop seeing the model at once
        self._delete_tree(model_name)
        self.sweep_staging(model_name)

    def model_names(self) -> list[str]:
        names = set()
        for listed in self._list("", recursive=False):
            name = listed.path.rstrip("/")
            if listed.path.endswith("/") and name and not name.startswith(".") and "/" not in name:
                names.add(name)
        return sorted(names)

    def staged_model_names(self) -> list[str]:
        legacy = {_marker_owner(listed.path) for listed in self._list(STAGING_PREFIX, recursive=False)}
        return sorted((legacy | self.ledger.claimed_models()) - {""})

    def sweep_staging(self, model_name: str) -> int:
        check_plain_name(model_name)
        swept = self.ledger.sweep(model_name)
        markers = self._markers(model_name)  # of attempts from before blobs
        if markers and self.read_manifest(model_name) is None:
            self._delete_tree(model_name)
        for marker in markers:
            self._delete(marker)
        return swept + len(markers)

    def blob_holders(self, keys: Sequence[str]) -> set[str]:
        return self.ledger.holders_of_all(keys)

    def collect_blobs(self, live_models: Callable[[Sequence[str]], set[str]]) -> int:
        return self.ledger.collect(live_models)

    def _manifest(self, model_name: str) -> Manifest | None:
        raw = self.read_manifest(model_name)
        if raw is None:
            return None
        try:
            return Manifest.from_bytes(raw)
        except ManifestError as error:
            raise StorageError(f"model {model_name} has an unreadable manifest: {error}") from None

    # -- small operations ---------------------------------------------------------------------------

    def _markers(self, model_name: str) -> list[str]:
        return [
            listed.path
            for listed in self._list(STAGING_PREFIX, recursive=False)
            if _marker_owner(listed.path) == model_name
        ]

    def _list(self, path: str, *, recursive: bool) -> list[Listed]:
        return call(
            lambda: list_paths(self._operators, path, recursive=recursive, limit=_MANY),
            f"the model store ({path or 'root'})",
            verb="listed",
            bucket_label=_BUCKET_LABEL,
        )

    def _write_small(self, path: str, data: bytes) -> None:
        call(
            lambda: self._op.write(path, data), f"{path} in the model store", verb="written", bucket_label=_BUCKET_LABEL
        )

    def _delete(self, path: str) -> None:
        call(lambda: self._op.delete(path), f"{path} in the model store", verb="deleted", bucket_label=_BUCKET_LABEL)

    def _delete_tree(self, model_name: str) -> None:
        path = f"{model_name}/"
        call(
            lambda: self._op.delete(path, recursive=True),
            f"model {model_name}",
            verb="deleted",
            bucket_label=_BUCKET_LABEL,
        )


def _manifest(model_name: str) -> str:
    return f"{model_name}/{MANIFEST_NAME}"


def _marker_owner(path: str) -> str:
    name = path[len(STAGING_PREFIX) :] if path.startswith(STAGING_PREFIX) else ""
    if not name or "/" in name or "." not in name:
        return ""
    return name.rsplit(".", 1)[0]
