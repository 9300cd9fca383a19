"""Blob-store helpers for tests: write a file into a staged model through the real sink, and check a
model store's blobs against its manifests (the invariant every crash test ends with)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from modelport.pipeline.blob_sink import BlobSink
from modelport.storage.blob_ledger import BLOBS, CLAIMS, REFS, BlobLedger, BlobRecord
from modelport.storage.interface import ModelStore, StagedModel

MIB = 1024 * 1024


def write_file(staged: StagedModel, name: str, data: bytes, *, chunk: int = MIB) -> tuple[BlobRecord, int]:
    """Copy `data` as file `name` the way the copier does; returns its blob and the bytes written."""
    sink = BlobSink(staged, name, len(data), chunk_bytes=chunk)
    try:
        for offset in range(0, len(data), chunk):
            sink.feed(data[offset : offset + chunk])
        record = sink.finish()
    except BaseException:
        sink.abort()
        raise
    return record, sink.bytes_written


def manifest_bytes(files: dict[str, tuple[BlobRecord, bytes]]) -> bytes:
    """A minimal manifest naming each file's blob (what the importer writes, less the metadata)."""
    entries = [
        {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "blob": record.key}
        for name, (record, data) in sorted(files.items())
    ]
    document = {
        "format": "modelport.manifest/v1", "model_name": "m", "job_id": "j", "display_name": "d",
        "base_model": "b", "weight_type": "lora", "source": {"bucket_name": "b", "object_key": "k/"},
        "created_at": "t", "imported_at": "t", "files": entries, "total_bytes": 0, "summary": {},
    }  # fmt: skip
    return json.dumps(document).encode()


@dataclass(frozen=True)
class Inventory:
    blobs: dict[str, int]  # blob key -> size of its data
    records: set[str]
    markers: list[str]
    refs: dict[str, set[str]]  # blob key -> holders (model.token)
    claims: list[str]


def inventory(ledger: BlobLedger) -> Inventory:
    space = ledger.space
    blobs: dict[str, int] = {}
    records: set[str] = set()
    markers = []
    for key in space.keys(BLOBS):
        name = key[len(BLOBS) :]
        if ".doomed." in name:
            markers.append(name)
        elif name.endswith(".json"):
            records.add(name[: -len(".json")])
        else:
            blobs[name] = space.size(key) or 0
    refs: dict[str, set[str]] = {}
    for key in space.keys(REFS):
        blob, _, holder = key[len(REFS) :].rpartition("/")
        refs.setdefault(blob, set()).add(holder)
    return Inventory(blobs, records, markers, refs, space.keys(CLAIMS))


def assert_blobs_match_manifests(store: ModelStore, ledger: BlobLedger, models: set[str]) -> Inventory:
    """Every blob a manifest of `models` names exists, committed, with that manifest's SHA-256; every
    blob and reference left belongs to one of those manifests; no claim or doomed marker remains."""
    found = inventory(ledger)
    named: dict[str, set[str]] = {}
    for model in models:
        raw = store.read_manifest(model)
        assert raw is not None, f"{model} has no manifest"
        for entry in json.loads(raw)["files"]:
            blob = entry["blob"]
            named.setdefault(blob, set()).add(model)
            reader = store.open(model, entry["path"])
            try:
                data = reader.read(0, reader.size)
            finally:
                reader.close()
            assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert found.blobs.get(blob) == entry["size"] and blob in found.records, f"{blob} of {model}"
    assert set(found.blobs) == set(named), "a blob no manifest names survived (or a named one is missing)"
    assert found.records == set(named)
    for blob, holders in found.refs.items():
        assert {h.rsplit(".", 1)[0] for h in holders} <= named.get(blob, set()), f"stray reference to {blob}"
    for blob, models_naming in named.items():
        assert models_naming <= {h.rsplit(".", 1)[0] for h in found.refs.get(blob, set())}, f"{blob} unprotected"
    assert found.claims == [] and found.markers == []
    return found
