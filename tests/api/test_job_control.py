"""Job control through the API, on SQLite and PostgreSQL: cancel, Idempotency-Key on create, and the
per-workspace limits a create is checked against (Throttling, 429)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import create_app
from modelport.db.engine import make_engine
from modelport.db.job_queue import JobQueue, Lease
from modelport.db.job_reads import JobReads
from modelport.db.job_writes import CancelledEnding, IdempotencyKey, JobWrites
from modelport.db.quotas import Limits
from modelport.domain.jobs import JobFilter, JobStatus, NewJob, StorageInfo, WeightType
from modelport.services import Services, open_services
from modelport.settings import Settings
from tests.api.test_envelope_and_auth import IMPORT, assert_error
from tests.support.uploads import create_body

CANCELLED = "Cancelled by the user."


def create(client: TestClient, auth: dict[str, str], key: str | None = None, **extra: Any) -> dict[str, Any]:
    headers = auth if key is None else {**auth, "Idempotency-Key": key}
    response = client.post(IMPORT, headers=headers, json=create_body(**extra))
    assert response.status_code == 200, response.text
    output: dict[str, Any] = response.json()["output"]
    return output


def workspace_of(services: Services, name: str) -> int:
    return services.keys.ensure_workspace(name)


# -- cancel -------------------------------------------------------------------------------------------


def test_cancelling_a_pending_job_ends_it_at_once_with_the_cancelled_report(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    job = create(client, auth)
    answered = client.post(f"{IMPORT}/{job['job_id']}/cancel", headers=auth)
    assert answered.status_code == 200, answered.text
    output = answered.json()["output"]
    assert (output["job_id"], output["status"], output["error_code"]) == (job["job_id"], "FAILED", CANCELLED)
    assert client.get(f"{IMPORT}/{job['job_id']}", headers=auth).json()["output"]["error_code"] == CANCELLED
    report = client.get(f"{IMPORT}/{job['job_id']}/report", headers=auth).json()["output"]
    assert report["verdict"] == "cancelled" and report["error"] == CANCELLED
    assert [finding["code"] for finding in report["findings"]] == ["job.cancelled"]
    # Nothing is left for a worker, and the counts moved with the status.
    assert services.queue.claim_next("w", 30, 3) is None
    assert client.get(IMPORT, headers=auth, params={"status": "FAILED"}).json()["output"]["total"] == 1


def test_cancelling_a_finished_job_is_denied_and_changes_nothing(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    job = create(client, auth)
    claim = services.queue.claim_next("w", 30, 3)
    assert claim is not None and services.queue.finish(claim.job.job_id, "w", JobStatus.SUCCEEDED)
    body = assert_error(client.post(f"{IMPORT}/{job['job_id']}/cancel", headers=auth), 400, "OperationDenied")
    assert "already finished (SUCCESSED)" in body["message"]
    assert client.get(f"{IMPORT}/{job['job_id']}", headers=auth).json()["output"]["status"] == "SUCCESSED"
    # A second cancel of a cancelled job is denied the same way.
    other = create(client, auth)
    assert client.post(f"{IMPORT}/{other['job_id']}/cancel", headers=auth).status_code == 200
    assert_error(client.post(f"{IMPORT}/{other['job_id']}/cancel", headers=auth), 400, "OperationDenied")


def test_cancel_of_an_unknown_or_foreign_job_is_not_found(
    client: TestClient, auth: dict[str, str], other_key: str
) -> None:
    job = create(client, auth)
    foreign = {"Authorization": f"Bearer {other_key}"}
    assert_error(client.post(f"{IMPORT}/{job['job_id']}/cancel", headers=foreign), 404, "NotFound")
    assert_error(client.post(f"{IMPORT}/00000000-0000-4000-8000-000000000000/cancel", headers=auth), 404, "NotFound")
    assert_error(client.post(f"{IMPORT}/{job['job_id']}/cancel"), 401, "InvalidApiKey")
    assert client.get(f"{IMPORT}/{job['job_id']}", headers=auth).json()["output"]["status"] == "PENDING"


def test_cancelling_a_running_job_flags_it_for_its_worker_and_forbids_its_success(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    job = create(client, auth)
    claim = services.queue.claim_next("w", 30, 3)
    assert claim is not None
    assert services.queue.heartbeat(claim.job.job_id, "w", 30) is Lease.HELD
    answered = client.post(f"{IMPORT}/{job['job_id']}/cancel", headers=auth).json()["output"]
    assert answered["status"] == "RUNNING"  # the worker holding it ends it
    assert services.queue.heartbeat(claim.job.job_id, "w", 30) is Lease.CANCEL_REQUESTED
    # Once a cancel is accepted the job cannot end SUCCESSED (a worker publishing meanwhile takes
    # its model down and records the cancel instead).
    assert not services.queue.finish(claim.job.job_id, "w", JobStatus.SUCCEEDED)
    assert services.queue.finish(claim.job.job_id, "w", JobStatus.FAILED, error_code=CANCELLED)
    assert client.get(f"{IMPORT}/{job['job_id']}", headers=auth).json()["output"]["error_code"] == CANCELLED


def test_a_cancel_flag_survives_the_worker_that_held_the_job(services: Services) -> None:
    """A worker that died holding a cancelled job: the next claim carries the flag to its new owner."""
    workspace = workspace_of(services, "alpha")
    job = services.writes.create(workspace, NewJob("qwen3-8b", WeightType.LORA, StorageInfo("b", "p/"), None)).job
    claim = services.queue.claim_next("dead", 0.05, 3)
    assert claim is not None and not claim.job.cancel_requested
    services.writes.cancel(job.job_id, _ending())
    services.queue.expire_leases_of(["dead"])
    reclaimed = services.queue.claim_next("alive", 30, 3)
    assert reclaimed is not None and reclaimed.job.job_id == job.job_id and reclaimed.job.cancel_requested


def _ending() -> CancelledEnding:
    return CancelledEnding(CANCELLED, "job.cancelled", {"verdict": "cancelled"})


# -- Idempotency-Key ----------------------------------------------------------------------------------


def test_the_same_key_and_body_return_the_first_job_and_create_no_second(
    client: TestClient, auth: dict[str, str]
) -> None:
    first = create(client, auth, key="run-42")
    again = create(client, auth, key="run-42")
    assert again == first
    assert client.get(IMPORT, headers=auth).json()["output"]["total"] == 1
    # A display_name omitted and a key sent again with the same parsed body are the same request.
    assert create(client, auth, key="run-42", display_name=None)["job_id"] == first["job_id"]


def test_the_same_key_with_another_body_is_invalid_and_names_the_key(client: TestClient, auth: dict[str, str]) -> None:
    create(client, auth, key="run-43")
    response = client.post(
        IMPORT, headers={**auth, "Idempotency-Key": "run-43"}, json=create_body(prefix="models/other/")
    )
    body = assert_error(response, 400, "InvalidParameter")
    assert "'run-43'" in body["message"] and "different request" in body["message"]
    assert client.get(IMPORT, headers=auth).json()["output"]["total"] == 1


def test_keys_are_per_workspace(client: TestClient, auth: dict[str, str], other_key: str) -> None:
    mine = create(client, auth, key="shared-name")
    theirs = create(client, {"Authorization": f"Bearer {other_key}"}, key="shared-name")
    assert mine["job_id"] != theirs["job_id"]


@pytest.mark.parametrize("bad", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_refused_before_anything_is_created(
    client: TestClient, auth: dict[str, str], bad: str
) -> None:
    headers = [(b"authorization", auth["Authorization"].encode()), (b"idempotency-key", bad.encode())]
    response = client.post(IMPORT, headers=headers, json=create_body())  # type: ignore[arg-type]
    body = assert_error(response, 400, "InvalidParameter")
    assert "Idempotency-Key" in body["message"]
    assert client.get(IMPORT, headers=auth).json()["output"]["total"] == 0


def test_two_key_headers_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    headers = [
        (b"authorization", auth["Authorization"].encode()),
        (b"idempotency-key", b"a"),
        (b"idempotency-key", b"b"),
    ]
    response = client.post(IMPORT, headers=headers, json=create_body())  # type: ignore[arg-type]
    assert "one Idempotency-Key header" in assert_error(response, 400, "InvalidParameter")["message"]


def test_a_key_after_its_job_was_deleted_creates_a_new_job(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    first = create(client, auth, key="run-44")
    assert client.post(f"{IMPORT}/{first['job_id']}/cancel", headers=auth).status_code == 200
    assert client.delete(f"{IMPORT}/{first['job_id']}", headers=auth).status_code == 200
    second = create(client, auth, key="run-44")
    assert second["job_id"] != first["job_id"]


def test_concurrent_creates_with_one_key_make_exactly_one_job(services: Services) -> None:
    """Eight writers with pools of their own (like API replicas) race on one key."""
    workspace = workspace_of(services, "alpha")
    request = NewJob("qwen3-8b", WeightType.LORA, StorageInfo("my-bucket", "models/lora/"), None)
    key = IdempotencyKey("race", "0" * 64)
    answers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def replica() -> None:
        engine = make_engine(services.settings.database_url)
        try:
            writes = JobWrites(engine, JobReads(engine))
            start.wait(timeout=60)
            answers.append(writes.create(workspace, request, key).job.job_id)
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 8 and len(set(answers)) == 1
    assert services.reads.page(workspace, page_no=1, page_size=10, where=JobFilter()).total == 1


# -- quotas -------------------------------------------------------------------------------------------


def test_a_create_beyond_max_pending_is_throttled_and_names_the_limit(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    services.quotas.set_limits(workspace_of(services, "alpha"), Limits(max_pending=2))
    create(client, auth, key="k1")
    create(client, auth)
    body = assert_error(client.post(IMPORT, headers=auth, json=create_body()), 429, "Throttling")
    assert "max_pending is 2" in body["message"] and "2 PENDING" in body["message"]
    # A retry of a create that already succeeded is answered, limit or not: it creates nothing.
    assert create(client, auth, key="k1")["status"] == "PENDING"
    assert client.get(IMPORT, headers=auth).json()["output"]["total"] == 2
    # Once one starts there is room again.
    assert services.queue.claim_next("w", 30, 3) is not None
    create(client, auth)


def test_a_create_once_max_stored_bytes_is_reached_is_throttled(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    services.quotas.set_limits(workspace_of(services, "alpha"), Limits(max_stored_bytes=1000))
    first = create(client, auth)
    claim = services.queue.claim_next("w", 30, 3)
    assert claim is not None
    assert services.queue.finish(claim.job.job_id, "w", JobStatus.SUCCEEDED, stored_bytes=1500)
    body = assert_error(client.post(IMPORT, headers=auth, json=create_body()), 429, "Throttling")
    assert "1500 bytes" in body["message"] and "max_stored_bytes is 1000" in body["message"]
    # Deleting the import gives its bytes back.
    assert client.delete(f"{IMPORT}/{first['job_id']}", headers=auth).status_code == 200
    assert services.quotas.usage(workspace_of(services, "alpha")).stored_bytes == 0
    create(client, auth)


def test_the_default_max_pending_applies_without_an_operator_limit(settings: Settings, auth: dict[str, str]) -> None:
    services = open_services(settings.with_overrides(default_max_pending=1))
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            create(client, auth)
            body = assert_error(client.post(IMPORT, headers=auth, json=create_body()), 429, "Throttling")
            assert "max_pending is 1" in body["message"]
    finally:
        services.close()


def test_other_workspaces_are_not_throttled_by_one_workspaces_limit(
    client: TestClient, services: Services, auth: dict[str, str], other_key: str
) -> None:
    services.quotas.set_limits(workspace_of(services, "alpha"), Limits(max_pending=1))
    create(client, auth)
    assert_error(client.post(IMPORT, headers=auth, json=create_body()), 429, "Throttling")
    create(client, {"Authorization": f"Bearer {other_key}"})
    create(client, {"Authorization": f"Bearer {other_key}"})


def test_the_cancel_route_and_idempotency_header_are_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    cancel = document["paths"][f"{IMPORT}/{{job_id}}/cancel"]["post"]
    assert cancel["operationId"] == "cancelImportJob" and "429" in cancel["responses"]
    create_parameters = document["paths"][IMPORT]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= create_parameters[0].items()


def test_metrics_show_the_queue_per_workspace(
    client: TestClient, services: Services, auth: dict[str, str], other_key: str
) -> None:
    create(client, auth)
    create(client, auth)
    create(client, {"Authorization": f"Bearer {other_key}"})
    assert services.queue.claim_next("w", 30, 3) is not None
    text = client.get("/metrics").text
    assert 'modelport_queue_pending{workspace="alpha"} 1.0' in text
    # Neither workspace had a job claimed before, so the first claim went to the first workspace.
    assert 'modelport_queue_running{workspace="alpha"} 1.0' in text
    assert 'modelport_queue_pending{workspace="beta"} 1.0' in text
    assert 'modelport_queue_running{workspace="beta"} 0.0' in text
    assert 'modelport_queue_oldest_wait_seconds{workspace="beta"}' in text


def test_queue_jobs_of_a_workspace_at_max_running_wait(services: Services) -> None:
    alpha, beta = workspace_of(services, "alpha"), workspace_of(services, "beta")
    services.quotas.set_limits(alpha, Limits(max_running=1))
    request = NewJob("qwen3-8b", WeightType.LORA, StorageInfo("b", "p/"), None)
    for _ in range(3):
        services.writes.create(alpha, request)
    services.writes.create(beta, request)
    queue = JobQueue(services.engine)
    claims = [queue.claim_next(f"w{n}", 30, 3) for n in range(3)]
    taken = [claim.job.workspace_id for claim in claims if claim is not None]
    assert sorted(taken) == sorted([alpha, beta])  # alpha's second job waits for its first
    first_alpha = next(claim for claim in claims if claim is not None and claim.job.workspace_id == alpha)
    assert queue.finish(first_alpha.job.job_id, first_alpha.owner, JobStatus.FAILED, error_code="x")
    next_claim = queue.claim_next("w9", 30, 3)
    assert next_claim is not None and next_claim.job.workspace_id == alpha
