"""Which backend serves a bucket name, and where the model store lives.

Without a config file, bucket NAME is the folder `$MODELPORT_DATA_DIR/buckets/NAME/` and the model
store is `$MODELPORT_DATA_DIR/models/`. With one (`MODELPORT_CONFIG`), only the buckets it names
exist: an unknown name fails the job and never falls through to another backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modelport.storage.interface import BucketNotFound, ModelStore, SourceBucket
from modelport.storage.local_bucket import LocalBucket


class StorageRegistry:
    def __init__(
        self,
        *,
        model_store: ModelStore,
        buckets: Mapping[str, SourceBucket] | None = None,
        local_buckets_root: Path | None = None,
    ) -> None:
        self.model_store = model_store
        self._buckets = dict(buckets or {})
        self._local_root = local_buckets_root

    def bucket(self, name: str) -> SourceBucket:
        configured = self._buckets.get(name)
        if configured is not None:
            return configured
        if self._local_root is not None:
            return LocalBucket(name, self._local_root / name)
        raise BucketNotFound(f"The bucket {name!r} is not configured in this modelport.")

    def bucket_names(self) -> list[str]:
        return sorted(self._buckets)
