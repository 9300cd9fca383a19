"""The storage interface the pipeline sees. Implementations live beside it.

Error messages raised here reach users through a job's `error_code`, so they name the location
(`oss://bucket/prefix`) and never credentials, endpoints' secrets or local paths outside the bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelport.storage.blob_ledger import BlobRecord

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
    """One attempt at publishing a model. Every file is a blob (storage/blob_ledger): one the store
    holds already, or a new one this attempt writes; `place` makes it a file of the model."""

    def candidates(self, size: int, head: str) -> list[BlobRecord]:
        """Committed blobs of `size` whose first segment has digest `head`, claimed for this attempt
        (they stay until it ends); empty when none."""
        ...

    def open_blob(self, key: str) -> RangeReader: ...

    def new_blob(self, size: int, head: str) -> tuple[str, ObjectWriter]:
        """A fresh, claimed blob key and a writer for its bytes."""
        ...

    def commit_blob(self, record: BlobRecord) -> BlobRecord:
        """Commit a blob whose writer committed; returns the blob the model should use (this one, or
        an identical one another import committed at the same time)."""
        ...

    def place(self, name: str, record: BlobRecord) -> None:
        """File `name` of the model is the (claimed, committed) blob `record`."""
        ...

    def publish(self, manifest: bytes) -> None:
        """Write the manifest last and make the model visible, atomically for readers; then drop
        this attempt's claims on blobs the manifest does not name."""
        ...

    def abort(self) -> None:
        """Remove everything staged and drop this attempt's claims; nothing becomes visible."""
        ...


class ModelStore(Protocol):
    def location(self, model_name: str) -> str: ...

    def stage(self, model_name: str, token: str) -> StagedModel: ...

    def read_manifest(self, model_name: str) -> bytes | None:
        """The manifest of a published model, or None: a model without one does not exist."""
        ...

    def open(self, model_name: str, name: str) -> RangeReader:
        """A file of a published model, by its path in the manifest, wherever its bytes live."""
        ...

    def delete(self, model_name: str) -> None:
        """Remove the model and its references to blobs (published or partial); idempotent. A blob
        another model still uses stays."""
        ...

    def model_names(self) -> list[str]:
        """Names with any data in the store, published or not (for the orphan sweep)."""
        ...

    def staged_model_names(self) -> list[str]:
        """Names with staging data or claims on blobs (in progress, or left by an interrupted attempt)."""
        ...

    def sweep_staging(self, model_name: str) -> int:
        """Remove every staging area and claim of `model_name` (no attempt of it runs); returns how many."""
        ...

    def blob_holders(self, keys: Sequence[str]) -> set[str]:
        """The models that hold a reference to every one of `keys`."""
        ...

    def collect_blobs(self, live_models: Callable[[Sequence[str]], set[str]]) -> int:
        """The reaper's pass over the blobs: drop the references of models `live_models` does not
        name (no RUNNING or SUCCEEDED job) unless their manifest needs them, and remove every blob
        nothing references. Returns how many blobs were removed."""
        ...


def join_location(scheme: str, bucket: str, prefix: str) -> str:
    return f"{scheme}://{bucket}/{prefix}"
