"""The extension routes: a job's report (with live progress), the dry run, and the catalog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelport.services import Services
from modelport.storage.interface import ObjectVersion, RangeReader, SourceBucket
from modelport.worker.worker import Worker
from tests.api.test_envelope_and_auth import IMPORT, assert_error
from tests.support.server import wait_for
from tests.support.uploads import create_body, write_adapter

REPORT = IMPORT + "/{}/report"
VALIDATE = IMPORT + "/validate"
BASE_MODELS = "/api/v1/custom_models/base_models"


@pytest.fixture
def worker(services: Services) -> Iterator[Worker]:
    running = Worker(services)
    running.start()
    yield running
    running.stop(0)


def finished(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"{IMPORT}/{job_id}", headers=auth).json()["output"]
        return job if job["status"] in ("SUCCESSED", "FAILED") else None

    return wait_for(done, timeout=60)


def test_a_successful_jobs_report_lists_checks_files_digests_and_summary(
    client: TestClient, services: Services, auth: dict[str, str], worker: Worker
) -> None:
    write_adapter(services.settings, "my-bucket", "models/lora/")
    job = client.post(IMPORT, headers=auth, json=create_body()).json()["output"]
    finished(client, auth, job["job_id"])
    report = client.get(REPORT.format(job["job_id"]), headers=auth).json()["output"]
    assert report["verdict"] == "passed" and report["error"] is None
    assert report["job"]["job_id"] == job["job_id"] and report["job"]["status"] == "SUCCESSED"
    assert {c["name"] for c in report["checks"]} >= {"files.policy", "lora.config", "lora.shapes_and_rank"}
    assert all(c["outcome"] in ("passed", "skipped") for c in report["checks"])
    files = {f["path"]: f for f in report["files"]}
    assert files["adapter_model.safetensors"]["status"] == "accepted"
    assert len(files["adapter_model.safetensors"]["sha256"]) == 64
    assert files["README.md"]["status"] == "ignored"
    summary = report["summary"]
    assert (summary["rank"], summary["alpha"], summary["target_modules"]) == (8, 16.0, ["q_proj", "v_proj"])
    assert summary["tensor_count"] == 144 and summary["dtypes"] == {"F32": 144}
    progress = report["progress"]
    assert progress["status"] == "SUCCESSED" and progress["bytes_done"] == progress["bytes_total"] > 0


def test_a_failed_jobs_report_has_the_findings_with_reason_codes(
    client: TestClient, services: Services, auth: dict[str, str], worker: Worker
) -> None:
    write_adapter(services.settings, "my-bucket", "models/bad/", rank=12)
    job = client.post(IMPORT, headers=auth, json=create_body(prefix="models/bad/")).json()["output"]
    done = finished(client, auth, job["job_id"])
    report = client.get(REPORT.format(job["job_id"]), headers=auth).json()["output"]
    assert report["verdict"] == "failed"
    assert report["error"] == done["error_code"]
    assert report["findings"][0]["code"] == "lora.rank_not_allowed"
    assert report["findings"][0]["file"] == "adapter_config.json"


def test_a_pending_jobs_report_shows_it_queued(client: TestClient, auth: dict[str, str]) -> None:
    job = client.post(IMPORT, headers=auth, json=create_body()).json()["output"]
    report = client.get(REPORT.format(job["job_id"]), headers=auth).json()["output"]
    assert report["verdict"] == "pending"
    assert report["progress"]["status"] == "PENDING" and report["progress"]["phase"] == "queued"


def test_report_follows_the_jobs_auth_and_not_found_rules(
    client: TestClient, auth: dict[str, str], other_key: str
) -> None:
    job = client.post(IMPORT, headers=auth, json=create_body()).json()["output"]
    assert_error(client.get(REPORT.format(job["job_id"])), 401, "InvalidApiKey")
    assert_error(
        client.get(REPORT.format(job["job_id"]), headers={"Authorization": f"Bearer {other_key}"}), 404, "NotFound"
    )
    assert_error(client.get(REPORT.format("nope"), headers=auth), 404, "NotFound")


class ReadCounter:
    """Wraps a real bucket and counts the bytes read through it."""

    def __init__(self, bucket: SourceBucket) -> None:
        self._bucket = bucket
        self.name = bucket.name
        self.bytes_read = 0

    def location(self, prefix: str) -> str:
        return self._bucket.location(prefix)

    def list(self, prefix: str, *, limit: int) -> Any:
        return self._bucket.list(prefix, limit=limit)

    def open(self, prefix: str, key: str, *, pinned: ObjectVersion | None = None) -> RangeReader:
        reader = self._bucket.open(prefix, key, pinned=pinned)
        counter = self

        class Counted:
            size = reader.size
            identity = reader.identity

            def read(self, offset: int, length: int) -> bytes:
                data = reader.read(offset, length)
                counter.bytes_read += len(data)
                return data

            def close(self) -> None:
                reader.close()

        return Counted()


def test_the_dry_run_reads_headers_only_and_creates_nothing(
    client: TestClient, services: Services, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_adapter(services.settings, "my-bucket", "models/lora/")
    adapter_size = (folder / "adapter_model.safetensors").stat().st_size
    counter = ReadCounter(services.storage.bucket("my-bucket"))
    monkeypatch.setattr(services.storage, "bucket", lambda name: counter)
    response = client.post(VALIDATE, headers=auth, json=create_body())
    report = response.json()["output"]
    assert response.status_code == 200 and report["verdict"] == "passed"
    assert report["counts"]["bytes_to_copy"] > adapter_size
    assert 0 < counter.bytes_read < 64 * 1024 < adapter_size
    assert client.get(IMPORT, headers=auth).json()["output"]["total"] == 0
    assert not services.settings.models_dir.exists() or not any(services.settings.models_dir.iterdir())


def test_the_dry_run_reports_what_an_import_would_fail_on(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    write_adapter(services.settings, "my-bucket", "models/lora/", base_id="qwen2.5-7b-instruct")
    report = client.post(VALIDATE, headers=auth, json=create_body()).json()["output"]
    assert report["verdict"] == "failed"
    assert report["findings"][0]["code"] in ("lora.shape_mismatch", "lora.layer_out_of_range")
    assert "qwen3-8b" in report["error"]
    empty = client.post(VALIDATE, headers=auth, json=create_body(prefix="models/missing/")).json()["output"]
    assert empty["verdict"] == "failed"
    assert empty["error"].startswith("Failed to get files from OSS. Check the files in OSS.")


def test_the_dry_run_applies_the_create_rules(client: TestClient, auth: dict[str, str]) -> None:
    assert_error(client.post(VALIDATE, json=create_body()), 401, "InvalidApiKey")
    assert_error(client.post(VALIDATE, headers=auth, json=create_body(prefix="no-slash")), 400, "InvalidParameter")
    body = assert_error(client.post(VALIDATE, headers=auth, json=create_body(base="qwen9-1b")), 404, "NotFound")
    assert "not supported for import" in body["message"]


def test_the_catalog_lists_every_base_with_its_architecture(client: TestClient, auth: dict[str, str]) -> None:
    assert_error(client.get(BASE_MODELS), 401, "InvalidApiKey")
    output = client.get(BASE_MODELS, headers=auth).json()["output"]
    ids = [base["id"] for base in output["list"]]
    assert output["total"] == 11 == len(ids)
    assert "qwen3-8b" in ids and "qwen2.5-vl-72b-instruct" in ids
    qwen3 = next(base for base in output["list"] if base["id"] == "qwen3-8b")
    assert (qwen3["hidden_size"], qwen3["num_hidden_layers"], qwen3["vocab_size"]) == (4096, 36, 151936)
    assert qwen3["weight_types"] == ["full", "lora"]
