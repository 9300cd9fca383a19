"""The real `modelport serve` process: the embedded default end to end, and restarts mid-import."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from modelport import samples
from modelport.catalog.catalog import load_catalog
from tests.support.server import Server, wait_for

IMPORT = "/api/v1/custom_models/import"
# About 29 MB of bf16 weights: long enough to catch an import mid-copy under a bandwidth cap.
MEDIUM_BASE = samples.tiny_base_config(hidden_size=512, intermediate_size=2048, num_hidden_layers=4, vocab_size=8192)


def create(server: Server, base: str, weight_type: str, prefix: str, bucket: str = "my-bucket") -> str:
    body = {
        "model_name": base,
        "source": "oss",
        "weight_type": weight_type,
        "storage_info": {"bucket_name": bucket, "object_key": prefix},
    }
    response = server.call("POST", IMPORT, json=body)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["output"]["job_id"]
    return job_id


def verify_published_model(data_dir: Path, model_name: str) -> dict[str, object]:
    """The manifest exists and every file it lists has exactly the size and SHA-256 it claims."""
    folder = data_dir / "models" / model_name
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed | {"manifest.json"} == {p.name for p in folder.iterdir()}
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert len(data) == entry["size"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    return manifest  # type: ignore[no-any-return]


def no_staging_left(data_dir: Path) -> bool:
    """No staging folder and no claims on blobs: nothing an attempt left is waiting for a sweep."""
    folders = (data_dir / "models" / ".staging", data_dir / "models" / ".claims")
    return all(not folder.exists() or not any(folder.iterdir()) for folder in folders)


def test_a_lora_import_succeeds_and_a_broken_one_fails_with_a_reason(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(data_dir / "buckets/my-bucket/models/good/", "qwen3-8b", base.architecture)
    broken = data_dir / "buckets/my-bucket/models/rank12/"
    samples.write_lora_adapter(broken, "qwen3-8b", base.architecture, rank=12)
    server = Server(data_dir).start()
    try:
        good_id = create(server, "qwen3-8b", "lora", "models/good/")
        bad_id = create(server, "qwen3-8b", "lora", "models/rank12/")
        good = server.wait_terminal(good_id)
        bad = server.wait_terminal(bad_id)
    finally:
        server.terminate()
    assert good["status"] == "SUCCESSED" and "error_code" not in good
    manifest = verify_published_model(data_dir, good["model_name"])
    assert {f["path"] for f in manifest["files"]} == {"adapter_config.json", "adapter_model.safetensors"}  # type: ignore[index]
    assert bad["status"] == "FAILED"
    assert "r is 12" in bad["error_code"] and "8, 16, 32, 64" in bad["error_code"]
    assert not (data_dir / "models" / bad["model_name"]).exists()


def test_a_job_survives_a_crash_in_the_middle_of_its_copy(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    samples.register_base(data_dir, "crash-base", MEDIUM_BASE)
    base = load_catalog(data_dir).get("crash-base")
    assert base is not None
    samples.write_full_checkpoint(data_dir / "buckets/my-bucket/models/full/", base.config, shards=2)
    throttled = {
        "MODELPORT_MAX_BYTES_PER_SECOND": str(8 * 1024 * 1024),
        "MODELPORT_CHUNK_BYTES": str(256 * 1024),
        "MODELPORT_LEASE_SECONDS": "3",
    }
    first = Server(data_dir, throttled).start()
    job_id = create(first, "crash-base", "full", "models/full/")
    wait_for(lambda: (p := first.progress(job_id))["phase"] == "copying" and p["bytes_done"] > 0, timeout=60)
    first.kill()

    second = Server(data_dir, {"MODELPORT_LEASE_SECONDS": "3"}).start()
    try:
        job = second.wait_terminal(job_id, timeout=120)
        report = second.call("GET", f"{IMPORT}/{job_id}/report").json()["output"]
    finally:
        second.terminate()
    assert job["status"] == "SUCCESSED", job
    assert report["progress"]["attempts"] == 2
    verify_published_model(data_dir, job["model_name"])
    assert no_staging_left(data_dir)
    assert "recovered 1 job(s) from 1 dead worker(s)" in second.output()


def test_sigterm_hands_a_running_import_back_and_the_next_process_finishes_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    samples.register_base(data_dir, "slow-base", MEDIUM_BASE)
    base = load_catalog(data_dir).get("slow-base")
    assert base is not None
    samples.write_full_checkpoint(data_dir / "buckets/my-bucket/models/full/", base.config)
    throttled = {"MODELPORT_MAX_BYTES_PER_SECOND": str(4 * 1024 * 1024), "MODELPORT_CHUNK_BYTES": str(256 * 1024)}
    first = Server(data_dir, throttled, extra_args=["--grace-seconds", "0"]).start()
    job_id = create(first, "slow-base", "full", "models/full/")
    wait_for(lambda: (p := first.progress(job_id))["phase"] == "copying" and p["bytes_done"] > 0, timeout=60)
    assert first.terminate() == 0
    assert "handed back to the queue" in first.output()

    second = Server(data_dir).start()
    try:
        job = second.wait_terminal(job_id)
        attempts = second.progress(job_id)["attempts"]
    finally:
        second.terminate()
    assert job["status"] == "SUCCESSED"
    assert attempts == 1  # a graceful hand-back does not use up an attempt
    verify_published_model(data_dir, job["model_name"])
    assert no_staging_left(data_dir)
