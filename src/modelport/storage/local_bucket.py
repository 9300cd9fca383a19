"""A source bucket that is a local folder (the embedded default: `$MODELPORT_DATA_DIR/buckets/NAME/`).

Written here rather than through OpenDAL's `fs` service because that service follows symbolic
links, and an upload must never be able to point the importer at a file outside its folder.
Every path below the bucket root is opened component by component with `O_NOFOLLOW` relative to
its parent's descriptor, so a link anywhere in the path is refused, not resolved. The bucket root
itself is the operator's choice and may be a link (to a mounted volume, say).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from modelport.storage.interface import (
    BucketNotFound,
    ObjectEntry,
    ObjectVersion,
    StorageError,
    StorageUnavailable,
    join_location,
)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
# A local file has no version the filesystem vouches for; the copy's digest pins its bytes.
_NO_VERSION = ObjectVersion()


class LocalRangeReader:
    identity = _NO_VERSION

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        chunks: list[bytes] = []
        remaining = min(length, max(self.size - offset, 0))
        while remaining > 0:
            chunk = os.pread(self._fd, remaining, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            remaining -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class LocalBucket:
    scheme = "oss"

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self._root = root

    def location(self, prefix: str) -> str:
        return join_location(self.scheme, self.name, prefix)

    def list(self, prefix: str, *, limit: int) -> Iterator[ObjectEntry]:
        directory = self._open_prefix(prefix)
        if directory is None:
            return
        try:
            with os.scandir(directory) as entries:
                # Bounded before sorting: a folder of a million names costs `limit` entries here.
                children = [_entry(entry) for entry in _first(entries, limit)]
        except OSError as error:
            raise StorageUnavailable(f"{self.location(prefix)} cannot be listed ({error.strerror}).") from None
        finally:
            os.close(directory)
        yield from sorted(children, key=lambda e: e.key)

    def open(self, prefix: str, key: str, *, pinned: ObjectVersion | None = None) -> LocalRangeReader:
        parts = [p for p in (prefix + key).split("/") if p]
        parent = self._open_root()
        try:
            try:
                for part in parts[:-1]:
                    parent = _replace_fd(parent, self._open_dir(parent, part, prefix + key))
                fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                raise StorageError(f"{self.location(prefix + key)} does not exist.") from None
            except OSError as error:
                raise _link_or_unavailable(error, self.location(prefix + key)) from None
        finally:
            os.close(parent)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise StorageError(f"{self.location(prefix + key)} is not a regular file.")
        # Reads must not block on a FIFO; a regular file never does, so drop O_NONBLOCK again.
        os.set_blocking(fd, True)
        return LocalRangeReader(fd, info.st_size)

    def _open_root(self) -> int:
        try:
            return os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BucketNotFound(f"The bucket {self.name!r} does not exist.") from None
        except OSError as error:
            raise StorageUnavailable(f"The bucket {self.name!r} cannot be read ({error.strerror}).") from None

    def _open_prefix(self, prefix: str) -> int | None:
        fd = self._open_root()
        for part in (p for p in prefix.split("/") if p):
            try:
                fd = _replace_fd(fd, self._open_dir(fd, part, prefix))
            except FileNotFoundError:
                os.close(fd)
                return None
        return fd

    def _open_dir(self, parent: int, name: str, shown: str) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            raise
        except NotADirectoryError:
            raise FileNotFoundError(name) from None
        except OSError as error:
            raise _link_or_unavailable(error, self.location(shown)) from None


def _first(entries: Iterator[os.DirEntry[str]], limit: int) -> list[os.DirEntry[str]]:
    found = []
    for entry in entries:
        found.append(entry)
        if len(found) >= limit:
            break
    return found


def _entry(entry: os.DirEntry[str]) -> ObjectEntry:
    """A top-level name as an object store would list it; folders are reported, never descended into."""
    if entry.is_symlink():
        return ObjectEntry(key=entry.name, size=0, kind="symlink")
    if entry.is_dir(follow_symlinks=False):
        return ObjectEntry(key=entry.name + "/", size=0, kind="directory")
    if entry.is_file(follow_symlinks=False):
        return ObjectEntry(key=entry.name, size=entry.stat(follow_symlinks=False).st_size, kind="file")
    return ObjectEntry(key=entry.name, size=0, kind="other")


def _replace_fd(old: int, new: int) -> int:
    os.close(old)
    return new


def _link_or_unavailable(error: OSError, location: str) -> StorageError:
    # O_NOFOLLOW on a link fails with ELOOP: that is an upload trying to escape, not an outage.
    if error.errno == errno.ELOOP:
        return StorageError(f"{location} is a symbolic link; links are never followed.")
    return StorageUnavailable(f"{location} cannot be read ({error.strerror}).")
