"""The blob ledger on both model stores, a local folder and an S3-protocol server (moto): one copy of
identical files, models that share blobs deleted one at a time, files that diverge after their
first segment, interrupted attempts, races with the collector, and the reaper's backstop."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.storage import blob_ledger
from modelport.storage.blob_ledger import BLOBS, SEGMENT_BYTES, BlobLedger, parse_blob_key
from modelport.storage.interface import StorageError
from modelport.storage.local_models import LocalModelStore
from modelport.storage.opendal_models import MIB, OpenDalModelStore, UploadOptions
from tests.support import s3_server as moto
from tests.support.blobs import assert_blobs_match_manifests, inventory, manifest_bytes, write_file
from tests.support.s3_server import S3Server

s3_server = moto.s3_server

Store = LocalModelStore | OpenDalModelStore
WEIGHTS = os.urandom(2 * SEGMENT_BYTES + 12345)  # three segments, the last one short
CONFIG = b'{"r": 8, "lora_alpha": 16}'


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        yield LocalModelStore(tmp_path / "models")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        bucket = server.create_bucket("blobs")
        yield OpenDalModelStore(server.spec(bucket, "store/"), UploadOptions(part_bytes=5 * MIB, part_concurrency=2))


def ledger(store: Store) -> BlobLedger:
    return store.ledger


def publish(store: Store, model: str, files: dict[str, bytes], token: str = "1-aaa") -> int:
    """Import `files` as `model`; returns the bytes written to the store."""
    staged = store.stage(model, token)
    written = 0
    placed = {}
    for name, data in files.items():
        record, count = write_file(staged, name, data)
        placed[name] = (record, data)
        written += count
    staged.publish(manifest_bytes(placed))
    return written


def read(store: Store, model: str, name: str) -> bytes:
    reader = store.open(model, name)
    try:
        return reader.read(0, reader.size)
    finally:
        reader.close()


def test_the_same_files_are_stored_once_and_every_model_reads_them(store: Store) -> None:
    files = {"adapter_model.safetensors": WEIGHTS, "adapter_config.json": CONFIG}
    assert publish(store, "first", files) == len(WEIGHTS) + len(CONFIG)
    assert publish(store, "second", files) == 0  # only the manifest is written

    found = assert_blobs_match_manifests(store, ledger(store), {"first", "second"})
    assert sorted(found.blobs.values()) == [len(CONFIG), len(WEIGHTS)]
    assert {len(holders) for holders in found.refs.values()} == {2}
    for model in ("first", "second"):
        assert read(store, model, "adapter_model.safetensors") == WEIGHTS
    assert store.staged_model_names() == []
    if isinstance(store, LocalModelStore):
        # The folders show plain files, hard links to one inode, read-only.
        one, two = (store.root / m / "adapter_model.safetensors" for m in ("first", "second"))
        assert one.stat().st_ino == two.stat().st_ino and one.stat().st_nlink == 3
        assert one.stat().st_mode & 0o777 == 0o444
        assert sorted(p.name for p in (store.root / "first").iterdir()) == [
            "adapter_config.json", "adapter_model.safetensors", "manifest.json",
        ]  # fmt: skip
    else:
        assert ledger(store).space.keys("second/") == ["second/manifest.json"]


def test_deleting_a_model_that_shares_blobs_leaves_the_other_intact(store: Store) -> None:
    publish(store, "first", {"weights.safetensors": WEIGHTS, "config.json": CONFIG})
    publish(store, "second", {"weights.safetensors": WEIGHTS, "config.json": b'{"other": true}'})

    store.delete("first")
    store.delete("first")  # idempotent

    assert store.read_manifest("first") is None
    found = assert_blobs_match_manifests(store, ledger(store), {"second"})
    assert len(found.blobs) == 2  # the shared weights and second's own config; first's config is gone
    assert read(store, "second", "weights.safetensors") == WEIGHTS
    store.delete("second")
    assert ledger(store).space.keys("") == []


@pytest.mark.parametrize(
    "changed_at", [0, SEGMENT_BYTES - 1, SEGMENT_BYTES + 10, 2 * SEGMENT_BYTES + 1, len(WEIGHTS) - 1]
)
def test_a_file_that_differs_anywhere_is_written_in_full_from_one_read(store: Store, changed_at: int) -> None:
    publish(store, "first", {"weights.safetensors": WEIGHTS})
    other = bytearray(WEIGHTS)
    other[changed_at] ^= 0xFF

    # The sink is fed each byte once; where the first segments matched, their bytes come from the
    # blob already stored, checked against its prefix digest.
    assert publish(store, "second", {"weights.safetensors": bytes(other)}) == len(WEIGHTS)

    assert read(store, "second", "weights.safetensors") == bytes(other)
    assert read(store, "first", "weights.safetensors") == WEIGHTS
    assert len(assert_blobs_match_manifests(store, ledger(store), {"first", "second"}).blobs) == 2


def test_small_and_empty_files_are_shared_too(store: Store) -> None:
    files = {"empty.txt": b"", "small.json": b"{}", "exact.bin": WEIGHTS[:SEGMENT_BYTES]}
    publish(store, "first", files)
    assert publish(store, "second", files) == 0
    assert len(assert_blobs_match_manifests(store, ledger(store), {"first", "second"}).blobs) == 3


def test_an_interrupted_attempt_leaves_claims_that_the_sweep_settles(store: Store) -> None:
    publish(store, "kept", {"weights.safetensors": WEIGHTS})
    staged = store.stage("crashed", "1-aaa")
    write_file(staged, "weights.safetensors", WEIGHTS)  # found in the store: a claim, no bytes
    write_file(staged, "new.bin", b"fresh bytes")  # a new blob, committed
    _, writer = staged.new_blob(3 * MIB, "0" * 32)
    writer.write(b"x" * MIB)
    writer.abort()  # the process dies here: no publish, no abort

    assert store.read_manifest("crashed") is None
    assert store.staged_model_names() == ["crashed"]
    assert store.model_names() == ["kept"]

    assert store.sweep_staging("crashed") >= 1

    assert_blobs_match_manifests(store, ledger(store), {"kept"})
    assert store.staged_model_names() == []
    assert store.sweep_staging("crashed") == 0


def test_a_retry_replaces_an_earlier_publication_and_its_unused_blobs_go(store: Store) -> None:
    publish(store, "model", {"a.bin": b"first attempt", "b.bin": CONFIG}, token="1-aaa")
    publish(store, "model", {"a.bin": b"second attempt", "b.bin": CONFIG}, token="2-bbb")
    store.sweep_staging("model")  # what the worker does once the job is recorded

    assert read(store, "model", "a.bin") == b"second attempt"
    assert len(assert_blobs_match_manifests(store, ledger(store), {"model"}).blobs) == 2


def test_an_aborted_attempt_drops_only_its_own_claims(store: Store) -> None:
    publish(store, "first", {"weights.safetensors": WEIGHTS})
    live = store.stage("second", "2-bbb")
    stale = store.stage("second", "1-aaa")  # lost its lease, still running
    for staged in (live, stale):
        write_file(staged, "weights.safetensors", WEIGHTS)
    store.delete("first")  # the blob is now held by the two attempts of second only
    stale.abort()
    record, _ = write_file(live, "config.json", CONFIG)
    live.publish(manifest_bytes({"weights.safetensors": (found_blob(store), WEIGHTS), "config.json": (record, CONFIG)}))

    assert read(store, "second", "weights.safetensors") == WEIGHTS
    assert_blobs_match_manifests(store, ledger(store), {"second"})


def found_blob(store: Store) -> blob_ledger.BlobRecord:
    records = [r for key in inventory(ledger(store)).records if (r := record_of(store, key)) is not None]
    (weights,) = [r for r in records if r.size == len(WEIGHTS)]
    return weights


def record_of(store: Store, key: str) -> blob_ledger.BlobRecord | None:
    raw = ledger(store).space.get(f"{BLOBS}{key}.json")
    return blob_ledger.BlobRecord.from_bytes(key, raw) if raw is not None else None


def test_a_claim_backs_off_from_a_blob_a_collector_is_removing(store: Store) -> None:
    publish(store, "first", {"weights.safetensors": WEIGHTS})
    key = found_blob(store).key
    ledger(store).space.put(f"{BLOBS}{key}.doomed.1-deadbeef", b"")  # a collector between its two steps

    # The second import must not rely on that blob: it writes its own copy.
    assert publish(store, "second", {"weights.safetensors": WEIGHTS}) == len(WEIGHTS)
    assert read(store, "second", "weights.safetensors") == WEIGHTS


def test_the_collector_spares_a_blob_referenced_meanwhile(store: Store) -> None:
    publish(store, "first", {"weights.safetensors": WEIGHTS})
    key = found_blob(store).key
    assert ledger(store).gc(key) is False  # first holds it
    assert inventory(ledger(store)).markers == []  # and the marker is gone again
    store.delete("first")
    assert ledger(store).space.keys("") == []


def test_two_imports_that_commit_the_same_new_file_keep_one_copy(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["1" * 32, "2" * 32])
    monkeypatch.setattr(blob_ledger, "new_blob_key", lambda size, head: f"{size}/{head}/{next(ids)}")
    one, two = store.stage("one", "1-aaa"), store.stage("two", "1-bbb")
    sink_one = write_file(one, "weights.safetensors", WEIGHTS)[0]
    sink_two = write_file(two, "weights.safetensors", WEIGHTS)[0]
    # two found one's blob only after writing its own (the import ran at the same time): it keeps
    # the older one and drops its own at publish.
    assert sink_two.key == sink_one.key and parse_blob_key(sink_one.key)[2] == "1" * 32
    one.publish(manifest_bytes({"weights.safetensors": (sink_one, WEIGHTS)}))
    two.publish(manifest_bytes({"weights.safetensors": (sink_two, WEIGHTS)}))
    assert len(assert_blobs_match_manifests(store, ledger(store), {"one", "two"}).blobs) == 1


def test_the_collector_removes_what_crashes_left_and_keeps_what_live_models_use(store: Store) -> None:
    publish(store, "live", {"weights.safetensors": WEIGHTS})
    publish(store, "orphan", {"config.json": CONFIG, "weights.safetensors": WEIGHTS})
    space = ledger(store).space
    # What crashes can leave: a reference of a model whose job is gone, a blob without references,
    # a doomed marker of a collector that died long ago.
    space.put(f"{BLOBS}{found_blob(store).key}.doomed.1-0badc0de", b"")
    space.delete("orphan/manifest.json")
    stray = blob_ledger.new_blob_key(5, hashlib.sha256(b"stray").hexdigest()[:32])
    space.put(f"{BLOBS}{stray}", b"stray")

    removed = store.collect_blobs(lambda names: {"live"} & set(names))

    assert removed == 2  # orphan's config and the stray blob; the weights are live's too
    found = inventory(ledger(store))
    assert found.markers == [] and set(found.blobs) == {found_blob(store).key}
    assert {h.rsplit(".", 1)[0] for h in found.refs[found_blob(store).key]} == {"live"}


def test_blob_keys_from_a_manifest_are_checked(store: Store) -> None:
    staged = store.stage("model", "1-aaa")
    record, _ = write_file(staged, "a.bin", b"a")
    document = json.loads(manifest_bytes({"a.bin": (record, b"a")}))
    document["files"][0]["blob"] = "../../elsewhere/secret"
    staged.publish(json.dumps(document).encode())
    if isinstance(store, OpenDalModelStore):  # a local model's files are its folder's hard links
        with pytest.raises(StorageError, match="not a blob key"):
            store.open("model", "a.bin")
    with pytest.raises(StorageError, match="not a blob key"):
        store.blob_holders(["../../elsewhere/secret"])
