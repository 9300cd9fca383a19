"""What is published is what was validated: a file swapped between the inspection and the copy, for
one of the same size, fails the import with "changed during import" and publishes nothing, on a
local bucket and on an S3-protocol server (moto), for small files and safetensors headers alike.

The swap happens at the one moment it matters: when the importer reports that copying begins,
after every rule has run on the original bytes and before the first byte is copied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.domain.jobs import JobStatus, Phase
from modelport.pipeline.importer import Importer, ImportResult
from modelport.settings import Settings
from modelport.storage.config import build_storage
from tests.integration.test_storage_s3_import import PREFIX, Deployment, deploy, make_job
from tests.support import s3_server as moto
from tests.support.jobs import running_job
from tests.support.s3_server import S3Server

s3_server = moto.s3_server


def same_size_config(original: bytes) -> bytes:
    """Another adapter_config.json of exactly the same length (a lower lora_alpha, padded)."""
    document = json.loads(original)
    document["lora_alpha"] = 1
    swapped = json.dumps(document).encode()
    assert len(swapped) <= len(original)
    return swapped + b" " * (len(original) - len(swapped))


def same_size_header(original: bytes) -> bytes:
    """The adapter with one byte of its header changed (a tensor renamed), same length."""
    at = original.index(b"q_proj")
    return original[:at] + b"k_proj" + original[at + 6 :]


def run_with_swap(importer: Importer, job_prefix: str, bucket: str, swap: Callable[[], None]) -> ImportResult:
    swapped: list[bool] = []

    def progress(phase: Phase, _done: int, _total: int | None) -> None:
        if phase == Phase.COPYING and not swapped:
            swap()
            swapped.append(True)

    job = running_job(bucket=bucket, prefix=job_prefix)
    result = importer.run(job, "1-test", progress, lambda: False)
    assert swapped, "the copy never started"
    return result


def assert_changed_and_unpublished(result: ImportResult, name: str) -> None:
    assert result.status == JobStatus.FAILED
    assert result.reason_code == "storage.file_changed"
    assert result.error_code is not None and f"{name} changed during import" in result.error_code
    assert "nothing was published" in result.error_code
    assert "manifest" not in result.report


@pytest.mark.parametrize(
    ("name", "change"),
    [("adapter_config.json", same_size_config), ("adapter_model.safetensors", same_size_header)],
)
def test_a_local_file_swapped_after_validation_is_not_published(
    tmp_path: Path, name: str, change: Callable[[bytes], bytes]
) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "buckets" / "my-bucket" / "swapped"
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(folder, "qwen3-8b", base.architecture)
    settings = Settings(data_dir=data_dir, database_url="sqlite://", chunk_bytes=4096)
    importer = Importer(settings, build_storage(settings), load_catalog(data_dir))
    path = folder / name
    original = path.read_bytes()

    result = run_with_swap(importer, "swapped/", "my-bucket", lambda: path.write_bytes(change(original)))

    assert_changed_and_unpublished(result, name)
    models = settings.models_dir
    assert not models.exists() or [p.name for p in models.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("name", "change"),
    [("adapter_config.json", same_size_config), ("adapter_model.safetensors", same_size_header)],
)
def test_an_object_swapped_after_validation_is_not_published(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, name: str, change: Callable[[bytes], bytes]
) -> None:
    deployment: Deployment = deploy(tmp_path, s3_server, monkeypatch, "sqlite://")
    key = f"team/{PREFIX}{name}"
    original = s3_server.get(deployment.source, key)

    def swap() -> None:
        s3_server.client().put_object(Bucket=deployment.source, Key=key, Body=change(original))

    result = run_with_swap(deployment.importer(), PREFIX, "my-bucket", swap)

    assert_changed_and_unpublished(result, name)
    assert s3_server.keys(deployment.store) == []


def test_without_a_swap_the_same_import_succeeds(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the swap tests fail because of the swap, not because of the set-up."""
    deployment = deploy(tmp_path, s3_server, monkeypatch, "sqlite://")
    result = deployment.importer().run(make_job(), "1-test", lambda *_: None, lambda: False)
    assert result.status == JobStatus.SUCCEEDED, result.error_code
