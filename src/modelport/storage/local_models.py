"""The model store on a local folder: `<root>/<model_name>/` holds a published model.

A model is staged in `<root>/.staging/<model_name>.<token>/`, the manifest written last, and the
folder renamed into place: a reader sees the whole model or nothing, and a crash at any point
leaves only staging data and claims, which the sweep removes.

The bytes live once in the blob ledger (`.blobs/`, `.refs/`, `.claims/`, see storage/blob_ledger);
a model's folder holds a hard link to the blob of each file, so `ls`, `cat` and serving engines see
plain files, and `du` counts shared bytes once. Blob files are read-only (0444): writing to one
would change every model that shares it. The whole store must be one filesystem.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from modelport.storage.blob_ledger import DELETING, BlobAttempt, BlobLedger, BlobRecord, data_key
from modelport.storage.interface import MANIFEST_NAME, StorageError
from modelport.storage.local_bucket import LocalRangeReader
from modelport.storage.manifest import Manifest, ManifestError
from modelport.storage.object_space import LocalSpace, ensure_folder

logger = logging.getLogger("modelport.storage")

_STAGING = ".staging"
_TRASH = ".trash"
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def check_plain_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name:
        raise StorageError(f"{name!r} is not a plain file name.")


class LocalObjectWriter:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._path = path
        self._read_only = read_only
        for _ in range(5):
            ensure_folder(path.parent)
            try:
                self._fd = os.open(path, _WRITE_FLAGS, 0o644)
                return
            except FileNotFoundError:
                continue  # the sweep removed the empty folder meanwhile
        raise StorageError(f"{path.name} could not be created in the model store.")

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def commit(self) -> None:
        os.fsync(self._fd)
        if self._read_only:
            os.fchmod(self._fd, 0o444)
        os.close(self._fd)
        self._fd = -1

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._path.unlink(missing_ok=True)


class LocalStagedModel:
    def __init__(self, store: LocalModelStore, model_name: str, directory: Path, attempt: BlobAttempt) -> None:
        self._store = store
        self._model_name = model_name
        self._directory = directory
        self._attempt = attempt
        self._placed: set[str] = set()
        self._keep: frozenset[str] = frozenset()  # what abort must not drop: a manifest may name it

    def candidates(self, size: int, head: str) -> list[BlobRecord]:
        return self._attempt.candidates(size, head)

    def open_blob(self, key: str) -> LocalRangeReader:
        return self._store.open_blob(key)

    def new_blob(self, size: int, head: str) -> tuple[str, LocalObjectWriter]:
        key = self._attempt.new_key(size, head)
        return key, LocalObjectWriter(self._store.blob_path(key), read_only=True)

    def commit_blob(self, record: BlobRecord) -> BlobRecord:
        return self._attempt.commit(record)

    def place(self, name: str, record: BlobRecord) -> None:
        check_plain_name(name)
        try:
            os.link(self._store.blob_path(record.key), self._directory / name, follow_symlinks=False)
        except FileNotFoundError:
            raise StorageError(f"the blob of {name} disappeared before model {self._model_name} was staged.") from None
        self._placed.add(record.key)

    def publish(self, manifest: bytes) -> None:
        writer = LocalObjectWriter(self._directory / MANIFEST_NAME)
        writer.write(manifest)
        writer.commit()
        _fsync_dir(self._directory)
        self._keep = frozenset(self._placed)  # from here on the model may be visible
        self._store.install(self._model_name, self._directory)
        try:
            self._attempt.settle(self._keep)
        except (OSError, StorageError) as error:
            logger.warning("could not drop the unused claims of %s; the sweep will: %s", self._model_name, error)

    def abort(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)
        self._attempt.settle(self._keep)


class LocalModelStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ledger = BlobLedger(LocalSpace(root), self.manifest_blobs)

    def location(self, model_name: str) -> str:
        return str(self.root / model_name)

    def stage(self, model_name: str, token: str) -> LocalStagedModel:
        check_plain_name(model_name)
        check_plain_name(token)
        attempt = BlobAttempt(self.ledger, model_name, token)
        # An earlier attempt's publication is replaced at install: its blobs must stay findable.
        attempt.inherit(self.manifest_blobs(model_name) or frozenset())
        staging = self.root / _STAGING / f"{model_name}.{token}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        return LocalStagedModel(self, model_name, staging, attempt)

    def blob_path(self, key: str) -> Path:
        return self.root / data_key(key)

    def open_blob(self, key: str) -> LocalRangeReader:
        return self._open_regular(self.blob_path(key), f"blob {key}")

    def install(self, model_name: str, staged: Path) -> None:
        """Rename a complete staging folder into place, replacing an earlier attempt's copy."""
        final = self.root / model_name
        if final.exists() or final.is_symlink():
            # Only an earlier attempt of the same job can have published this name (names are
            # unique per job), so its copy is of the same source and can be replaced.
            trash = self.root / _TRASH / f"{model_name}.{time.time_ns()}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(final, trash)
            os.rename(staged, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(staged, final)
        _fsync_dir(self.root)

    def read_manifest(self, model_name: str) -> bytes | None:
        check_plain_name(model_name)
        path = self.root / model_name / MANIFEST_NAME
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def manifest_blobs(self, model_name: str) -> frozenset[str] | None:
        raw = self.read_manifest(model_name)
        if raw is None:
            return None
        try:
            return Manifest.from_bytes(raw).blob_keys()
        except ManifestError as error:
            raise StorageError(f"model {model_name} has an unreadable manifest: {error}") from None

    def open(self, model_name: str, name: str) -> LocalRangeReader:
        check_plain_name(model_name)
        check_plain_name(name)
        return self._open_regular(self.root / model_name / name, f"{name} in model {model_name}")

    def _open_regular(self, path: Path, subject: str) -> LocalRangeReader:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise StorageError(f"{subject} is not a regular file.")
        return LocalRangeReader(fd, info.st_size)

    def delete(self, model_name: str) -> None:
        check_plain_name(model_name)
        try:
            published = self.manifest_blobs(model_name)
        except StorageError:
            published = None  # unreadable: the collector drops its references once the job is gone
        if published:
            # Claims first: once the folder is gone, only they say which references to drop.
            self.ledger.write_claims(model_name, DELETING, published)
        final = self.root / model_name
        if final.is_symlink():
            final.unlink()
        elif final.exists():
            trash = self.root / _TRASH / f"{model_name}.{time.time_ns()}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(final, trash)  # invisible at once, then removed at leisure
            shutil.rmtree(trash, ignore_errors=True)
        self.sweep_staging(model_name)

    def model_names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))

    def staged_model_names(self) -> list[str]:
        staging = self.root / _STAGING
        names = self.ledger.claimed_models()
        if staging.exists():
            names |= {p.name.rsplit(".", 1)[0] for p in staging.iterdir()}
        return sorted(names)

    def sweep_staging(self, model_name: str) -> int:
        check_plain_name(model_name)
        removed = self.ledger.sweep(model_name)
        for path in (self.root / _STAGING).glob(f"{model_name}.*"):
            if path.name.rsplit(".", 1)[0] == model_name:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        trash = self.root / _TRASH
        if trash.exists():
            for path in trash.glob(f"{model_name}.*"):
                shutil.rmtree(path, ignore_errors=True)
        return removed

    def blob_holders(self, keys: Sequence[str]) -> set[str]:
        return self.ledger.holders_of_all(keys)

    def collect_blobs(self, live_models: Callable[[Sequence[str]], set[str]]) -> int:
        return self.ledger.collect(live_models)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
