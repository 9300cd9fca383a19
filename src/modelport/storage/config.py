"""Storage configuration: the embedded default, or the buckets and model store a TOML file names.

Without `MODELPORT_CONFIG`, bucket NAME is the folder `<data_dir>/buckets/NAME/` and the model store
is `<data_dir>/models/`. With it, only the `[buckets.NAME]` tables exist, each a local folder
(`file:///...`), an S3-compatible bucket (`s3://bucket/prefix/`) or an Alibaba OSS bucket
(`oss://bucket/prefix/`); `[model_store]` takes the same URLs, and without it the model store
stays `<data_dir>/models/`.

The whole file is checked once at start-up, credentials included: every problem is a
`StorageConfigError` naming the file, the table, the key and what is wrong, and never a credential.
Credentials are given by reference, `{ env = "NAME" }` or `{ file = "/run/secrets/name" }`; a literal
string works but is logged as discouraged (the log names the key, not the value).
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from modelport.domain.storage_names import is_bucket_name
from modelport.settings import Settings
from modelport.storage.interface import ModelStore, SourceBucket, StorageError
from modelport.storage.local_bucket import LocalBucket
from modelport.storage.local_models import LocalModelStore
from modelport.storage.opendal_access import ObjectStoreSpec, Secret, Service, open_operators
from modelport.storage.opendal_bucket import OpenDalBucket, is_safe_key
from modelport.storage.opendal_models import MAX_PART_BYTES, MIN_PART_BYTES, OpenDalModelStore, UploadOptions
from modelport.storage.registry import StorageRegistry

logger = logging.getLogger("modelport.storage")

_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
MAX_PART_CONCURRENCY = 64

_S3_KEYS = frozenset(
    {"url", "endpoint", "region", "access_key_id", "secret_access_key", "session_token", "virtual_host_style"}
)
_OSS_KEYS = frozenset({"url", "endpoint", "access_key_id", "access_key_secret", "security_token"})
_FILE_KEYS = frozenset({"url"})
_UPLOAD_KEYS = frozenset({"part_size", "part_concurrency"})
_SECRET_NAMES = {"s3": "secret_access_key", "oss": "access_key_secret"}
_TOKEN_NAMES = {"s3": "session_token", "oss": "security_token"}


class StorageConfigError(ValueError):
    """The config file is unusable; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Backend:
    """Where one bucket or the model store lives: a local folder or an object-store bucket."""

    folder: Path | None = None
    spec: ObjectStoreSpec | None = None


@dataclass(frozen=True)
class StorageConfig:
    buckets: dict[str, Backend]
    model_store: Backend | None
    upload: UploadOptions


def build_storage(settings: Settings, environ: Mapping[str, str] | None = None) -> StorageRegistry:
    """The registry for `settings`; credentials referenced by the config file are read from `environ`
    (the process environment by default) here, once, at start-up."""
    if settings.config_path is None:
        return StorageRegistry(
            model_store=LocalModelStore(settings.models_dir),
            local_buckets_root=settings.buckets_dir,
        )
    config = load_config(settings.config_path, os.environ if environ is None else environ)
    where = str(settings.config_path)
    buckets: dict[str, SourceBucket] = {}
    for name, backend in config.buckets.items():
        buckets[name] = _open_bucket(where, name, backend)
    store: ModelStore = LocalModelStore(settings.models_dir)
    if config.model_store is not None:
        store = _open_store(where, config.model_store, config.upload)
    return StorageRegistry(model_store=store, buckets=buckets)


def load_config(path: Path, environ: Mapping[str, str]) -> StorageConfig:
    return _Parser(path, environ).parse()


def _open_bucket(where: str, name: str, backend: Backend) -> SourceBucket:
    if backend.folder is not None:
        return LocalBucket(name, backend.folder)
    assert backend.spec is not None
    try:
        return OpenDalBucket(name, backend.spec, open_operators(backend.spec))
    except StorageError as error:
        raise StorageConfigError(f"{where}: [buckets.{name}]: {error}") from None


def _open_store(where: str, backend: Backend, upload: UploadOptions) -> ModelStore:
    if backend.folder is not None:
        return LocalModelStore(backend.folder)
    assert backend.spec is not None
    try:
        return OpenDalModelStore(backend.spec, upload, open_operators(backend.spec))
    except StorageError as error:
        raise StorageConfigError(f"{where}: [model_store]: {error}") from None


class _Parser:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self._path = path
        self._environ = environ

    def fail(self, where: str, problem: str) -> StorageConfigError:
        return StorageConfigError(f"{self._path}: {where}: {problem}")

    def parse(self) -> StorageConfig:
        try:
            with self._path.open("rb") as handle:
                document = tomllib.load(handle)
        except OSError as error:
            raise StorageConfigError(f"{self._path}: cannot be read ({error.strerror}).") from None
        except tomllib.TOMLDecodeError as error:
            raise StorageConfigError(f"{self._path}: is not valid TOML ({error}).") from None
        unknown = sorted(set(document) - {"model_store", "buckets"})
        if unknown:
            raise self.fail("top level", f"unknown table(s) {_names(unknown)}; allowed: [model_store], [buckets.NAME].")
        buckets = document.get("buckets", {})
        if not isinstance(buckets, dict):
            raise self.fail("[buckets]", "must be a table of [buckets.NAME] tables.")
        parsed: dict[str, Backend] = {}
        for name, table in buckets.items():
            where = f"[buckets.{name}]"
            # What clients send as storage_info.bucket_name, so the same OSS rule.
            if not is_bucket_name(name):
                raise self.fail(
                    where,
                    "a bucket name is what clients send as storage_info.bucket_name, so it follows the OSS rule: "
                    "3 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit.",
                )
            if not isinstance(table, dict):
                raise self.fail(where, "must be a table with at least a url.")
            parsed[name] = self._backend(where, table, model_store=False)
        store_table = document.get("model_store")
        model_store: Backend | None = None
        upload = UploadOptions()
        if store_table is not None:
            if not isinstance(store_table, dict):
                raise self.fail("[model_store]", "must be a table with at least a url.")
            model_store = self._backend("[model_store]", store_table, model_store=True)
            upload = self._upload("[model_store]", store_table, upload)
        return StorageConfig(buckets=parsed, model_store=model_store, upload=upload)

    def _backend(self, where: str, table: dict[str, Any], *, model_store: bool) -> Backend:
        if "url" not in table:
            raise self.fail(where, "url is missing (file:///path, s3://bucket/prefix/ or oss://bucket/prefix/).")
        url = table["url"]
        if not isinstance(url, str):
            raise self.fail(f"{where} url", "must be a string.")
        scheme = url.partition("://")[0].lower()
        allowed = {"s3": _S3_KEYS, "oss": _OSS_KEYS, "file": _FILE_KEYS}.get(scheme)
        if allowed is None:
            raise self.fail(f"{where} url", f"must start with file://, s3:// or oss://; got {_shown(url)}.")
        if model_store and scheme != "file":
            allowed = allowed | _UPLOAD_KEYS
        self._check_keys(where, scheme, table, allowed)
        if scheme == "file":
            return Backend(folder=self._folder(where, url))
        return Backend(spec=self._object_store(where, scheme, url, table))

    def _check_keys(self, where: str, scheme: str, table: dict[str, Any], allowed: frozenset[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if not unknown:
            return
        other_spelling = {"s3": "access_key_secret", "oss": "secret_access_key"}.get(scheme)
        if other_spelling in unknown:
            raise self.fail(f"{where} {other_spelling}", f"{scheme}:// calls its secret {_SECRET_NAMES[scheme]}.")
        raise self.fail(where, f"unknown key(s) {_names(unknown)} for a {scheme}:// URL; allowed: {_names(allowed)}.")

    def _folder(self, where: str, url: str) -> Path:
        parts = urlsplit(url)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment or not path.startswith("/"):
            raise self.fail(f"{where} url", f"a folder is file:///absolute/path; got {_shown(url)}.")
        return Path(path)

    def _object_store(self, where: str, scheme: str, url: str, table: dict[str, Any]) -> ObjectStoreSpec:
        service: Service = "s3" if scheme == "s3" else "oss"
        parts = urlsplit(url)
        if "@" in parts.netloc:
            raise self.fail(f"{where} url", "must not hold credentials; give access_key_id and its secret as keys.")
        if parts.query or parts.fragment or ":" in parts.netloc:
            raise self.fail(f"{where} url", f"must be {scheme}://bucket/optional/prefix/; got {_shown(url)}.")
        bucket = parts.netloc
        valid = _S3_BUCKET.fullmatch(bucket) is not None if scheme == "s3" else is_bucket_name(bucket)
        if not valid:
            raise self.fail(f"{where} url", f"{bucket!r} is not a valid {scheme} bucket name.")
        root = unquote(parts.path).strip("/")
        if root and not is_safe_key(root):
            raise self.fail(f"{where} url", "the prefix must not contain empty, '.' or '..' segments.")
        endpoint = self._endpoint(where, table.get("endpoint"))
        if scheme == "oss" and endpoint is None:
            raise self.fail(where, "endpoint is required for oss:// (e.g. https://oss-cn-beijing.aliyuncs.com).")
        region = table.get("region")
        if region is not None and (not isinstance(region, str) or not region):
            raise self.fail(f"{where} region", "must be a non-empty string.")
        if scheme == "s3" and endpoint is None and region is None:
            raise self.fail(where, 'region is required for AWS S3 (no endpoint given), e.g. region = "us-east-1".')
        virtual = table.get("virtual_host_style", False)
        if not isinstance(virtual, bool):
            raise self.fail(f"{where} virtual_host_style", "must be true or false.")
        key_id = self._secret(where, "access_key_id", table.get("access_key_id"))
        secret_name = _SECRET_NAMES[scheme]
        secret = self._secret(where, secret_name, table.get(secret_name))
        token = self._secret(where, _TOKEN_NAMES[scheme], table.get(_TOKEN_NAMES[scheme]))
        if (key_id is None) != (secret is None):
            raise self.fail(where, f"give both access_key_id and {secret_name}, or neither (the default chain).")
        if token is not None and key_id is None:
            raise self.fail(where, f"{_TOKEN_NAMES[scheme]} needs access_key_id and {secret_name} too.")
        return ObjectStoreSpec(
            service=service,
            bucket=bucket,
            root=f"{root}/" if root else "",
            endpoint=endpoint,
            region=region,
            access_key_id=key_id,
            secret_key=secret,
            session_token=token,
            virtual_host_style=virtual,
        )

    def _endpoint(self, where: str, value: Any) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(f"{where} endpoint", "must be an http:// or https:// URL.")
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise self.fail(f"{where} endpoint", "must be scheme://host[:port] only, no credentials.")
        try:
            parts.port  # noqa: B018 - a bad port raises here
        except ValueError:
            raise self.fail(f"{where} endpoint", "has an invalid port.") from None
        return str(value).rstrip("/")

    def _secret(self, where: str, key: str, value: Any) -> Secret | None:
        if value is None:
            return None
        if isinstance(value, str):
            if not value:
                raise self.fail(f"{where} {key}", "is empty.")
            logger.warning('%s: %s %s is a literal credential; prefer { env = "NAME" }.', self._path, where, key)
            return Secret(value)
        if not isinstance(value, dict) or len(value) != 1 or not ({"env", "file"} & set(value)):
            raise self.fail(f"{where} {key}", 'must be { env = "NAME" }, { file = "/path" } or a string.')
        ((kind, reference),) = value.items()
        if not isinstance(reference, str) or not reference:
            raise self.fail(f"{where} {key}", f"{kind} must be a non-empty string.")
        if kind == "env":
            found = self._environ.get(reference)
            if not found:
                raise self.fail(f"{where} {key}", f"the environment variable {reference} is not set (or empty).")
            return Secret(found)
        path = Path(reference)
        if not path.is_absolute():
            path = self._path.parent / path
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise self.fail(f"{where} {key}", f"cannot read {path} ({reason}).") from None
        if not text:
            raise self.fail(f"{where} {key}", f"{path} is empty.")
        return Secret(text)

    def _upload(self, where: str, table: dict[str, Any], default: UploadOptions) -> UploadOptions:
        part_bytes = default.part_bytes
        raw = table.get("part_size")
        if raw is not None:
            part_bytes = self._size(f"{where} part_size", raw)
            if not MIN_PART_BYTES <= part_bytes <= MAX_PART_BYTES:
                raise self.fail(f"{where} part_size", "must be between 5 MiB and 5 GiB (the S3 and OSS part limits).")
        concurrency = table.get("part_concurrency", default.part_concurrency)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise self.fail(f"{where} part_concurrency", "must be an integer.")
        if not 1 <= concurrency <= MAX_PART_CONCURRENCY:
            raise self.fail(f"{where} part_concurrency", f"must be between 1 and {MAX_PART_CONCURRENCY}.")
        return UploadOptions(part_bytes=part_bytes, part_concurrency=concurrency)

    def _size(self, where: str, raw: Any) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        match = _SIZE.match(raw) if isinstance(raw, str) else None
        if match is None:
            raise self.fail(where, 'must be a byte count or a size like "16MiB" (units B, KiB, MiB, GiB).')
        return int(match.group(1)) * _UNITS[match.group(2)]


def _names(names: Any) -> str:
    return ", ".join(sorted(names))


def _shown(url: str) -> str:
    """The URL for an error message, without anything that could be a credential."""
    scheme, separator, rest = url.rpartition("://")
    return repr(f"{scheme}{separator}{rest.rsplit('@', 1)[-1]}")
