"""Envelopes, request ids, authentication, unknown routes and the last-resort 500."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from modelport.api.app import create_app
from modelport.services import Services, open_services
from modelport.settings import Settings
from tests.support.uploads import create_body

IMPORT = "/api/v1/custom_models/import"
ROUTES = [
    ("POST", IMPORT),
    ("GET", IMPORT),
    ("GET", f"{IMPORT}/{uuid.uuid4()}"),
    ("DELETE", f"{IMPORT}/{uuid.uuid4()}"),
]


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"request_id", "code", "message"}
    assert body["code"] == code
    assert body["message"] and isinstance(body["message"], str)
    assert response.headers["x-request-id"] == body["request_id"]
    assert uuid.UUID(body["request_id"]).version == 4
    return body


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic abc", "Bearer sk-short", "Bearer sk-" + "x" * 40, "sk-" + "y" * 40],
)
def test_every_route_refuses_a_missing_malformed_or_unknown_key(
    client: TestClient, method: str, path: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.request(method, path, headers=headers, json=create_body())
    assert_error(response, 401, "InvalidApiKey")


def test_a_revoked_key_is_refused(client: TestClient, services: Services, key: str) -> None:
    assert client.get(IMPORT, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    services.keys.revoke(key)
    assert_error(client.get(IMPORT, headers={"Authorization": f"Bearer {key}"}), 401, "InvalidApiKey")


def test_bearer_scheme_is_case_insensitive(client: TestClient, key: str) -> None:
    assert client.get(IMPORT, headers={"Authorization": f"bearer {key}"}).status_code == 200


def test_success_envelope_has_request_id_header_and_no_code(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(IMPORT, headers=auth)
    body = response.json()
    assert set(body) == {"request_id", "output"}
    assert response.headers["x-request-id"] == body["request_id"]
    assert uuid.UUID(body["request_id"]).version == 4


def test_request_ids_are_unique(client: TestClient, auth: dict[str, str]) -> None:
    ids = {client.get(IMPORT, headers=auth).json()["request_id"] for _ in range(5)}
    assert len(ids) == 5


def test_client_headers_of_the_official_cli_are_tolerated(client: TestClient, auth: dict[str, str]) -> None:
    headers = {
        **auth,
        "Content-Type": "application/json",
        "User-Agent": "bailian-cli/2.8.0",
        "x-dashscope-source-config": '{"channel":"bailian-cli","tags":{"t1":"public","t2":""}}',
    }
    assert client.get(IMPORT, headers=headers).status_code == 200
    assert client.request("DELETE", f"{IMPORT}/{uuid.uuid4()}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/api/v1/custom_models"),
        ("PUT", IMPORT),
        ("PATCH", f"{IMPORT}/x"),
        ("POST", f"{IMPORT}/x"),
    ],
)
def test_unknown_routes_and_methods_answer_not_found(
    client: TestClient, auth: dict[str, str], method: str, path: str
) -> None:
    assert_error(client.request(method, path, headers=auth), 404, "NotFound")


def test_unexpected_failures_answer_internal_error_without_details(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    with services.engine.begin() as connection:
        connection.execute(text("DROP TABLE job_counts"))
    body = assert_error(client.get(IMPORT, headers=auth), 500, "InternalError")
    assert "Traceback" not in body["message"] and "job_counts" not in body["message"]


def test_health_and_readiness_need_no_key(client: TestClient, services: Services) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    services.engine.dispose()


def test_readiness_fails_in_the_error_shape_when_the_database_is_gone(tmp_path: Path) -> None:
    # SQLite only: replacing its file is the portable way to lose a database mid-flight.
    database = tmp_path / "gone.db"
    services = open_services(Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{database}"))
    services.engine.dispose()
    for path in tmp_path.glob("gone.db*"):
        path.unlink()
    database.mkdir()  # a folder where the database file was: every connection now fails
    with TestClient(create_app(services)) as test_client:
        assert_error(test_client.get("/readyz"), 500, "InternalError")
        assert test_client.get("/healthz").status_code == 200
    services.close()


def test_openapi_document_describes_every_route_and_no_framework_422(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths[IMPORT]) == {"get", "post"}
    assert set(paths[IMPORT + "/{job_id}"]) == {"get", "delete"}
    assert "/api/v1/custom_models/import/{job_id}/report" in paths
    assert "/api/v1/custom_models/import/validate" in paths
    assert "/api/v1/custom_models/base_models" in paths
    for path in paths.values():
        for operation in path.values():
            assert "422" not in operation["responses"]
    assert "HTTPValidationError" not in document.get("components", {}).get("schemas", {})
    for operation in (paths[IMPORT]["post"], paths[IMPORT + "/{job_id}"]["delete"]):
        assert {"400", "401", "404", "500"} <= set(operation["responses"])


def test_gmt_create_and_ids_have_the_wire_formats(client: TestClient, auth: dict[str, str]) -> None:
    job = client.post(IMPORT, headers=auth, json=create_body()).json()["output"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00", job["gmt_create"])
    assert str(uuid.UUID(job["job_id"])) == job["job_id"]
    assert uuid.UUID(job["job_id"]).version == 4


def test_metrics_count_requests_by_route_template_and_jobs_by_status(client: TestClient, auth: dict[str, str]) -> None:
    client.post(IMPORT, headers=auth, json=create_body())
    client.get(f"{IMPORT}/{uuid.uuid4()}", headers=auth)
    text_body = client.get("/metrics").text
    assert 'modelport_jobs{status="PENDING"} 1.0' in text_body
    assert 'modelport_http_requests_total{method="GET",route="/api/v1/custom_models/import/{job_id}",status="404"}' in (
        text_body
    )
    assert "modelport_http_request_duration_seconds_bucket" in text_body
    assert str(uuid.UUID(int=0)) not in text_body
