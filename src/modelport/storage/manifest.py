"""The manifest of a published model: what was imported, from where, and every file with its size
and SHA-256. Written last, it is the model's commit marker in every store (`MANIFEST_NAME`); the
serving integrations and `modelport pull` verify files against it.

Each file also names the blob that holds its bytes (`blob`, see storage/blob_ledger): readers go
through `ModelStore.open(model, path)`, which resolves it. Manifests written before blobs existed
have no `blob` and their files sit under the model's own prefix.

It serialises itself as strict JSON: NaN and Infinity cannot be written (they are not JSON, and a
manifest a reader cannot parse would make its model unreadable for good), and `from_bytes` reads
it back with the same strict parser as every other document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from modelport.strict_json import JsonFileError, parse_json

MANIFEST_FORMAT: Final = "modelport.manifest/v1"


class ManifestError(ValueError):
    """A manifest that cannot be read; the message says why."""


@dataclass(frozen=True)
class ManifestFile:
    path: str
    size: int
    sha256: str
    blob: str | None = None  # the blob key in the model store; None in manifests older than blobs

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"path": self.path, "size": self.size, "sha256": self.sha256}
        if self.blob is not None:
            body["blob"] = self.blob
        return body


@dataclass(frozen=True)
class Manifest:
    model_name: str
    job_id: str
    display_name: str
    base_model: str
    weight_type: str
    bucket_name: str
    object_key: str
    created_at: str
    imported_at: str
    files: tuple[ManifestFile, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)
    ignored_files: tuple[tuple[str, str], ...] = ()  # (path, reason)
    warnings: tuple[Mapping[str, Any], ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)

    def blob_keys(self) -> frozenset[str]:
        return frozenset(entry.blob for entry in self.files if entry.blob is not None)

    def file(self, path: str) -> ManifestFile | None:
        return next((entry for entry in self.files if entry.path == path), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "model_name": self.model_name,
            "job_id": self.job_id,
            "display_name": self.display_name,
            "base_model": self.base_model,
            "weight_type": self.weight_type,
            "source": {"bucket_name": self.bucket_name, "object_key": self.object_key},
            "created_at": self.created_at,
            "imported_at": self.imported_at,
            "files": [entry.to_json() for entry in self.files],
            "total_bytes": self.total_bytes,
            "summary": dict(self.summary),
            "ignored_files": [{"path": path, "reason": reason} for path, reason in self.ignored_files],
            "warnings": [dict(warning) for warning in self.warnings],
        }

    def to_bytes(self) -> bytes:
        """Strict JSON; raises ValueError rather than write a non-finite number."""
        return json.dumps(self.to_json(), indent=2, allow_nan=False, ensure_ascii=False).encode("utf-8") + b"\n"

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            document = parse_json(raw)
        except JsonFileError as error:
            raise ManifestError(f"the manifest {error}") from None
        try:
            return cls._from_json(document)
        except (KeyError, TypeError, ValueError) as error:
            raise ManifestError(f"the manifest is not a {MANIFEST_FORMAT} document ({error!r})") from None

    @classmethod
    def _from_json(cls, document: Any) -> Manifest:
        if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is not {MANIFEST_FORMAT}")
        files = tuple(
            ManifestFile(
                path=_text(entry["path"]),
                size=_count(entry["size"]),
                sha256=_text(entry["sha256"]),
                blob=_text(entry["blob"]) if "blob" in entry else None,
            )
            for entry in document["files"]
        )
        source = document["source"]
        return cls(
            model_name=_text(document["model_name"]),
            job_id=_text(document["job_id"]),
            display_name=_text(document["display_name"]),
            base_model=_text(document["base_model"]),
            weight_type=_text(document["weight_type"]),
            bucket_name=_text(source["bucket_name"]),
            object_key=_text(source["object_key"]),
            created_at=_text(document["created_at"]),
            imported_at=_text(document["imported_at"]),
            files=files,
            summary=dict(document.get("summary") or {}),
            ignored_files=tuple((_text(e["path"]), _text(e["reason"])) for e in document.get("ignored_files", ())),
            warnings=tuple(dict(w) for w in document.get("warnings", ())),
        )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {type(value).__name__}")
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"expected a size, found {value!r}")
    return value
