"""Whole imports from an S3 bucket into an S3 model store, both on a real S3-protocol server (moto),
configured through MODELPORT_CONFIG: the importer, a real worker, a process killed mid-copy, unknown
and missing buckets, and a wrong secret that must not leak."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.domain.jobs import Job, JobStatus, NewJob, StorageInfo, WeightType
from modelport.pipeline.copier import CopyCancelled
from modelport.pipeline.importer import Importer, ImportResult
from modelport.services import Services, open_services
from modelport.settings import Settings
from modelport.storage.config import build_storage
from modelport.storage.interface import ModelStore
from modelport.storage.opendal_models import OpenDalModelStore
from modelport.usecases.deletion import delete_finished_job
from modelport.worker.worker import Worker
from tests.support import s3_server as moto
from tests.support.blobs import assert_blobs_match_manifests
from tests.support.jobs import running_job
from tests.support.s3_server import S3Server

# The session's moto servers (one process each, however many modules ask).
s3_server = moto.s3_server
s3_auth_server = moto.s3_auth_server

OSS_MESSAGE = "Failed to get files from OSS. Check the files in OSS."
PREFIX = "models/lora/"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    server: S3Server
    source: str  # the real bucket behind the client name "my-bucket"
    store: str  # the model store's bucket
    adapter: Path

    def importer(self) -> Importer:
        return Importer(self.settings, build_storage(self.settings), load_catalog(self.settings.data_dir))

    def model_store(self) -> ModelStore:
        return build_storage(self.settings).model_store


def write_config(path: Path, server: S3Server, source: str, store: str) -> Path:
    path.write_text(
        f"""
[model_store]
url = "s3://{store}/modelport/"
endpoint = "{server.endpoint}"
region = "us-east-1"
access_key_id = {{ env = "MP_TEST_STORE_KEY" }}
secret_access_key = {{ env = "MP_TEST_STORE_SECRET" }}
part_size = "5MiB"

[buckets.my-bucket]
url = "s3://{source}/team/"
endpoint = "{server.endpoint}"
access_key_id = {{ env = "MP_TEST_SOURCE_KEY" }}
secret_access_key = {{ env = "MP_TEST_SOURCE_SECRET" }}

[buckets.missing-bucket]
url = "s3://no-such-bucket-{uuid.uuid4().hex[:8]}/"
endpoint = "{server.endpoint}"
access_key_id = {{ env = "MP_TEST_SOURCE_KEY" }}
secret_access_key = {{ env = "MP_TEST_SOURCE_SECRET" }}
"""
    )
    return path


def deploy(tmp_path: Path, server: S3Server, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Deployment:
    source, store = server.create_bucket("uploads"), server.create_bucket("models")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    adapter = tmp_path / "adapter"
    base = load_catalog(data_dir).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(adapter, "qwen3-8b", base.architecture)
    server.upload_folder(source, adapter, "team/" + PREFIX)
    for name in ("STORE", "SOURCE"):
        monkeypatch.setenv(f"MP_TEST_{name}_KEY", server.access_key_id)
        monkeypatch.setenv(f"MP_TEST_{name}_SECRET", server.secret_access_key)
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        config_path=write_config(tmp_path / "modelport.toml", server, source, store),
        chunk_bytes=1024 * 1024,
        read_concurrency=4,
        lease_seconds=5.0,
        poll_seconds=0.05,
    )
    return Deployment(settings=settings, server=server, source=source, store=store, adapter=adapter)


@pytest.fixture
def deployment(tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    return deploy(tmp_path, s3_server, monkeypatch, f"sqlite:///{tmp_path / 'modelport.db'}")


def make_job(bucket: str = "my-bucket", prefix: str = PREFIX) -> Job:
    return running_job(bucket=bucket, prefix=prefix, display_name="s3 import")


def run(deployment: Deployment, job: Job) -> ImportResult:
    return deployment.importer().run(job, "1-test", lambda *_: None, lambda: False)


def opendal_store(deployment: Deployment) -> OpenDalModelStore:
    store = deployment.model_store()
    assert isinstance(store, OpenDalModelStore)
    return store


def assert_published_exactly(deployment: Deployment, *model_names: str) -> None:
    """The models' prefixes hold their manifests only; the store holds exactly the blobs those name,
    each with its digest, and the files read back equal the upload byte for byte."""
    store = opendal_store(deployment)
    assert_blobs_match_manifests(store, store.ledger, set(model_names))
    for model_name in model_names:
        prefix = f"modelport/{model_name}/"
        assert deployment.server.keys(deployment.store, prefix) == [prefix + "manifest.json"]
        manifest = json.loads(store.read_manifest(model_name) or b"")
        for entry in manifest["files"]:
            stored = deployment.server.get(deployment.store, f"modelport/.blobs/{entry['blob']}")
            assert hashlib.sha256(stored).hexdigest() == entry["sha256"]
            assert stored == (deployment.adapter / entry["path"]).read_bytes()
            reader = store.open(model_name, entry["path"])
            assert reader.read(0, reader.size) == stored


def test_imports_from_an_s3_bucket_into_an_s3_model_store(deployment: Deployment) -> None:
    job = make_job()
    phases: list[tuple[str, int, int | None]] = []
    result = deployment.importer().run(job, "1-test", lambda *p: phases.append(p), lambda: False)

    assert result.status == JobStatus.SUCCEEDED, result.error_code
    assert result.report["source"]["location"] == "oss://my-bucket/models/lora/"
    assert_published_exactly(deployment, job.model_name)
    manifest = json.loads(deployment.model_store().read_manifest(job.model_name) or b"")
    assert {e["path"] for e in manifest["files"]} >= {"adapter_model.safetensors", "adapter_config.json"}
    copied = [done for phase, done, _total in phases if phase == "copying"]
    assert copied[-1] == manifest["total_bytes"] > 5 * 1024 * 1024  # the weights went up in several parts
    assert not deployment.server.client().list_multipart_uploads(Bucket=deployment.store).get("Uploads")


def test_a_cancelled_import_leaves_nothing(deployment: Deployment) -> None:
    job = make_job()
    calls = iter(range(1_000_000))
    with pytest.raises(CopyCancelled):
        deployment.importer().run(job, "1-test", lambda *_: None, lambda: next(calls) >= 3)
    assert deployment.model_store().read_manifest(job.model_name) is None
    assert deployment.server.keys(deployment.store) == []


CHILD = """
import sys, threading
from modelport.storage import opendal_access
from tests.integration.test_storage_s3_import import child_import

real_read = opendal_access.OpenDalRangeReader.read

def read(self, offset, length):
    if offset >= 3 * 1024 * 1024:  # mid-way through the weights: say so, then hang until killed
        print("STUCK", flush=True)
        threading.Event().wait()
    return real_read(self, offset, length)

opendal_access.OpenDalRangeReader.read = read
child_import(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def child_import(config_path: str, data_dir: str, model_name: str) -> None:
    settings = Settings(
        data_dir=Path(data_dir), database_url="sqlite://", config_path=Path(config_path), chunk_bytes=1024 * 1024
    )
    job = replace(make_job(), model_name=model_name)
    Importer(settings, build_storage(settings), load_catalog(settings.data_dir)).run(
        job, "1-killed", lambda *_: None, lambda: False
    )


def test_a_process_killed_mid_copy_leaves_no_manifest_and_the_sweep_cleans_up(deployment: Deployment) -> None:
    model_name = make_job().model_name
    assert deployment.settings.config_path is not None
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(deployment.settings.config_path),
            str(deployment.settings.data_dir),
            model_name,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"STUCK\n", child.stderr.read() if child.stderr else ""
        claims = f"modelport/.claims/{model_name}.1-killed"

        def records() -> list[str]:
            return [k for k in deployment.server.keys(deployment.store, "modelport/.blobs/") if k.endswith(".json")]

        deadline = time.monotonic() + 20
        while not records() and time.monotonic() < deadline:
            child.wait(timeout=0.05) if child.poll() is not None else time.sleep(0.05)
        (config,) = [k[len("modelport/.blobs/") : -len(".json")] for k in records()]  # adapter_config.json's
        keys = deployment.server.keys(deployment.store)
        refs = [k for k in keys if k.startswith("modelport/.refs/")]
        # The weights stopped inside their first segment, which is held until its digest is known:
        # nothing of them is in the store yet.
        assert [k for k in keys if k not in refs] == [
            f"modelport/.blobs/{config}",
            f"modelport/.blobs/{config}.json",
            claims,
        ]
        assert refs == [f"modelport/.refs/{config}/{model_name}.1-killed"]
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()

    store = deployment.model_store()
    assert store.read_manifest(model_name) is None
    assert store.staged_model_names() == [model_name]
    assert store.sweep_staging(model_name) == 1
    assert deployment.server.keys(deployment.store) == []
    assert store.model_names() == []


def test_an_unknown_bucket_fails_with_the_oss_message_and_never_falls_through(deployment: Deployment) -> None:
    # A local folder of that name exists under data_dir/buckets: with a config file it must not be used.
    fallback = deployment.settings.buckets_dir / "not-configured" / PREFIX
    fallback.mkdir(parents=True)
    for path in deployment.adapter.iterdir():
        (fallback / path.name).write_bytes(path.read_bytes())

    result = run(deployment, make_job(bucket="not-configured"))

    assert result.status == JobStatus.FAILED
    assert result.error_code is not None and result.error_code.startswith(OSS_MESSAGE)
    assert "not-configured" in result.error_code
    assert result.reason_code == "storage.bucket_not_found"
    assert deployment.server.keys(deployment.store) == []


def test_a_configured_bucket_missing_on_the_server_fails_with_the_oss_message(deployment: Deployment) -> None:
    result = run(deployment, make_job(bucket="missing-bucket"))
    assert result.status == JobStatus.FAILED
    assert result.error_code is not None and result.error_code.startswith(OSS_MESSAGE)
    assert "The bucket 'missing-bucket' does not exist" in result.error_code


def test_an_empty_prefix_fails_with_the_oss_message(deployment: Deployment) -> None:
    result = run(deployment, make_job(prefix="models/nothing/"))
    assert result.status == JobStatus.FAILED
    assert result.error_code == f"{OSS_MESSAGE} No files were found under oss://my-bucket/models/nothing/."


def test_a_wrong_secret_fails_the_job_without_leaking_it(
    tmp_path: Path, s3_auth_server: S3Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    deployment = deploy(tmp_path, s3_auth_server, monkeypatch, "sqlite://")
    wrong = "wrong-secret-" + uuid.uuid4().hex
    monkeypatch.setenv("MP_TEST_SOURCE_SECRET", wrong)
    caplog.set_level(logging.DEBUG)

    registry = build_storage(deployment.settings)
    result = Importer(deployment.settings, registry, load_catalog(deployment.settings.data_dir)).run(
        make_job(), "1-test", lambda *_: None, lambda: False
    )

    assert result.status == JobStatus.FAILED
    assert result.error_code is not None and result.error_code.startswith(OSS_MESSAGE)
    assert "denied" in result.error_code
    for text in (result.error_code, json.dumps(result.report), caplog.text, repr(registry)):
        assert wrong not in text
        assert s3_auth_server.secret_access_key not in text
    assert wrong not in repr(registry.bucket("my-bucket")) and wrong not in repr(registry.model_store)


def test_a_worker_imports_from_s3_and_delete_removes_every_object(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, s3_server, monkeypatch, f"sqlite:///{tmp_path / 'worker.db'}")
    # A short lease only so that the worker's heartbeat loop, and so stop(), wake up often.
    services = open_services(deployment.settings.with_overrides(lease_seconds=1.5))
    worker = Worker(services, concurrency=2)
    try:
        workspace = services.keys.ensure_workspace("alpha")
        good = services.writes.create(
            workspace, NewJob("qwen3-8b", WeightType.LORA, StorageInfo("my-bucket", PREFIX), None)
        ).job
        unknown = services.writes.create(
            workspace, NewJob("qwen3-8b", WeightType.LORA, StorageInfo("not-configured", PREFIX), None)
        ).job
        worker.start()
        deadline = time.monotonic() + 30
        finished: dict[str, Job] = {}
        while len(finished) < 2 and time.monotonic() < deadline:
            for job_id in (good.job_id, unknown.job_id):
                current = services.reads.get_by_id(job_id)
                if current is not None and current.status.is_terminal:
                    finished[job_id] = current
            time.sleep(0.05)
    finally:
        worker.stop(grace_seconds=5)
    try:
        assert finished[good.job_id].status == JobStatus.SUCCEEDED, finished[good.job_id].error_code
        assert finished[unknown.job_id].status == JobStatus.FAILED
        assert (finished[unknown.job_id].error_code or "").startswith(OSS_MESSAGE)
        assert_published_exactly(deployment, good.model_name)

        assert delete_finished_job(services.writes, services.model_store, finished[good.job_id])
        assert deployment.server.keys(deployment.store) == []
        assert services.model_store.read_manifest(good.model_name) is None
    finally:
        services.close()


def test_a_second_import_of_the_same_folder_writes_only_its_manifest_and_names_the_first(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, s3_server, monkeypatch, f"sqlite:///{tmp_path / 'twice.db'}")
    services = open_services(deployment.settings.with_overrides(lease_seconds=1.5))
    worker = Worker(services, concurrency=1)
    try:
        workspace = services.keys.ensure_workspace("alpha")
        request = NewJob("qwen3-8b", WeightType.LORA, StorageInfo("my-bucket", PREFIX), None)
        first = services.writes.create(workspace, request).job
        worker.start()
        finished = wait_terminal(services, first.job_id)
        blobs = deployment.server.keys(deployment.store, "modelport/.blobs/")
        second = services.writes.create(workspace, request).job
        other_workspace = services.writes.create(services.keys.ensure_workspace("beta"), request).job
        finished_second = wait_terminal(services, second.job_id)
        finished_other = wait_terminal(services, other_workspace.job_id)
    finally:
        worker.stop(grace_seconds=5)
    try:
        assert {j.status for j in (finished, finished_second, finished_other)} == {JobStatus.SUCCEEDED}
        # No new blob: the second and third imports wrote their manifests and references only.
        assert deployment.server.keys(deployment.store, "modelport/.blobs/") == blobs
        assert_published_exactly(deployment, first.model_name, second.model_name, other_workspace.model_name)
        found = services.reads.report(workspace, second.job_id)
        assert found is not None and found[1] is not None
        (twin,) = [f for f in found[1]["findings"] if f["code"] == "storage.same_content"]
        assert twin["severity"] == "warning" and first.model_name in twin["message"]
        other = services.reads.report(other_workspace.workspace_id, other_workspace.job_id)
        assert other is not None and other[1] is not None  # another workspace's model is never named
        assert not [f for f in other[1]["findings"] if f["code"] == "storage.same_content"]

        assert delete_finished_job(services.writes, services.model_store, finished)
        assert_published_exactly(deployment, second.model_name, other_workspace.model_name)
    finally:
        services.close()


def wait_terminal(services: Services, job_id: str) -> Job:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = services.reads.get_by_id(job_id)
        if job is not None and job.status.is_terminal:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")
