"""The storage interface the pipeline sees. Implementations live beside it.

Error messages raised here reach users through a job's `error_code`, so they name the location
(`oss://bucket/prefix`) and never credentials, endpoints' secrets or local paths outside the bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

# The commit marker of a published model: a model store holds a model only if this file is there.
MANIFEST_NAME = "manifest.json"


class StorageError(Exception):
    """A storage failure whose message is safe to show to the user who created the job."""


class BucketNotFound(StorageError):
    pass


class StorageUnavailable(StorageError):
    """Reading or writing failed for a reason that may go away (network, permissions, throttling)."""


class ObjectChanged(StorageError):
    """The object is no longer the version that was pinned (another ETag, size or version)."""


@dataclass(frozen=True)
class ObjectEntry:
    key: str  # relative to the listed prefix; a folder's key ends with '/'
    size: int
    kind: str  # "file", "directory", or "symlink"/"other" for what a filesystem holds besides files


@dataclass(frozen=True)
class ObjectVersion:
    """What an object store says identifies the bytes of an object, when it says anything."""

    etag: str | None = None
    version: str | None = None


class RangeReader(Protocol):
    size: int
    identity: ObjectVersion  # empty for a local file

    def read(self, offset: int, length: int) -> bytes:
        """Exactly `length` bytes from `offset` (fewer only at the end of the object)."""
        ...

    def close(self) -> None: ...


class SourceBucket(Protocol):
    name: str

    def location(self, prefix: str) -> str:
        """How to name `prefix` in messages, e.g. 'oss://my-bucket/models/x/'."""
        ...

    def list(self, prefix: str, *, limit: int) -> Iterator[ObjectEntry]:
        """The files and folders directly under `prefix` (folders are not descended into);
        stops after `limit` entries."""
        ...

    def open(self, prefix: str, key: str, *, pinned: ObjectVersion | None = None) -> RangeReader:
        """A reader over one regular object; never follows a link. With `pinned`, the reader reads
        that version (or refuses with ObjectChanged) wherever the backend can tell versions apart."""
        ...


class ObjectWriter(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self) -> None:
        """Make the object durable in the staging area."""
        ...

    def abort(self) -> None: ...


class StagedModel(Protocol):
    def writer(self, name: str) -> ObjectWriter: ...

    def publish(self, manifest: bytes) -> None:
        """Write the manifest last and make the model visible, atomically for readers."""
        ...

    def abort(self) -> None:
        """Remove everything staged; nothing becomes visible."""
        ...


class ModelStore(Protocol):
    def location(self, model_name: str) -> str: ...

    def stage(self, model_name: str, token: str) -> StagedModel: ...

    def read_manifest(self, model_name: str) -> bytes | None:
        """The manifest of a published model, or None: a model without one does not exist."""
        ...

    def open(self, model_name: str, name: str) -> RangeReader: ...

    def delete(self, model_name: str) -> None:
        """Remove every file of the model (published or partial); idempotent."""
        ...

    def model_names(self) -> list[str]:
        """Names with any data in the store, published or not (for the orphan sweep)."""
        ...

    def staged_model_names(self) -> list[str]:
        """Names with staging data (in progress, or left by an interrupted attempt)."""
        ...

    def sweep_staging(self, model_name: str) -> int:
        """Remove every staging area of `model_name` (its job is not running); returns how many."""
        ...


def join_location(scheme: str, bucket: str, prefix: str) -> str:
    return f"{scheme}://{bucket}/{prefix}"
