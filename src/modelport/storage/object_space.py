"""The model store's root seen as flat keys: the five small operations the blob ledger is written
against (`blob_ledger`), and their local-folder implementation (the OpenDAL one is in
`opendal_models`).

Keys are '/'-separated paths relative to the store's root. The ledger needs no more than a
linearizable store gives: a `put` seen by every later `keys` or `get`, a `delete` likewise. S3 and
OSS are strongly consistent for both; a local filesystem is by construction.

A local `put` writes a temporary file beside its target, fsyncs it, renames it into place and
fsyncs the folder, so a reader sees the old object or the new one and a power cut keeps the order
of puts. Deleting the last key of a folder removes the folder too, so `.refs/` and `.blobs/` do not
fill with empty folders; a `put` racing that removal retries.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path
from typing import Protocol

from modelport.storage.interface import StorageError

_TEMPORARY = ".~"  # prefix of a put's temporary file; never a key, never listed
_RETRIES = 5


class ObjectSpace(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Write the whole object, replacing any earlier one."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is none."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (a folder, ending with '/'), at any depth, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens if it is not there."""
        ...

    def size(self, key: str) -> int | None:
        """The object's size, or None if there is none."""
        ...


def check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") or "\x00" in part for part in parts):
        raise StorageError(f"{key!r} is not a key of the model store.")


class LocalSpace:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        for _ in range(_RETRIES):
            ensure_folder(target.parent)
            temporary = target.parent / f"{_TEMPORARY}{target.name}.{uuid.uuid4().hex[:8]}"
            try:
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                continue  # the folder was removed as empty meanwhile: make it again
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.replace(temporary, target)
            except FileNotFoundError:
                continue
            fsync_folder(target.parent)
            return
        raise StorageError(f"{key} in the model store could not be written: its folder keeps disappearing.")

    def get(self, key: str) -> bytes | None:
        try:
            fd = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def keys(self, prefix: str) -> list[str]:
        top = self.path(prefix.rstrip("/")) if prefix else self.root
        found: list[str] = []
        for folder, folders, files in os.walk(top):
            folders[:] = [name for name in folders if not name.startswith(_TEMPORARY)]
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                if not name.startswith(_TEMPORARY):
                    found.append(name if relative == "." else f"{relative}/{name}")
        return sorted(found)

    def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        prune_empty_folders(path.parent, self.root)

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).lstat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None


def ensure_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def prune_empty_folders(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents while they are empty, up to the first level below `root`
    (`.blobs`, `.refs`, `.claims` themselves stay)."""
    while folder != root and folder.parent != root:
        try:
            folder.rmdir()
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                return
            raise
        folder = folder.parent


def fsync_folder(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
