"""The model store on a local folder: `<root>/<model_name>/` holds a published model.

A model is staged in `<root>/.staging/<model_name>.<token>/`, its files fsynced, the manifest
written last, and the folder renamed into place: a reader sees the whole model or nothing, and a
crash at any point leaves only staging data, which the sweep removes.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

from modelport.storage.interface import MANIFEST_NAME, StorageError
from modelport.storage.local_bucket import LocalRangeReader

_STAGING = ".staging"
_TRASH = ".trash"
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def check_plain_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name:
        raise StorageError(f"{name!r} is not a plain file name.")


class LocalObjectWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = os.open(path, _WRITE_FLAGS, 0o644)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def commit(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._path.unlink(missing_ok=True)


class LocalStagedModel:
    def __init__(self, store: LocalModelStore, model_name: str, directory: Path) -> None:
        self._store = store
        self._model_name = model_name
        self._directory = directory

    def writer(self, name: str) -> LocalObjectWriter:
        check_plain_name(name)
        return LocalObjectWriter(self._directory / name)

    def publish(self, manifest: bytes) -> None:
        writer = LocalObjectWriter(self._directory / MANIFEST_NAME)
        writer.write(manifest)
        writer.commit()
        _fsync_dir(self._directory)
        self._store.install(self._model_name, self._directory)

    def abort(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)


class LocalModelStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def location(self, model_name: str) -> str:
        return str(self.root / model_name)

    def stage(self, model_name: str, token: str) -> LocalStagedModel:
        check_plain_name(model_name)
        staging = self.root / _STAGING / f"{model_name}.{token}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        return LocalStagedModel(self, model_name, staging)

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

    def open(self, model_name: str, name: str) -> LocalRangeReader:
        check_plain_name(model_name)
        check_plain_name(name)
        fd = os.open(self.root / model_name / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise StorageError(f"{name} in model {model_name} is not a regular file.")
        return LocalRangeReader(fd, info.st_size)

    def delete(self, model_name: str) -> None:
        check_plain_name(model_name)
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
        if not staging.exists():
            return []
        return sorted({p.name.rsplit(".", 1)[0] for p in staging.iterdir()})

    def sweep_staging(self, model_name: str) -> int:
        removed = 0
        for path in (self.root / _STAGING).glob(f"{model_name}.*"):
            if path.name.rsplit(".", 1)[0] == model_name:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        trash = self.root / _TRASH
        if trash.exists():
            for path in trash.glob(f"{model_name}.*"):
                shutil.rmtree(path, ignore_errors=True)
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
