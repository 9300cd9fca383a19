"""The verified copy: a published model's files, read from the model store into a local folder,
every byte hashed on the way and compared with the manifest, the folder appearing only when all of
it verified.

This is the one path by which an imported model reaches a serving engine (the vLLM resolver's
cache and `modelport pull` both use it), so what an engine loads is exactly what the gate
vouched for: a store file changed after the import is refused here, and a copy that fails is never
renamed into place. Reads go through the `ModelStore` protocol only, so every backend behaves alike.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from modelport.serving.manifest import Manifest, ManifestFile
from modelport.storage.interface import MANIFEST_NAME, ModelStore

CHUNK_BYTES = 8 * 1024 * 1024
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

BytesSink = Callable[[int], None]


class VerificationFailed(Exception):
    """A file does not match the manifest; the message names the model, the file and the digests."""


def copy_verified(
    store: ModelStore,
    manifest: Manifest,
    destination: Path,
    *,
    on_bytes: BytesSink | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> None:
    """Copy every file of `manifest` into `destination` (absent, or an empty folder), verifying size
    and SHA-256; the manifest itself is written beside them. Nothing is left behind on failure."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    # A sibling of the destination, so the final rename stays on one filesystem and is atomic.
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=destination.parent))
    try:
        for entry in manifest.files:
            _copy_file(store, manifest.model_name, entry, staging / entry.path, on_bytes, chunk_bytes)
        _write_file(staging / MANIFEST_NAME, manifest.raw)
        _fsync_dir(staging)
        os.rename(staging, destination)  # replaces an empty folder; refuses a non-empty one
        _fsync_dir(destination.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def folder_matches(folder: Path, manifest: Manifest) -> bool:
    """Whether `folder` holds exactly the manifest's files with their digests (a cached copy is
    re-hashed before reuse: it may have been changed on disk since it was verified)."""
    try:
        if (folder / MANIFEST_NAME).read_bytes() != manifest.raw:
            return False
        present = {p.name for p in folder.iterdir()}
        if present != {f.path for f in manifest.files} | {MANIFEST_NAME}:
            return False
        for entry in manifest.files:
            path = folder / entry.path
            if path.is_symlink() or not path.is_file() or path.stat().st_size != entry.size:
                return False
            if _hash_file(path) != entry.sha256:
                return False
    except OSError:
        return False
    return True


def _copy_file(
    store: ModelStore,
    model_name: str,
    entry: ManifestFile,
    target: Path,
    on_bytes: BytesSink | None,
    chunk_bytes: int,
) -> None:
    reader = store.open(model_name, entry.path)
    fd = os.open(target, _WRITE_FLAGS, 0o644)
    try:
        if reader.size != entry.size:
            raise VerificationFailed(
                f"{entry.path} of model {model_name} holds {reader.size} bytes in the model store, but the manifest "
                f"says {entry.size}: the stored file changed after the import. Re-import the model."
            )
        digest = hashlib.sha256()
        offset = 0
        while offset < entry.size:
            chunk = reader.read(offset, min(chunk_bytes, entry.size - offset))
            if not chunk:
                raise VerificationFailed(
                    f"{entry.path} of model {model_name} ended after {offset} of {entry.size} bytes in the model store."
                )
            digest.update(chunk)
            _write_all(fd, chunk)
            offset += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
        actual = digest.hexdigest()
        if actual != entry.sha256:
            raise VerificationFailed(
                f"{entry.path} of model {model_name} has SHA-256 {actual} in the model store, but the manifest says "
                f"{entry.sha256}: the stored file changed after the import. Re-import the model."
            )
        os.fsync(fd)
    finally:
        os.close(fd)
        reader.close()


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, _WRITE_FLAGS, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory
            os.fsync(fd)
    finally:
        os.close(fd)
