"""GET one, list (paging, ordering, filters, isolation) and DELETE (rules, model removal)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelport.domain.jobs import JobStatus
from modelport.services import Services
from tests.api.test_envelope_and_auth import IMPORT, assert_error
from tests.support.blobs import manifest_bytes, write_file
from tests.support.uploads import create_body


def create(client: TestClient, auth: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = client.post(IMPORT, headers=auth, json=create_body(**extra))
    assert response.status_code == 200, response.text
    return response.json()["output"]


def finish(services: Services, status: JobStatus, error: str | None = None) -> str:
    """Claim the oldest pending job and finish it as `status` (what a worker does)."""
    claim = services.queue.claim_next("test-owner", 30, 3)
    assert claim is not None
    assert services.queue.finish(claim.job.job_id, "test-owner", status, error_code=error, reason_code="x")
    return claim.job.job_id


def test_get_returns_the_job_without_weight_type(client: TestClient, auth: dict[str, str]) -> None:
    created = create(client, auth)
    fetched = client.get(f"{IMPORT}/{created['job_id']}", headers=auth).json()["output"]
    expected = {k: v for k, v in created.items() if k != "weight_type"}
    assert fetched == expected


def test_error_code_appears_only_on_failed_jobs(client: TestClient, services: Services, auth: dict[str, str]) -> None:
    ok = create(client, auth)
    bad = create(client, auth)
    finish(services, JobStatus.SUCCEEDED)
    finish(services, JobStatus.FAILED, "adapter_model.safetensors is missing")
    assert "error_code" not in client.get(f"{IMPORT}/{ok['job_id']}", headers=auth).json()["output"]
    failed = client.get(f"{IMPORT}/{bad['job_id']}", headers=auth).json()["output"]
    assert failed["status"] == "FAILED"
    assert failed["error_code"] == "adapter_model.safetensors is missing"
    listed = client.get(IMPORT, headers=auth).json()["output"]["list"]
    assert [("error_code" in job) for job in listed] == [True, False]


@pytest.mark.parametrize("job_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "x" * 300, "%20"])
def test_unknown_job_ids_are_not_found(client: TestClient, auth: dict[str, str], job_id: str) -> None:
    assert_error(client.get(f"{IMPORT}/{job_id}", headers=auth), 404, "NotFound")
    assert_error(client.delete(f"{IMPORT}/{job_id}", headers=auth), 404, "NotFound")


def test_job_ids_are_matched_case_insensitively(client: TestClient, auth: dict[str, str]) -> None:
    created = create(client, auth)
    assert client.get(f"{IMPORT}/{created['job_id'].upper()}", headers=auth).status_code == 200


def test_workspaces_are_isolated(client: TestClient, services: Services, key: str, other_key: str) -> None:
    mine = {"Authorization": f"Bearer {key}"}
    theirs = {"Authorization": f"Bearer {other_key}"}
    job = create(client, mine)
    finish(services, JobStatus.SUCCEEDED)
    assert_error(client.get(f"{IMPORT}/{job['job_id']}", headers=theirs), 404, "NotFound")
    assert_error(client.delete(f"{IMPORT}/{job['job_id']}", headers=theirs), 404, "NotFound")
    theirs_list = client.get(IMPORT, headers=theirs).json()["output"]
    assert theirs_list["total"] == 0 and theirs_list["list"] == []
    by_name = client.get(IMPORT, headers=theirs, params={"model_name": job["model_name"]}).json()["output"]
    assert by_name["total"] == 0
    assert client.get(f"{IMPORT}/{job['job_id']}", headers=mine).status_code == 200


def test_list_defaults_and_shape(client: TestClient, auth: dict[str, str]) -> None:
    for _ in range(12):
        create(client, auth)
    output = client.get(IMPORT, headers=auth).json()["output"]
    assert list(output) == ["total", "page_no", "page_size", "list"]
    assert (output["total"], output["page_no"], output["page_size"], len(output["list"])) == (12, 1, 10, 10)
    assert all("weight_type" not in job for job in output["list"])


def test_list_is_newest_first_and_stable_across_pages(client: TestClient, auth: dict[str, str]) -> None:
    created = [create(client, auth)["job_id"] for _ in range(7)]
    pages = [
        client.get(IMPORT, headers=auth, params={"page_no": n, "page_size": 3}).json()["output"] for n in (1, 2, 3, 4)
    ]
    listed = [job["job_id"] for page in pages for job in page["list"]]
    assert listed == list(reversed(created))
    assert [len(p["list"]) for p in pages] == [3, 3, 1, 0]
    assert all(p["total"] == 7 for p in pages)


def test_ties_on_gmt_create_are_broken_by_job_id(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("modelport.db.job_writes.now_ms", lambda: 1_700_000_000_123)
    created = [create(client, auth)["job_id"] for _ in range(6)]
    first = client.get(IMPORT, headers=auth, params={"page_size": 3}).json()["output"]["list"]
    second = client.get(IMPORT, headers=auth, params={"page_size": 3, "page_no": 2}).json()["output"]["list"]
    listed = [job["job_id"] for job in first + second]
    assert listed == sorted(created, reverse=True)
    assert {job["gmt_create"] for job in first + second} == {"2023-11-14T22:13:20.123+00:00"}


def test_a_page_past_the_end_is_empty(client: TestClient, auth: dict[str, str]) -> None:
    create(client, auth)
    for page_no in ("2", "1000", "99999999999999999999"):
        output = client.get(IMPORT, headers=auth, params={"page_no": page_no}).json()["output"]
        assert output["list"] == [] and output["total"] == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [("page_no", "0"), ("page_no", "-1"), ("page_no", "1.5"), ("page_no", "one"), ("page_no", ""),
     ("page_size", "0"), ("page_size", "101"), ("page_size", "-5"), ("page_size", "ten"), ("page_size", "2e1"),
     ("page_size", " 5"), ("status", "DONE"), ("status", ""), ("status", "SUCCESS")],
)  # fmt: skip
def test_bad_paging_and_filters_are_invalid_parameters(
    client: TestClient, auth: dict[str, str], name: str, value: str
) -> None:
    body = assert_error(client.get(IMPORT, headers=auth, params={name: value}), 400, "InvalidParameter")
    assert name in body["message"]


def test_page_size_bounds_are_inclusive(client: TestClient, auth: dict[str, str]) -> None:
    for size in ("1", "100"):
        assert client.get(IMPORT, headers=auth, params={"page_size": size}).status_code == 200


def test_status_filter_is_case_insensitive_and_accepts_succeeded(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    create(client, auth)
    create(client, auth)
    create(client, auth)
    finish(services, JobStatus.SUCCEEDED)
    finish(services, JobStatus.FAILED, "broken")

    def total(status: str) -> int:
        output = client.get(IMPORT, headers=auth, params={"status": status}).json()["output"]
        assert all(job["status"] == output["list"][0]["status"] for job in output["list"])
        return int(output["total"])

    assert [total(s) for s in ("SUCCESSED", "successed", "SUCCEEDED", "Succeeded")] == [1, 1, 1, 1]
    assert (total("FAILED"), total("pending"), total("RUNNING")) == (1, 1, 0)


def test_model_name_filter_is_an_exact_match(client: TestClient, auth: dict[str, str]) -> None:
    jobs = [create(client, auth) for _ in range(3)]
    target = jobs[1]["model_name"]
    output = client.get(IMPORT, headers=auth, params={"model_name": target}).json()["output"]
    assert output["total"] == 1 and output["list"][0]["job_id"] == jobs[1]["job_id"]
    for near_miss in (target[:-1], target.upper(), "qwen3-8b", ""):
        assert client.get(IMPORT, headers=auth, params={"model_name": near_miss}).json()["output"]["total"] == 0


def test_base_model_filter_lists_only_that_bases_jobs(client: TestClient, auth: dict[str, str]) -> None:
    eight = [create(client, auth) for _ in range(2)]
    fourteen = create(client, auth, model_name="qwen3-14b")
    output = client.get(IMPORT, headers=auth, params={"base_model": "qwen3-8b"}).json()["output"]
    assert output["total"] == 2
    assert [job["job_id"] for job in output["list"]] == [job["job_id"] for job in reversed(eight)]
    output = client.get(IMPORT, headers=auth, params={"base_model": "qwen3-14b", "status": "pending"}).json()["output"]
    assert [job["job_id"] for job in output["list"]] == [fourteen["job_id"]]
    for near_miss in ("qwen3", "QWEN3-8B", ""):
        assert client.get(IMPORT, headers=auth, params={"base_model": near_miss}).json()["output"]["total"] == 0


def test_filters_combine(client: TestClient, services: Services, auth: dict[str, str]) -> None:
    first = create(client, auth)
    create(client, auth)
    finish(services, JobStatus.SUCCEEDED)
    params = {"model_name": first["model_name"], "status": "SUCCESSED"}
    assert client.get(IMPORT, headers=auth, params=params).json()["output"]["total"] == 1
    params["status"] = "FAILED"
    assert client.get(IMPORT, headers=auth, params=params).json()["output"]["total"] == 0


def test_deleting_a_pending_or_running_job_is_denied(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    running = create(client, auth)
    pending = create(client, auth)
    assert services.queue.claim_next("test-owner", 30, 3) is not None
    for job in (running, pending):
        body = assert_error(client.delete(f"{IMPORT}/{job['job_id']}", headers=auth), 400, "OperationDenied")
        assert body["message"] == "The import job is currently running and cannot be deleted."
        assert client.get(f"{IMPORT}/{job['job_id']}", headers=auth).status_code == 200


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED])
def test_deleting_a_finished_job_returns_it_and_removes_its_model(
    client: TestClient, services: Services, auth: dict[str, str], status: JobStatus
) -> None:
    job = create(client, auth)
    staged = services.model_store.stage(job["model_name"], "t1")
    record, _ = write_file(staged, "adapter_model.safetensors", b"bytes")
    manifest = manifest_bytes({"adapter_model.safetensors": (record, b"bytes")})
    staged.publish(manifest)
    assert services.model_store.read_manifest(job["model_name"]) == manifest
    finish(services, status, "broken" if status == JobStatus.FAILED else None)

    response = client.delete(f"{IMPORT}/{job['job_id']}", headers=auth)
    assert response.status_code == 200
    deleted = response.json()["output"]
    assert deleted["status"] == status.value and "weight_type" not in deleted
    assert deleted["job_id"] == job["job_id"]
    assert services.model_store.read_manifest(job["model_name"]) is None
    assert not (services.settings.models_dir / job["model_name"]).exists()
    assert not any((services.settings.models_dir / ".blobs").iterdir())  # its one blob went with it
    assert_error(client.get(f"{IMPORT}/{job['job_id']}", headers=auth), 404, "NotFound")
    assert_error(client.delete(f"{IMPORT}/{job['job_id']}", headers=auth), 404, "NotFound")
    assert client.get(IMPORT, headers=auth).json()["output"]["total"] == 0
