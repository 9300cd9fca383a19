"""The model store on a real S3-protocol server (moto): staging markers, multipart writes, the
manifest as commit marker, the sweep of interrupted attempts, and delete."""

from __future__ import annotations

import os

import pytest

from modelport.storage import opendal_models
from modelport.storage.interface import BucketNotFound, StorageError, StorageUnavailable
from modelport.storage.opendal_models import MIB, OpenDalModelStore, OpenDalStagedModel, UploadOptions
from tests.support import s3_server as moto
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


def write(staged: OpenDalStagedModel, name: str, data: bytes, piece: int = MIB) -> None:
    writer = staged.writer(name)
    for offset in range(0, len(data), piece):
        writer.write(data[offset : offset + piece])
    writer.commit()


def test_publish_writes_files_as_multipart_and_the_manifest_last(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    weights = os.urandom(12 * MIB + 123)  # three parts of 5 MiB, the last one short
    staged = store.stage("m-1", "1-aaa")
    assert s3_server.keys(bucket) == ["store/.staging/m-1.1-aaa"]  # the marker comes before any data

    write(staged, "adapter_model.safetensors", weights)
    write(staged, "adapter_config.json", b'{"r": 8}', piece=3)
    assert store.read_manifest("m-1") is None  # files without a manifest are no model
    assert store.staged_model_names() == ["m-1"]

    staged.publish(b'{"format": "test"}\n')

    assert s3_server.keys(bucket) == [
        "store/m-1/adapter_config.json",
        "store/m-1/adapter_model.safetensors",
        "store/m-1/manifest.json",
    ]
    assert store.read_manifest("m-1") == b'{"format": "test"}\n'
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
    half = staged.writer("half.bin")
    half.write(os.urandom(6 * MIB))  # one part is on the server, the upload is not complete
    half.abort()
    # The process dies here: no staged.abort(), no publish.

    assert store.read_manifest("m-2") is None
    assert s3_server.keys(bucket, "store/m-2/") == ["store/m-2/done.bin"]  # the half-written file never shows
    assert store.staged_model_names() == ["m-2"]
    assert store.model_names() == ["m-2"]

    assert store.sweep_staging("m-2") == 1

    assert s3_server.keys(bucket) == []
    assert store.staged_model_names() == []
    assert store.model_names() == []
    assert store.sweep_staging("m-2") == 0


def test_abort_removes_what_was_staged(s3_server: S3Server, bucket: str, store: OpenDalModelStore) -> None:
    staged = store.stage("m-3", "1-aaa")
    write(staged, "a.bin", b"a" * 1000)
    staged.abort()
    assert s3_server.keys(bucket) == []
    assert store.read_manifest("m-3") is None


def test_abort_leaves_the_prefix_to_another_attempt_still_running(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    stale = store.stage("m-4", "1-aaa")  # lost its lease but is still alive
    current = store.stage("m-4", "2-bbb")
    write(current, "a.bin", b"current")
    stale.abort()
    assert s3_server.keys(bucket) == ["store/.staging/m-4.2-bbb", "store/m-4/a.bin"]
    current.publish(b"{}")
    assert store.read_manifest("m-4") == b"{}"


def test_publish_drops_files_of_earlier_attempts_and_the_sweep_keeps_the_model(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    crashed = store.stage("m-5", "1-aaa")
    write(crashed, "stale.bin", b"from an older upload")
    write(crashed, "a.bin", b"old")
    retry = store.stage("m-5", "2-bbb")
    write(retry, "a.bin", b"new bytes")
    retry.publish(b"{}")

    assert s3_server.keys(bucket, "store/m-5/") == ["store/m-5/a.bin", "store/m-5/manifest.json"]
    assert store.staged_model_names() == ["m-5"]  # the crashed attempt's marker is left for the sweep
    assert store.sweep_staging("m-5") == 1
    assert s3_server.keys(bucket) == ["store/m-5/a.bin", "store/m-5/manifest.json"]
    assert s3_server.get(bucket, "store/m-5/a.bin") == b"new bytes"


def test_publish_refuses_when_a_copied_file_was_removed(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    staged = store.stage("m-6", "1-aaa")
    write(staged, "a.bin", b"x" * 100)
    write(staged, "b.bin", b"y" * 100)
    s3_server.client().delete_object(Bucket=bucket, Key="store/m-6/b.bin")  # e.g. a sweep raced this attempt
    with pytest.raises(StorageError, match=r"b\.bin of model m-6 disappeared"):
        staged.publish(b"{}")
    assert store.read_manifest("m-6") is None


def test_staging_again_takes_an_earlier_publication_down(store: OpenDalModelStore) -> None:
    first = store.stage("m-7", "1-aaa")
    write(first, "a.bin", b"a")
    first.publish(b"{}")
    store.stage("m-7", "2-bbb")  # the job is retried after publishing but before it was recorded
    assert store.read_manifest("m-7") is None


def test_delete_removes_every_object_and_is_idempotent(
    s3_server: S3Server, bucket: str, store: OpenDalModelStore
) -> None:
    staged = store.stage("m-8", "2-bbb")
    write(staged, "a.bin", os.urandom(1000))
    write(staged, "b.bin", os.urandom(1000))
    staged.publish(b"{}")
    store.stage("m-8", "3-ccc")  # an attempt that left a marker
    other = store.stage("m-9", "1-aaa")
    write(other, "keep.bin", b"keep")
    other.publish(b"{}")

    store.delete("m-8")
    store.delete("m-8")

    assert s3_server.keys(bucket) == ["store/m-9/keep.bin", "store/m-9/manifest.json"]
    assert store.read_manifest("m-8") is None
    assert store.model_names() == ["m-9"]


def test_a_file_too_large_for_the_part_size_is_refused_early(
    store: OpenDalModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(opendal_models, "MAX_PARTS", 2)
    writer = store.stage("m-10", "1-aaa").writer("big.bin")
    writer.write(b"x" * (10 * MIB))
    with pytest.raises(StorageError, match="raise part_size"):
        writer.write(b"x")
    writer.abort()


def test_names_are_checked_before_any_request(store: OpenDalModelStore) -> None:
    for bad in ("../escape", ".staging", "a/b", ""):
        with pytest.raises(StorageError):
            store.stage(bad, "1-aaa")
    staged = store.stage("m-11", "1-aaa")
    for bad in ("../x", "sub/x", "manifest.json"):
        with pytest.raises(StorageError):
            staged.writer(bad)


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
    right.stage("m-13", "1-aaa")
    assert s3_auth_server.keys(bucket) == ["store/.staging/m-13.1-aaa"]
