"""How modelport talks to object storage through Apache OpenDAL: an operator built from a spec,
ranged reads, and OpenDAL errors turned into safe sentences (listings: `opendal_listing`).

Nothing here signs requests: OpenDAL's `s3` and `oss` services do. Messages built here reach users
and logs, so they name a location (`oss://bucket/key`) and at most the server's error code and
request id; never an endpoint, a credential or OpenDAL's own text (which embeds URLs and responses).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import opendal
from opendal import exceptions as opendal_errors
from opendal.layers import RetryLayer, TimeoutLayer

from modelport.storage.interface import BucketNotFound, ObjectChanged, ObjectVersion, StorageError, StorageUnavailable

Service = Literal["s3", "oss"]

# Every exception class the binding raises; they share no base class besides Exception.
OPENDAL_ERRORS: tuple[type[Exception], ...] = (
    opendal_errors.Error,
    opendal_errors.Unexpected,
    opendal_errors.Unsupported,
    opendal_errors.ConfigInvalid,
    opendal_errors.NotFound,
    opendal_errors.PermissionDenied,
    opendal_errors.IsADirectory,
    opendal_errors.NotADirectory,
    opendal_errors.AlreadyExists,
    opendal_errors.IsSameFile,
    opendal_errors.ConditionNotMatch,
    opendal_errors.RateLimited,
    opendal_errors.RangeNotSatisfied,
    opendal_errors.Conflict,
)
_SERVER_CODE = re.compile(r'\bcode: "([A-Za-z][A-Za-z0-9.]{0,63})"')
_REQUEST_ID = re.compile(r'\brequest_id: "([A-Za-z0-9._+/=-]{1,128})"')
_T = TypeVar("_T")

# Control requests (stat, list, delete) and each read or part upload get their own deadline, and a
# temporary failure (connection reset, 5xx, throttling) is retried before it reaches the job.
CONTROL_TIMEOUT_SECONDS = 60.0
IO_TIMEOUT_SECONDS = 120.0
RETRIES = 4


class Secret:
    """A credential: kept out of reprs, str() and tracebacks' locals; `reveal()` only for OpenDAL."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class ObjectStoreSpec:
    """One bucket on an S3-compatible service or on Alibaba OSS, and a root prefix inside it."""

    service: Service
    bucket: str
    root: str  # "" or "some/prefix/"
    endpoint: str | None = None
    region: str | None = None
    access_key_id: Secret | None = None
    secret_key: Secret | None = None
    session_token: Secret | None = None
    virtual_host_style: bool = False

    @property
    def url(self) -> str:
        return f"{self.service}://{self.bucket}/{self.root}"


@dataclass(frozen=True)
class Operators:
    """The same storage seen by the blocking API (reads, writes) and the async one (listings)."""

    blocking: opendal.Operator
    listing: opendal.AsyncOperator


def open_operators(spec: ObjectStoreSpec) -> Operators:
    options: dict[str, str] = {"bucket": spec.bucket, "root": "/" + spec.root}
    if spec.endpoint is not None:
        options["endpoint"] = spec.endpoint
    if spec.service == "s3":
        # S3-compatible servers want some signing region; AWS itself needs the real one (checked in config).
        options["region"] = spec.region or "us-east-1"
        if spec.virtual_host_style:
            options["enable_virtual_host_style"] = "true"
        if spec.access_key_id is not None and spec.secret_key is not None:
            # Explicit keys only: no ~/.aws files, no AWS_* variables, no instance metadata mixed in.
            options["disable_config_load"] = "true"
            options["disable_ec2_metadata"] = "true"
            options["access_key_id"] = spec.access_key_id.reveal()
            options["secret_access_key"] = spec.secret_key.reveal()
            if spec.session_token is not None:
                options["session_token"] = spec.session_token.reveal()
    elif spec.access_key_id is not None and spec.secret_key is not None:
        options["access_key_id"] = spec.access_key_id.reveal()
        options["access_key_secret"] = spec.secret_key.reveal()
        if spec.session_token is not None:
            options["security_token"] = spec.session_token.reveal()
    try:
        operator = opendal.Operator(spec.service, **options)
    except OPENDAL_ERRORS:
        raise StorageError(f"{spec.url} cannot be opened: the storage library refused its settings.") from None
    layered = operator.layer(TimeoutLayer(timeout=CONTROL_TIMEOUT_SECONDS, io_timeout=IO_TIMEOUT_SECONDS)).layer(
        RetryLayer(max_times=RETRIES, jitter=True, min_delay=0.2, max_delay=5.0)
    )
    return Operators(blocking=layered, listing=layered.to_async_operator())


def server_detail(error: Exception) -> str | None:
    """'NoSuchKey, request id 4F2A...' from an OpenDAL error, or None: only vetted tokens are kept."""
    text = str(error)
    code = _SERVER_CODE.search(text)
    if code is None:
        return None
    request_id = _REQUEST_ID.search(text)
    return f"{code.group(1)}, request id {request_id.group(1)}" if request_id else code.group(1)


def is_missing_bucket(error: Exception) -> bool:
    code = _SERVER_CODE.search(str(error))
    return code is not None and code.group(1) == "NoSuchBucket"


def translate(error: Exception, subject: str, *, verb: str, bucket_label: str) -> StorageError:
    """A safe StorageError for `error`, raised while doing `verb` ('read', 'listed', ...) on `subject`."""
    detail = server_detail(error)
    suffix = f" ({detail})" if detail else ""
    if is_missing_bucket(error):
        return BucketNotFound(f"The bucket {bucket_label} does not exist{suffix}.")
    if isinstance(error, opendal_errors.NotFound):
        return StorageError(f"{subject} does not exist.")
    if isinstance(error, opendal_errors.PermissionDenied):
        return StorageUnavailable(f"Access to {subject} was denied{suffix}.")
    if isinstance(error, opendal_errors.ConditionNotMatch | opendal_errors.RangeNotSatisfied):
        return ObjectChanged(f"{subject} changed while it was being {verb}.")
    if isinstance(error, opendal_errors.RateLimited):
        return StorageUnavailable(f"{subject} cannot be {verb} now: the storage service is throttling requests.")
    if "failed to load signing credential" in str(error):
        return StorageUnavailable(f"{subject} cannot be {verb}: modelport found no credentials for this bucket.")
    reason = detail or "the storage service did not answer as expected"
    return StorageUnavailable(f"{subject} cannot be {verb} ({reason}).")


def call(action: Callable[[], _T], subject: str, *, verb: str, bucket_label: str) -> _T:
    try:
        return action()
    except OPENDAL_ERRORS as error:
        raise translate(error, subject, verb=verb, bucket_label=bucket_label) from None


class OpenDalRangeReader:
    """Ranged reads of one object, safe to call from many threads at once (the copier's window).

    Every read carries the version and ETag seen when the object was opened (or pinned by the
    inspection), so all chunks come from one version of the object: a versioned bucket serves the
    pinned version even after an overwrite, and elsewhere a replaced object fails the read with
    ObjectChanged instead of splicing two versions.
    """

    def __init__(
        self,
        operator: opendal.Operator,
        path: str,
        *,
        size: int,
        identity: ObjectVersion,
        subject: str,
        bucket_label: str,
    ) -> None:
        self._operator = operator
        self._path = path
        self._subject = subject
        self._bucket_label = bucket_label
        self.size = size
        self.identity = identity

    def read(self, offset: int, length: int) -> bytes:
        length = min(length, self.size - offset)
        if length <= 0:
            return b""
        try:
            data: bytes = self._operator.read(
                self._path, offset=offset, size=length, version=self.identity.version, if_match=self.identity.etag
            )
            return data
        except opendal_errors.Unexpected as error:
            if "too little data" in str(error):
                raise ObjectChanged(f"{self._subject} changed while it was being read (it is shorter now).") from None
            raise translate(error, self._subject, verb="read", bucket_label=self._bucket_label) from None
        except OPENDAL_ERRORS as error:
            raise translate(error, self._subject, verb="read", bucket_label=self._bucket_label) from None

    def close(self) -> None:
        """Nothing to release: each read is one request."""


def open_reader(
    operator: opendal.Operator,
    path: str,
    *,
    subject: str,
    bucket_label: str,
    pinned: ObjectVersion | None = None,
) -> OpenDalRangeReader:
    """A reader of `path`; with `pinned`, of that version, or ObjectChanged if it is gone."""
    if pinned is not None and pinned.version is not None:
        version = pinned.version
        metadata = call(lambda: operator.stat(path, version=version), subject, verb="read", bucket_label=bucket_label)
    else:
        metadata = call(lambda: operator.stat(path), subject, verb="read", bucket_label=bucket_label)
    if metadata.is_dir:
        raise StorageError(f"{subject} is not a regular file.")
    identity = ObjectVersion(etag=metadata.etag, version=metadata.version)
    if pinned is not None and pinned.etag is not None and identity.etag != pinned.etag:
        raise ObjectChanged(f"{subject} changed since it was validated (its ETag is now {identity.etag}).")
    return OpenDalRangeReader(
        operator, path, size=metadata.content_length, identity=identity, subject=subject, bucket_label=bucket_label
    )
