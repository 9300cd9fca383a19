"""The model store on a real S3-protocol server (moto): blobs written as multipart uploads, the
manifest as commit marker, claims and the sweep of interrupted attempts, delete, and stores written
before blobs existed. The ledger itself is tested on both stores in test_blob_store."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from modelport.storage import opendal_models
from modelport.storage.blob_ledger import BlobRecord
from modelport.storage.interface import BucketNotFound, StorageError, StorageUnavailable
from modelport.storage.opendal_models import MIB, OpenDalModelStore, OpenDalStagedModel, UploadOptions
from tests.support import s3_server as moto
from tests.support.blobs import manifest_bytes, write_file
from tests.support.s3_server import S3Server

# The session's moto servers (one process each, however many modules ask).
s3_server = moto.s3_server
s3_auth_server = moto.s3_auth_server

ROOT = "store/"
UPLOAD = UploadOptions(part_bytes=5 * MIB, part_concurrency=2)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.create_bucket("models")


@pytest.fixture
def store(s3_server: S3Server, bucket: str) -> OpenDalModelStore:
    return OpenDalModelStore(s3_server.spec(bucket, ROOT), UPLOAD)


def write(staged: OpenDalStagedModel, name: str, data: bytes) -> BlobRecord:
    record, _ = write_file(staged, name, data)
    return record


def blob_keys(s3_server: S3Server, bucket: str) -> list[str]:
    return [key for key in s3_server.keys(bucket, "store/.blobs/") if not key.endswith(".json")]


def test_publish_writes_blobs_as_multipart_and_the_manifest_last(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    weights = os.urandom(12 * MIB + 123)  # three parts of 5 MiB, the last one short
    staged = store.stage("m-1", "1-aaa")
    assert s3_server.keys(bucket) == []  # nothing is written before the first file

    placed = {"adapter_model.safetensors": (write(staged, "adapter_model.safetensors", weights), weights)}
    placed["adapter_config.json"] = (write(staged, "adapter_config.json", b'{"r": 8}'), b'{"r": 8}')
    assert store.read_manifest("m-1") is None  # blobs without a manifest are no model
    assert store.staged_model_names() == ["m-1"]  # the attempt's claims say what it holds
    assert s3_server.keys(bucket, "store/m-1/") == []

    manifest = manifest_bytes(placed)
    staged.publish(manifest)

    assert s3_server.keys(bucket, "store/m-1/") == ["store/m-1/manifest.json"]
    assert len(blob_keys(s3_server, bucket)) == 2
    assert store.read_manifest("m-1") == manifest
    assert store.staged_model_names() == []
    assert store.model_names() == ["m-1"]
    reader = store.open("m-1", "adapter_model.safetensors")
    assert reader.size == len(weights)
    assert reader.read(0, reader.size) == weights
    assert reader.read(5 * MIB - 2, 4) == weights[5 * MIB - 2 : 5 * MIB + 2]
    assert store.location("m-1") == f"s3://{bucket}/store/m-1/"
    assert not s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_an_interrupted_copy_leaves_no_manifest_and_the_sweep_removes_it(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    staged = store.stage("m-2", "1-aaa")
    write(staged, "done.bin", os.urandom(2 * MIB))
    _, half = staged.new_blob(8 * MIB, "0" * 32)
    half.write(os.urandom(6 * MIB))  # one part is on the server, the upload is not complete
    half.abort()
    # The process dies here: no staged.abort(), no publish.

    assert store.read_manifest("m-2") is None
    assert len(blob_keys(s3_server, bucket)) == 1  # the half-written file never shows
    assert store.staged_model_names() == ["m-2"]
    assert store.model_names() == []

    assert store.sweep_staging("m-2") == 1

    assert s3_server.keys(bucket) == []
    assert store.staged_model_names() == []
    assert store.sweep_staging("m-2") == 0


def test_abort_removes_what_was_staged(s3_server: S3Server, bucket: str, store: OpenDalModelStore) -> None:
    staged = store.stage("m-3", "1-aaa")
    write(staged, "a.bin", b"a" * 1000)
    staged.abort()
    assert s3_server.keys(bucket) == []
    assert store.read_manifest("m-3") is None


def test_abort_leaves_another_attempt_still_running_alone(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    stale = store.stage("m-4", "1-aaa")  # lost its lease but is still alive
    current = store.stage("m-4", "2-bbb")
    record = write(current, "a.bin", b"current")
    stale.abort()
    current.publish(manifest_bytes({"a.bin": (record, b"current")}))
    reader = store.open("m-4", "a.bin")
    assert reader.read(0, reader.size) == b"current"


def test_a_retry_that_publishes_drops_what_earlier_attempts_left(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    crashed = store.stage("m-5", "1-aaa")
    write(crashed, "stale.bin", b"from an older upload")
    write(crashed, "a.bin", b"old")
    retry = store.stage("m-5", "2-bbb")
    record = write(retry, "a.bin", b"new bytes")
    retry.publish(manifest_bytes({"a.bin": (record, b"new bytes")}))

    assert store.staged_model_names() == ["m-5"]  # the crashed attempt's claims are left for the sweep
    assert store.sweep_staging("m-5") == 1
    assert s3_server.keys(bucket, "store/m-5/") == ["store/m-5/manifest.json"]
    assert blob_keys(s3_server, bucket) == [f"store/.blobs/{record.key}"]
    reader = store.open("m-5", "a.bin")
    assert reader.read(0, reader.size) == b"new bytes"


def test_publish_refuses_when_a_blob_was_removed(s3_server: S3Server, bucket: str, store: OpenDalModelStore) -> None:
    staged = store.stage("m-6", "1-aaa")
    a = write(staged, "a.bin", b"x" * 100)
    b = write(staged, "b.bin", b"y" * 100)
    s3_server.client().delete_object(Bucket=bucket, Key=f"store/.blobs/{b.key}")  # e.g. removed by hand
    with pytest.raises(StorageError, match=r"b\.bin of model m-6 disappeared"):
        staged.publish(manifest_bytes({"a.bin": (a, b"x" * 100), "b.bin": (b, b"y" * 100)}))
    assert store.read_manifest("m-6") is None


def test_staging_again_takes_an_earlier_publication_down(store: OpenDalModelStore) -> None:
    first = store.stage("m-7", "1-aaa")
    record = write(first, "a.bin", b"a")
    first.publish(manifest_bytes({"a.bin": (record, b"a")}))
    store.stage("m-7", "2-bbb")  # the job is retried after publishing but before it was recorded
    assert store.read_manifest("m-7") is None
    assert store.sweep_staging("m-7") == 1  # the earlier publication's blobs were recorded as claims
    assert store.ledger.space.keys("") == []


def test_delete_removes_every_object_and_is_idempotent(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    staged = store.stage("m-8", "2-bbb")
    files = {"a.bin": os.urandom(1000), "b.bin": os.urandom(1000)}
    staged.publish(manifest_bytes({name: (write(staged, name, data), data) for name, data in files.items()}))
    write(store.stage("m-8", "3-ccc"), "c.bin", b"an attempt that left a claim")
    other = store.stage("m-9", "1-aaa")
    other.publish(manifest_bytes({"keep.bin": (write(other, "keep.bin", b"keep"), b"keep")}))
    kept = sorted(s3_server.keys(bucket, "store/.blobs/"))

    store.delete("m-8")
    store.delete("m-8")

    assert sorted(s3_server.keys(bucket, "store/.blobs/")) != kept
    assert [k for k in s3_server.keys(bucket) if not k.startswith("store/.")] == ["store/m-9/manifest.json"]
    assert len(blob_keys(s3_server, bucket)) == 1
    assert store.read_manifest("m-8") is None
    assert store.model_names() == ["m-9"]
    assert store.staged_model_names() == []


def test_a_manifest_from_before_blobs_is_read_from_the_model_prefix(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="store/old/a.bin", Body=b"legacy")
    manifest = json.loads(manifest_bytes({}))
    manifest["files"] = [{"path": "a.bin", "size": 6, "sha256": hashlib.sha256(b"legacy").hexdigest()}]
    client.put_object(Bucket=bucket, Key="store/old/manifest.json", Body=json.dumps(manifest).encode())
    client.put_object(Bucket=bucket, Key="store/.staging/gone.1-aaa", Body=b"{}")  # an old attempt marker
    client.put_object(Bucket=bucket, Key="store/gone/partial.bin", Body=b"partial")

    reader = store.open("old", "a.bin")
    assert reader.read(0, reader.size) == b"legacy"
    assert store.staged_model_names() == ["gone"]
    assert store.sweep_staging("gone") == 1
    store.delete("old")
    assert s3_server.keys(bucket) == []


def test_a_file_too_large_for_the_configured_part_goes_up_in_larger_parts(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(opendal_models, "MAX_PARTS", 2)  # so 11 MiB stands for a file over 78 GiB
    data = os.urandom(11 * MIB)
    staged = store.stage("m-10", "1-aaa")
    placed = {"big.bin": (write(staged, "big.bin", data), data)}
    staged.publish(manifest_bytes(placed))

    (key,) = blob_keys(s3_server, bucket)
    etag = s3_server.client().head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    assert etag.endswith("-2")  # two parts of 6 MiB, where 5 MiB parts would have needed three
    reader = store.open("m-10", "big.bin")
    assert reader.read(0, reader.size) == data


def test_writing_past_what_the_parts_can_hold_is_refused(
    store: OpenDalModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(opendal_models, "MAX_PARTS", 2)
    _, writer = store.stage("m-10", "1-aaa").new_blob(11 * MIB, "0" * 32)  # parts of 6 MiB
    writer.write(b"x" * (12 * MIB))
    with pytest.raises(StorageError, match="the most 2 parts"):
        writer.write(b"x")
    writer.abort()


def test_names_are_checked_before_any_request(store: OpenDalModelStore) -> None:
    for bad in ("../escape", ".staging", "a/b", ""):
        with pytest.raises(StorageError):
            store.stage(bad, "1-aaa")
    staged = store.stage("m-11", "1-aaa")
    record = write(staged, "ok.bin", b"ok")
    for bad in ("../x", "sub/x", "manifest.json"):
        with pytest.raises(StorageError):
            staged.place(bad, record)


def test_a_missing_store_bucket_is_reported(s3_server: S3Server) -> None:
    store = OpenDalModelStore(s3_server.spec("no-such-bucket-here", ROOT), UPLOAD)
    with pytest.raises(BucketNotFound, match="does not exist"):
        store.stage("m-12", "1-aaa")


def test_a_wrong_secret_fails_without_showing_it(s3_auth_server: S3Server) -> None:
    bucket = s3_auth_server.create_bucket("models")
    wrong = "wrong-secret-" + os.urandom(8).hex()
    store = OpenDalModelStore(s3_auth_server.spec(bucket, ROOT, secret=wrong), UPLOAD)
    with pytest.raises(StorageUnavailable) as raised:
        store.stage("m-13", "1-aaa")
    message = str(raised.value)
    assert "SignatureDoesNotMatch" in message
    assert wrong not in message and s3_auth_server.secret_access_key not in message
    assert wrong not in repr(store) and wrong not in repr(vars(store))
    right = OpenDalModelStore(s3_auth_server.spec(bucket, ROOT), UPLOAD)
    right.stage("m-13", "1-aaa")  # reads (and takes down) an earlier manifest: signed requests that pass
    right.ledger.space.put("store-probe", b"ok")  # (moto's auth mode refuses our listings' signatures)
    assert s3_auth_server.keys(bucket) == ["store/store-probe"]
