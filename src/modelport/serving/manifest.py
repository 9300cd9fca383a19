"""Reading a published model's manifest (format modelport.manifest/v1) for the serving side.

The manifest is what the gate vouched for: the model's base, its weight type and every file with
its size and SHA-256. Serving code trusts nothing else about a model, so this parser is strict: a
manifest it cannot fully read is refused, never half-used. Only the fields serving needs are
read; the rest (report summary, warnings) stays the importer's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modelport.storage.interface import MANIFEST_NAME, ModelStore, StorageError
from modelport.storage.local_models import check_plain_name
from modelport.strict_json import JsonFileError, parse_json

FORMAT = "modelport.manifest/v1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A manifest is unusable; the message says which model and what is wrong."""


@dataclass(frozen=True)
class ManifestFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    model_name: str
    job_id: str
    base_model: str
    weight_type: str
    files: tuple[ManifestFile, ...]
    raw: bytes

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def read_manifest(store: ModelStore, model_name: str) -> Manifest | None:
    """The published manifest of `model_name`, or None when the store has none (never imported,
    not SUCCESSED, or deleted: a model without a manifest does not exist)."""
    try:
        check_plain_name(model_name)
    except StorageError:
        return None
    raw = store.read_manifest(model_name)
    if raw is None:
        return None
    return parse_manifest(model_name, raw)


def parse_manifest(model_name: str, raw: bytes) -> Manifest:
    try:
        document = parse_json(raw)
    except JsonFileError as error:
        raise ManifestError(f"The manifest of {model_name} {error}.") from None
    if not isinstance(document, dict):
        raise ManifestError(f"The manifest of {model_name} is not a JSON object.")
    if document.get("format") != FORMAT:
        raise ManifestError(f"The manifest of {model_name} has format {document.get('format')!r}, not {FORMAT!r}.")
    fields = {key: _string(model_name, document, key) for key in ("model_name", "job_id", "base_model", "weight_type")}
    if fields["model_name"] != model_name:
        raise ManifestError(f"The manifest of {model_name} names another model, {fields['model_name']!r}.")
    if fields["weight_type"] not in ("lora", "full"):
        raise ManifestError(f"The manifest of {model_name} has weight_type {fields['weight_type']!r}.")
    files = document.get("files")
    if not isinstance(files, list) or not files:
        raise ManifestError(f"The manifest of {model_name} lists no files.")
    parsed = tuple(_file(model_name, entry) for entry in files)
    if len({f.path for f in parsed}) != len(parsed):
        raise ManifestError(f"The manifest of {model_name} lists a file twice.")
    return Manifest(files=parsed, raw=raw, **fields)


def _string(model_name: str, document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise ManifestError(f"The manifest of {model_name} has no {key}.")
    return value


def _file(model_name: str, entry: Any) -> ManifestFile:
    if not isinstance(entry, dict):
        raise ManifestError(f"The manifest of {model_name} has a file entry that is not an object.")
    path, size, digest = entry.get("path"), entry.get("size"), entry.get("sha256")
    if not isinstance(path, str) or path == MANIFEST_NAME:
        raise ManifestError(f"The manifest of {model_name} has a file entry without a usable path.")
    try:
        check_plain_name(path)  # a file name, never a path out of the model's folder
    except StorageError:
        raise ManifestError(f"The manifest of {model_name} lists {path!r}, which is not a plain file name.") from None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ManifestError(f"The manifest of {model_name} gives {path} no valid size.")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ManifestError(f"The manifest of {model_name} gives {path} no valid sha256.")
    return ManifestFile(path=path, size=size, sha256=digest)
