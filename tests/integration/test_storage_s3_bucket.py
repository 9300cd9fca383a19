"""Source buckets on a real S3-protocol server (moto), reached through the config file: listing,
ranged and parallel reads, the root-prefix mapping, and the errors a job can meet."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from modelport.settings import Settings
from modelport.storage import opendal_access
from modelport.storage.config import build_storage
from modelport.storage.interface import BucketNotFound, SourceBucket, StorageError, StorageUnavailable
from modelport.storage.opendal_access import ObjectStoreSpec, Secret
from modelport.storage.opendal_bucket import OpenDalBucket
from tests.support import s3_server as moto
from tests.support.object_server import ObjectServer, running
from tests.support.s3_server import S3Server

# The session's moto servers (one process each, however many modules ask).
s3_server = moto.s3_server
s3_auth_server = moto.s3_auth_server

WEIGHTS = os.urandom(3 * 1024 * 1024 + 17)
OBJECTS = {
    "tenant/models/lora/adapter_config.json": b'{"r": 8}',
    "tenant/models/lora/adapter_model.safetensors": WEIGHTS,
    "tenant/models/lora/extra/": b"",  # a console's "folder" placeholder
    "tenant/models/lora/extra/notes.txt": b"notes",
    "tenant/models/lora-2/other.json": b"{}",  # shares the prefix string, not the folder
    "elsewhere/secret.bin": b"outside the configured root",
}


@pytest.fixture(scope="module")
def source(s3_server: S3Server) -> str:
    bucket = s3_server.create_bucket("source")
    client = s3_server.client()
    for key, data in OBJECTS.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    return bucket


def configured_bucket(tmp_path: Path, table: str, environ: dict[str, str], name: str = "my-bucket") -> SourceBucket:
    config = tmp_path / "modelport.toml"
    config.write_text(table)
    settings = Settings(data_dir=tmp_path / "data", database_url="sqlite://", config_path=config)
    return build_storage(settings, environ).bucket(name)


def s3_table(server: S3Server, bucket: str, root: str = "tenant/", name: str = "my-bucket") -> str:
    return f"""
[buckets.{name}]
url = "s3://{bucket}/{root}"
endpoint = "{server.endpoint}"
region = "us-east-1"
access_key_id = {{ env = "SRC_KEY" }}
secret_access_key = {{ env = "SRC_SECRET" }}
"""


@pytest.fixture
def bucket(tmp_path: Path, s3_server: S3Server, source: str) -> SourceBucket:
    environ = {"SRC_KEY": s3_server.access_key_id, "SRC_SECRET": s3_server.secret_access_key}
    return configured_bucket(tmp_path, s3_table(s3_server, source), environ)


def test_lists_files_under_the_prefix_with_keys_relative_to_it(bucket: SourceBucket) -> None:
    entries = list(bucket.list("models/lora/", limit=100))
    assert [(e.key, e.size, e.kind) for e in entries] == [
        ("adapter_config.json", 8, "file"),
        ("adapter_model.safetensors", len(WEIGHTS), "file"),
        ("extra/", 0, "directory"),  # a folder is one entry; it is never descended into
    ]
    assert bucket.location("models/lora/") == "oss://my-bucket/models/lora/"
    assert len(list(bucket.list("models/lora/", limit=2))) == 2
    assert list(bucket.list("models/nothing-here/", limit=100)) == []


def test_reads_ranges_exactly_and_short_only_at_the_end(bucket: SourceBucket) -> None:
    reader = bucket.open("models/lora/", "adapter_model.safetensors")
    assert reader.size == len(WEIGHTS)
    assert reader.read(0, 8) == WEIGHTS[:8]
    assert reader.read(1000, 4096) == WEIGHTS[1000:5096]
    assert reader.read(len(WEIGHTS) - 5, 100) == WEIGHTS[-5:]
    assert reader.read(len(WEIGHTS), 10) == b""
    reader.close()


def test_parallel_ranged_reads_reassemble_the_object(bucket: SourceBucket) -> None:
    reader = bucket.open("models/lora/", "adapter_model.safetensors")
    chunk = 256 * 1024
    offsets = list(range(0, reader.size, chunk))
    with ThreadPoolExecutor(max_workers=8) as pool:
        chunks = list(pool.map(lambda offset: reader.read(offset, chunk), offsets))
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(WEIGHTS).digest()


def test_the_root_prefix_confines_the_client(bucket: SourceBucket) -> None:
    with pytest.raises(StorageError, match="not a plain object key"):
        list(bucket.list("../elsewhere/", limit=10))
    with pytest.raises(StorageError, match="not a plain object key"):
        bucket.open("models/lora/", "../../../elsewhere/secret.bin")
    with pytest.raises(StorageError, match=r"oss://my-bucket/elsewhere/secret\.bin does not exist"):
        bucket.open("elsewhere/", "secret.bin")  # resolved under tenant/, where it is not


def test_a_missing_object_names_the_client_location(bucket: SourceBucket) -> None:
    with pytest.raises(StorageError, match=r"^oss://my-bucket/models/lora/missing\.json does not exist\.$"):
        bucket.open("models/lora/", "missing.json")


def test_an_object_replaced_during_the_copy_fails_the_read(
    s3_server: S3Server, tmp_path: Path, bucket: SourceBucket
) -> None:
    scratch = s3_server.create_bucket("scratch")
    client = s3_server.client()
    client.put_object(Bucket=scratch, Key="tenant/m/w.bin", Body=b"a" * 1000)
    environ = {"SRC_KEY": s3_server.access_key_id, "SRC_SECRET": s3_server.secret_access_key}
    changing = configured_bucket(tmp_path, s3_table(s3_server, scratch), environ)
    reader = changing.open("m/", "w.bin")
    assert reader.read(0, 10) == b"a" * 10
    client.put_object(Bucket=scratch, Key="tenant/m/w.bin", Body=b"b" * 1000)
    with pytest.raises(StorageError, match="changed while it was being read"):
        reader.read(10, 10)


def test_a_bucket_missing_on_the_server_is_bucket_not_found(s3_server: S3Server, tmp_path: Path) -> None:
    environ = {"SRC_KEY": s3_server.access_key_id, "SRC_SECRET": s3_server.secret_access_key}
    missing = configured_bucket(tmp_path, s3_table(s3_server, "no-such-bucket-anywhere"), environ)
    with pytest.raises(BucketNotFound, match="The bucket 'my-bucket' does not exist"):
        list(missing.list("models/lora/", limit=10))


def test_a_wrong_secret_is_refused_and_never_shown(s3_auth_server: S3Server, tmp_path: Path) -> None:
    bucket_name = s3_auth_server.create_bucket("guarded")
    s3_auth_server.client().put_object(Bucket=bucket_name, Key="tenant/m/a.json", Body=b"{}")
    wrong = "wrong-" + os.urandom(12).hex()
    environ = {"SRC_KEY": s3_auth_server.access_key_id, "SRC_SECRET": wrong}
    guarded = configured_bucket(tmp_path, s3_table(s3_auth_server, bucket_name), environ)
    with pytest.raises(StorageUnavailable) as listing:
        list(guarded.list("m/", limit=10))
    with pytest.raises(StorageUnavailable) as opening:
        guarded.open("m/", "a.json")
    assert "SignatureDoesNotMatch" in str(listing.value)  # a HEAD answer has no body to carry the code
    for error in (listing.value, opening.value):
        message = str(error)
        assert "denied" in message and "oss://my-bucket/m/" in message
        assert wrong not in message and s3_auth_server.endpoint not in message
    assert wrong not in repr(guarded) and wrong not in repr(vars(guarded))

    # The same request with the right secret goes through. (Only reads are compared: moto's signature
    # check rejects any listing whose prefix holds a '/', whatever the secret; AWS does not.)
    environ["SRC_SECRET"] = s3_auth_server.secret_access_key
    right = configured_bucket(tmp_path, s3_table(s3_auth_server, bucket_name), environ)
    assert right.open("m/", "a.json").read(0, 2) == b"{}"


def test_listing_lets_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing waits for the service without holding the GIL, so heartbeats and the API keep
    running. The binding's blocking lister holds it: with it, the ticker below would stall for the
    whole wait (and the in-process server could not even answer until the request timed out,
    which is shortened here so that such a regression fails in seconds)."""
    monkeypatch.setattr(opendal_access, "CONTROL_TIMEOUT_SECONDS", 3.0)
    monkeypatch.setattr(opendal_access, "IO_TIMEOUT_SECONDS", 3.0)
    monkeypatch.setattr(opendal_access, "RETRIES", 1)
    server = ObjectServer(buckets={"gil-bucket": {f"p/k{i:04d}": b"x" for i in range(50)}}, delay_seconds=1.0)
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    with running(server):
        spec = ObjectStoreSpec(
            service="s3",
            bucket="gil-bucket",
            root="",
            endpoint=server.address,
            access_key_id=Secret("key"),
            secret_key=Secret("secret"),
        )
        bucket = OpenDalBucket("gil-bucket", spec)
        ticker = threading.Thread(target=tick)
        ticker.start()
        started = time.monotonic()
        try:
            found = [e.key for e in bucket.list("p/", limit=1000)]
        finally:
            ended = time.monotonic()
            stop.set()
            ticker.join()
    during = [started, *(t for t in ticks if started <= t <= ended), ended]
    longest_stall = max(later - earlier for earlier, later in itertools.pairwise(during))
    assert ended - started >= 1.0  # the answer really was waited for
    assert longest_stall < 0.5, f"other threads stalled for {longest_stall:.2f}s during the listing"
    assert len(found) == 50
    assert [r.method for r in server.requests] == ["GET"]


EXIT_AFTER_LISTING = """
import sys
from modelport.storage.opendal_access import ObjectStoreSpec, Secret
from modelport.storage.opendal_bucket import OpenDalBucket

spec = ObjectStoreSpec(
    service="s3", bucket="b", root="", endpoint=sys.argv[1], access_key_id=Secret("k"), secret_key=Secret("s")
)
bucket = OpenDalBucket("b", spec)
for _ in range(3):
    assert len(list(bucket.list("p/", limit=100))) == 5
"""


def test_a_process_that_lists_and_exits_at_once_exits_cleanly() -> None:
    """Without the settling loop (opendal_listing), a process that exits right after a listing is
    aborted by SIGABRT now and then (about one run in ten under load); 24 runs, four at a time,
    catch such a regression most of the time."""
    server = ObjectServer(buckets={"b": {f"p/k{i}": b"x" for i in range(5)}})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with running(server), ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(
            pool.map(
                lambda _: subprocess.run(
                    [sys.executable, "-c", EXIT_AFTER_LISTING, server.address], capture_output=True, env=env
                ),
                range(24),
            )
        )
    assert [run.returncode for run in runs] == [0] * 24, [run.stderr[-500:] for run in runs if run.returncode]
