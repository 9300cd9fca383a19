"""A source bucket on an S3-compatible service or on Alibaba OSS, through OpenDAL.

Clients speak DashScope, so every location is `oss://<bucket name as the client sent it>/<key>`,
whatever the backend and whatever real bucket and root prefix the config maps that name to. Keys
are checked at this boundary: a prefix or key with `.`/`..`/empty segments never reaches the
service, so a client cannot step out of the root prefix the operator configured.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from modelport.storage.interface import ObjectEntry, ObjectVersion, StorageError, join_location
from modelport.storage.opendal_access import (
    ObjectStoreSpec,
    OpenDalRangeReader,
    Operators,
    call,
    open_operators,
    open_reader,
)
from modelport.storage.opendal_listing import list_paths


class OpenDalBucket:
    scheme = "oss"

    def __init__(self, name: str, spec: ObjectStoreSpec, operators: Operators | None = None) -> None:
        self.name = name
        self._spec = spec
        self._operators = operators if operators is not None else open_operators(spec)

    def __repr__(self) -> str:
        return f"OpenDalBucket(name={self.name!r}, backend={self._spec.url!r})"

    def location(self, prefix: str) -> str:
        return join_location(self.scheme, self.name, prefix)

    def list(self, prefix: str, *, limit: int) -> Iterator[ObjectEntry]:
        self._check(prefix, prefix, folder=True)
        # One level, as a delimiter listing: "folders" are common prefixes, never descended into,
        # so a deep tree of training leftovers costs one entry.
        listed = call(
            lambda: list_paths(self._operators, prefix, recursive=False, limit=limit + 1),
            self.location(prefix),
            verb="listed",
            bucket_label=repr(self.name),
        )
        entries = []
        for item in listed:
            key = item.path[len(prefix) :] if item.path.startswith(prefix) else ""
            if not key:
                continue  # the prefix itself (a console's "folder" object)
            if key.endswith("/"):
                entries.append(ObjectEntry(key=key, size=0, kind="directory"))
            else:
                entries.append(ObjectEntry(key=key, size=item.size, kind="file" if is_safe_key(key) else "other"))
        yield from sorted(entries, key=lambda entry: entry.key)[:limit]

    def open(self, prefix: str, key: str, *, pinned: ObjectVersion | None = None) -> OpenDalRangeReader:
        self._check(prefix, prefix + key, folder=True)
        self._check(key, prefix + key, folder=False)
        return open_reader(
            self._operators.blocking,
            prefix + key,
            subject=self.location(prefix + key),
            bucket_label=repr(self.name),
            pinned=pinned,
        )

    def _check(self, part: str, shown: str, *, folder: bool) -> None:
        body = part[:-1] if folder and part.endswith("/") else part
        if body and not is_safe_key(body):
            raise StorageError(f"{self.location(shown)} is not a plain object key ('.', '..' or empty segments).")


def is_safe_key(key: str) -> bool:
    """A '/'-separated key with no empty, '.' or '..' segment, no backslash and no control character."""
    if key.startswith("/") or "\\" in key:
        return False
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        return False
    return all(segment not in ("", ".", "..") for segment in key.split("/"))
