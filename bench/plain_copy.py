"""The baselines an import is compared with: a plain copy of the same objects with the same storage
library and SHA-256, and no validation at all; and `rclone copy` where Debian's rclone is installed.

Plain copy, per file: read `chunk` bytes at a time (os.read on a local file; OpenDAL's streaming
reader on S3), feed SHA-256, write (os.write, fsync at the end, as modelport's local store does;
OpenDAL's multipart writer with modelport's default part size and part concurrency on S3); files run
`file_concurrency` at a time, largest first, as modelport copies them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import opendal

from modelport.settings import Settings
from modelport.storage.opendal_models import UploadOptions

MIB = 1024 * 1024
# modelport's own defaults (MODELPORT_CHUNK_BYTES, MODELPORT_FILE_CONCURRENCY, [model_store] part_size
# and part_concurrency), so the baseline reads and uploads as an import with default settings does.
_DEFAULTS = Settings(data_dir=Path("."), database_url="sqlite://")
CHUNK_BYTES = _DEFAULTS.chunk_bytes
FILE_CONCURRENCY = _DEFAULTS.file_concurrency
PART_BYTES = UploadOptions().part_bytes
PART_CONCURRENCY = UploadOptions().part_concurrency


@dataclass(frozen=True)
class Place:
    """A folder on the local disk, or a prefix in an S3 bucket reached through `operator`."""

    folder: Path | None = None
    operator: opendal.Operator | None = None
    prefix: str = ""

    @property
    def kind(self) -> str:
        return "local" if self.folder is not None else "s3"


Reader = Callable[[int], bytes]


def _copy_one(name: str, source: Place, target: Place, chunk: int) -> str:
    digest = hashlib.sha256()
    if source.folder is not None:
        fd = os.open(source.folder / name, os.O_RDONLY)

        def read(size: int) -> bytes:
            return os.read(fd, size)

        close_source: Callable[[], None] = lambda: os.close(fd)  # noqa: E731
    else:
        assert source.operator is not None
        handle = source.operator.open(source.prefix + name, "rb")

        def read(size: int) -> bytes:
            parts = []
            wanted = size
            while wanted > 0:
                data = handle.read(wanted)
                if not data:
                    break
                parts.append(data)
                wanted -= len(data)
            return parts[0] if len(parts) == 1 else b"".join(parts)

        close_source = handle.close
    try:
        if target.folder is not None:
            out = os.open(target.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                while data := read(chunk):
                    digest.update(data)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(out, view) :]
                os.fsync(out)
            finally:
                os.close(out)
        else:
            assert target.operator is not None
            with target.operator.open(
                target.prefix + name, "wb", chunk=PART_BYTES, concurrent=PART_CONCURRENCY
            ) as writer:
                while data := read(chunk):
                    digest.update(data)
                    writer.write(data)
    finally:
        close_source()
    return digest.hexdigest()


def plain_copy(
    files: dict[str, int],
    source: Place,
    target: Place,
    *,
    chunk: int = CHUNK_BYTES,
    file_concurrency: int = FILE_CONCURRENCY,
) -> tuple[float, dict[str, str]]:
    """Copy `files` (name -> size); returns the seconds taken and every file's SHA-256."""
    if target.folder is not None:
        target.folder.mkdir(parents=True, exist_ok=True)
    order = sorted(files, key=lambda name: -files[name])
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=file_concurrency) as pool:
        digests = list(pool.map(lambda name: _copy_one(name, source, target, chunk), order))
    if target.folder is not None:
        _fsync_dir(target.folder)
    return time.perf_counter() - began, dict(zip(order, digests, strict=True))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rclone_available() -> bool:
    return shutil.which("rclone") is not None


def rclone_version() -> str:
    found = subprocess.run(["rclone", "version"], capture_output=True, text=True, check=False).stdout
    return found.splitlines()[0] if found else "rclone (version unknown)"


def rclone_copy(source: str, target: str, env: dict[str, str], *, fsync_folder: Path | None = None) -> float:
    """`rclone copy source target` with modelport's transfer settings; when the target is a local
    folder its files are fsynced afterwards (inside the timing), since rclone does not and modelport does."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as empty_config:
        # AWS_* variables (a CA bundle, say) would change how rclone's S3 client is built.
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        environment = {**inherited, **env, "RCLONE_CONFIG": empty_config.name}
        command = [
            "rclone", "copy", source, target,
            "--transfers", str(FILE_CONCURRENCY),
            "--s3-chunk-size", f"{PART_BYTES // MIB}M",
            "--s3-upload-concurrency", str(PART_CONCURRENCY),
            "--s3-disable-checksum",  # else rclone reads every source twice to put an MD5 in the metadata
        ]  # fmt: skip
        began = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"rclone copy failed ({done.returncode}):\n{done.stderr[-2000:]}")
        if fsync_folder is not None:
            for path in fsync_folder.rglob("*"):
                if path.is_file():
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            _fsync_dir(fsync_folder)
        return time.perf_counter() - began
