"""The model store on an S3-compatible service or Alibaba OSS: `<root>/<model_name>/` holds a model,
and `<root>/<model_name>/manifest.json`, written last, is its commit marker.

Objects cannot be renamed cheaply, so an attempt writes straight under the model's prefix, after
first writing a marker `<root>/.staging/<model_name>.<token>`. The marker says "data under this
prefix may be partial": the sweep finds interrupted attempts through it. Every removal runs data
first and marker last, so partial data is never left without a marker (or a manifest) naming it.

Readers ignore a model without a manifest. Before writing the manifest, publish removes objects
this attempt did not write and checks the size of every object it did: what the manifest commits
is exactly what this attempt copied, even if a stale attempt or a sweep touched the prefix.

Files go up as multipart uploads of `part_bytes`, `part_concurrency` at a time, so memory is
bounded by their product per file. A writer that is aborted is dropped, never closed: closing
would complete the upload and publish a partial object. The Python binding cannot abort a
multipart upload, so its parts stay invisible on the server until a lifecycle rule
(AbortIncompleteMultipartUpload) removes them.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

import opendal
from opendal import exceptions as opendal_errors
from opendal.file import File

from modelport.storage.interface import MANIFEST_NAME, StorageError
from modelport.storage.local_models import check_plain_name
from modelport.storage.opendal_access import (
    OPENDAL_ERRORS,
    ObjectStoreSpec,
    OpenDalRangeReader,
    Operators,
    call,
    open_operators,
    open_reader,
    translate,
)
from modelport.storage.opendal_listing import Listed, list_paths

logger = logging.getLogger("modelport.storage")

STAGING_PREFIX = ".staging/"
MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB  # S3's smallest part (OSS allows 100 KiB); the last part may be smaller
MAX_PARTS = 10_000  # S3 and OSS alike
_BUCKET_LABEL = "of the model store"
_MANY = 1_000_000


@dataclass(frozen=True)
class UploadOptions:
    part_bytes: int = 8 * MIB
    part_concurrency: int = 2

    @property
    def max_object_bytes(self) -> int:
        return self.part_bytes * MAX_PARTS


class OpenDalObjectWriter:
    def __init__(self, file: File, name: str, subject: str, options: UploadOptions, staged: OpenDalStagedModel) -> None:
        self._file: File | None = file
        self._name = name
        self._subject = subject
        self._options = options
        self._staged = staged
        self._written = 0

    def write(self, data: bytes | memoryview) -> None:
        file = self._require_open()
        self._written += len(data)
        if self._written > self._options.max_object_bytes:
            raise StorageError(
                f"{self._subject} is larger than {self._options.max_object_bytes} bytes, the most {MAX_PARTS} parts "
                f"of {self._options.part_bytes} bytes can hold; raise part_size in [model_store]."
            )
        chunk = data if isinstance(data, bytes) else bytes(data)  # the binding accepts bytes only
        call(lambda: file.write(chunk), self._subject, verb="written", bucket_label=_BUCKET_LABEL)

    def commit(self) -> None:
        file = self._require_open()
        call(file.close, self._subject, verb="written", bucket_label=_BUCKET_LABEL)
        self._file = None
        self._staged.committed(self._name, self._written)

    def abort(self) -> None:
        self._file = None  # dropped without close(): the partial upload is never completed

    def _require_open(self) -> File:
        if self._file is None:
            raise StorageError(f"{self._subject} was already committed or aborted.")
        return self._file


class OpenDalStagedModel:
    def __init__(self, store: OpenDalModelStore, model_name: str, token: str) -> None:
        self._store = store
        self._model_name = model_name
        self._token = token
        self._written: dict[str, int] = {}
        self._lock = threading.Lock()

    def writer(self, name: str) -> OpenDalObjectWriter:
        check_plain_name(name)
        if name == MANIFEST_NAME:
            raise StorageError(f"{MANIFEST_NAME} is written by publish, not as a model file.")
        return self._store.open_writer(self, self._model_name, name)

    def committed(self, name: str, size: int) -> None:
        with self._lock:
            self._written[name] = size

    def publish(self, manifest: bytes) -> None:
        with self._lock:
            written = dict(self._written)
        self._store.publish(self._model_name, self._token, written, manifest)

    def abort(self) -> None:
        self._store.abort(self._model_name, self._token)


class OpenDalModelStore:
    def __init__(self, spec: ObjectStoreSpec, upload: UploadOptions, operators: Operators | None = None) -> None:
        self._spec = spec
        self._upload = upload
        self._operators = operators if operators is not None else open_operators(spec)

    def __repr__(self) -> str:
        return f"OpenDalModelStore(backend={self._spec.url!r})"

    @property
    def _op(self) -> opendal.Operator:
        return self._operators.blocking

    def location(self, model_name: str) -> str:
        return f"{self._spec.url}{model_name}/"

    # -- staging and publishing --------------------------------------------------------------------

    def stage(self, model_name: str, token: str) -> OpenDalStagedModel:
        check_plain_name(model_name)
        check_plain_name(token)
        if "." in token:
            raise StorageError(f"Staging token {token!r} must not contain '.'.")
        # Only an earlier attempt of the same job can have published this name: take its manifest
        # down first, so nobody reads the model while this attempt rewrites its files.
        self._delete(_manifest(model_name))
        marker = {"model_name": model_name, "token": token}
        self._write_small(_marker(model_name, token), json.dumps(marker).encode())
        return OpenDalStagedModel(self, model_name, token)

    def open_writer(self, staged: OpenDalStagedModel, model_name: str, name: str) -> OpenDalObjectWriter:
        subject = f"{name} of model {model_name}"
        options = self._upload
        file = call(
            lambda: self._op.open(
                f"{model_name}/{name}", "wb", chunk=options.part_bytes, concurrent=options.part_concurrency
            ),
            subject,
            verb="written",
            bucket_label=_BUCKET_LABEL,
        )
        return OpenDalObjectWriter(file, name, subject, options, staged)

    def publish(self, model_name: str, token: str, written: dict[str, int], manifest: bytes) -> None:
        for listed in self._list(f"{model_name}/", recursive=True):
            name = listed.path[len(model_name) + 1 :]
            if name not in written and name != MANIFEST_NAME:
                self._delete(listed.path)  # left by an earlier attempt of this job
        for name, size in sorted(written.items()):
            path = f"{model_name}/{name}"
            subject = f"{name} of model {model_name}"
            try:
                actual = self._op.stat(path).content_length
            except opendal_errors.NotFound:
                raise StorageError(f"{subject} disappeared before the model was published.") from None
            except OPENDAL_ERRORS as error:
                raise translate(error, subject, verb="read", bucket_label=_BUCKET_LABEL) from None
            if actual != size:
                raise StorageError(f"{subject} holds {actual} bytes, not the {size} this attempt wrote.")
        self._write_small(_manifest(model_name), manifest)
        self._delete(_marker(model_name, token))

    def abort(self, model_name: str, token: str) -> None:
        """Best effort, like removing a local staging folder: what a failure leaves behind keeps its
        marker, so the sweep removes it later, and the caller's own error is not masked."""
        own = _marker(model_name, token)
        try:
            others = [marker for marker in self._markers(model_name) if marker != own]
            # Another attempt's marker means its data may share the prefix: leave the prefix to that
            # attempt, or to the sweep once no attempt of the job runs.
            if not others and self.read_manifest(model_name) is None:
                self._delete_tree(model_name)
            self._delete(own)
        except StorageError as error:
            logger.warning("could not remove the staged data of %s; the sweep will: %s", model_name, error)

    # -- reading ------------------------------------------------------------------------------------

    def read_manifest(self, model_name: str) -> bytes | None:
        check_plain_name(model_name)
        try:
            data: bytes = self._op.read(_manifest(model_name))
        except opendal_errors.NotFound:
            return None
        except OPENDAL_ERRORS as error:
            raise translate(
                error, f"the manifest of model {model_name}", verb="read", bucket_label=_BUCKET_LABEL
            ) from None
        return data

    def open(self, model_name: str, name: str) -> OpenDalRangeReader:
        check_plain_name(model_name)
        check_plain_name(name)
        return open_reader(
            self._op, f"{model_name}/{name}", subject=f"{name} of model {model_name}", bucket_label=_BUCKET_LABEL
        )

    # -- removal and sweeping -----------------------------------------------------------------------

    def delete(self, model_name: str) -> None:
        check_plain_name(model_name)
        self._delete(_manifest(model_name))  # readers stop seeing the model at once
        self._delete_tree(model_name)
        for marker in self._markers(model_name):
            self._delete(marker)

    def model_names(self) -> list[str]:
        names = set()
        for listed in self._list("", recursive=False):
            name = listed.path.rstrip("/")
            if listed.path.endswith("/") and name and not name.startswith(".") and "/" not in name:
                names.add(name)
        return sorted(names)

    def staged_model_names(self) -> list[str]:
        return sorted({_marker_owner(listed.path) for listed in self._list(STAGING_PREFIX, recursive=False)} - {""})

    def sweep_staging(self, model_name: str) -> int:
        check_plain_name(model_name)
        markers = self._markers(model_name)
        if not markers:
            return 0
        if self.read_manifest(model_name) is None:
            self._delete_tree(model_name)
        for marker in markers:
            self._delete(marker)
        return len(markers)

    # -- small operations ---------------------------------------------------------------------------

    def _markers(self, model_name: str) -> list[str]:
        return [
            listed.path
            for listed in self._list(STAGING_PREFIX, recursive=False)
            if _marker_owner(listed.path) == model_name
        ]

    def _list(self, path: str, *, recursive: bool) -> list[Listed]:
        return call(
            lambda: list_paths(self._operators, path, recursive=recursive, limit=_MANY),
            f"the model store ({path or 'root'})",
            verb="listed",
            bucket_label=_BUCKET_LABEL,
        )

    def _write_small(self, path: str, data: bytes) -> None:
        call(
            lambda: self._op.write(path, data), f"{path} in the model store", verb="written", bucket_label=_BUCKET_LABEL
        )

    def _delete(self, path: str) -> None:
        call(lambda: self._op.delete(path), f"{path} in the model store", verb="deleted", bucket_label=_BUCKET_LABEL)

    def _delete_tree(self, model_name: str) -> None:
        path = f"{model_name}/"
        call(
            lambda: self._op.delete(path, recursive=True),
            f"model {model_name}",
            verb="deleted",
            bucket_label=_BUCKET_LABEL,
        )


def _manifest(model_name: str) -> str:
    return f"{model_name}/{MANIFEST_NAME}"


def _marker(model_name: str, token: str) -> str:
    return f"{STAGING_PREFIX}{model_name}.{token}"


def _marker_owner(path: str) -> str:
    name = path[len(STAGING_PREFIX) :] if path.startswith(STAGING_PREFIX) else ""
    if not name or "/" in name or "." not in name:
        return ""
    return name.rsplit(".", 1)[0]
