"""The webhook routes: the endpoints of the caller's workspace, the secret shown once, the address
rule, another workspace's endpoints out of reach, and a real job's event delivered, listed and
redelivered through them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import create_app
from modelport.db.webhook_endpoints import MAX_ENDPOINTS_PER_WORKSPACE
from modelport.services import Services, open_services
from modelport.settings import Settings
from modelport.worker.worker import Worker
from tests.api.test_envelope_and_auth import IMPORT, assert_error
from tests.support import webhook_receiver
from tests.support.server import wait_for
from tests.support.uploads import create_body, write_adapter
from tests.support.webhook_receiver import Receiver

receiver = webhook_receiver.receiver

WEBHOOKS = "/api/v1/custom_models/webhooks"
PUBLIC_URL = "https://93.184.216.34/hooks/modelport?token=abc"
UNKNOWN_ENDPOINT = "ep_" + "0" * 32
UNKNOWN_MESSAGE = "msg_" + "0" * 32


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver runs on 127.0.0.1, so these servers allow private addresses."""
    return settings.with_overrides(webhooks_allow_private=True, webhooks_backoff_seconds=0.05)


@pytest.fixture
def strict_client(settings: Settings, services: Services) -> Iterator[TestClient]:
    """The same database, served without the private-address allowance."""
    strict = open_services(settings.with_overrides(webhooks_allow_private=False))
    with TestClient(create_app(strict), raise_server_exceptions=False) as test_client:
        yield test_client
    strict.close()


def add(client: TestClient, auth: dict[str, str], url: str = PUBLIC_URL, **body: object) -> dict[str, object]:
    response = client.post(WEBHOOKS, headers=auth, json={"url": url, **body})
    assert response.status_code == 200, response.text
    output: dict[str, object] = response.json()["output"]
    return output


def test_an_endpoint_is_added_with_its_secret_shown_once(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(WEBHOOKS, headers=auth, json={"url": PUBLIC_URL})
    body = response.json()
    assert set(body) == {"request_id", "output"} and response.headers["x-request-id"] == body["request_id"]
    created = body["output"]
    assert set(created) == {"endpoint_id", "url", "events", "gmt_create", "secret"}
    assert created["url"] == PUBLIC_URL and created["events"] == ["import.succeeded", "import.failed"]
    assert str(created["endpoint_id"]).startswith("ep_") and str(created["secret"]).startswith("whsec_")
    listed = client.get(WEBHOOKS, headers=auth)
    assert listed.json()["output"] == {"total": 1, "list": [{k: v for k, v in created.items() if k != "secret"}]}
    deliveries = client.get(f"{WEBHOOKS}/{created['endpoint_id']}/deliveries", headers=auth)
    removed = client.delete(f"{WEBHOOKS}/{created['endpoint_id']}", headers=auth)
    assert removed.json()["output"]["endpoint_id"] == created["endpoint_id"]
    for later in (listed, deliveries, removed):
        assert str(created["secret"]) not in later.text and "secret" not in later.text
    assert client.get(WEBHOOKS, headers=auth).json()["output"] == {"total": 0, "list": []}


def test_events_are_chosen_per_endpoint(client: TestClient, auth: dict[str, str]) -> None:
    created = add(client, auth, events=["IMPORT.RUNNING", "import.failed", "import.failed"])
    assert created["events"] == ["import.running", "import.failed"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "url is required."),
        ({"url": 7}, "url must be a string."),
        ({"url": PUBLIC_URL, "events": "import.failed"}, "events must be a list"),
        ({"url": PUBLIC_URL, "events": []}, "at least one event"),
        ({"url": PUBLIC_URL, "events": ["import.deleted"]}, "'import.deleted' is not an event"),
        ({"url": "ftp://93.184.216.34/"}, "http:// or https://"),
        ({"url": "https://u:p@93.184.216.34/"}, "user name or password"),
        ({"url": "http://0.0.0.0:8080/"}, "unspecified address"),
    ],
)
def test_a_bad_body_is_invalid_parameter_with_a_sentence(
    client: TestClient, auth: dict[str, str], body: dict[str, object], needle: str
) -> None:
    error = assert_error(client.post(WEBHOOKS, headers=auth, json=body), 400, "InvalidParameter")
    assert needle in error["message"]


def test_a_body_that_is_not_json_is_invalid_parameter(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(WEBHOOKS, headers={**auth, "content-type": "application/json"}, content=b"{nope")
    assert assert_error(response, 400, "InvalidParameter")["message"] == "The request body is not valid JSON."


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
    ],
)
def test_private_addresses_are_refused_without_the_operators_allowance(
    strict_client: TestClient, auth: dict[str, str], url: str
) -> None:
    error = assert_error(strict_client.post(WEBHOOKS, headers=auth, json={"url": url}), 400, "InvalidParameter")
    assert "MODELPORT_WEBHOOKS_ALLOW_PRIVATE=1" in error["message"]
    assert strict_client.get(WEBHOOKS, headers=auth).json()["output"]["total"] == 0


def test_a_workspace_has_a_bounded_number_of_endpoints(client: TestClient, auth: dict[str, str]) -> None:
    for n in range(MAX_ENDPOINTS_PER_WORKSPACE):
        add(client, auth, url=f"{PUBLIC_URL}&n={n}")
    error = assert_error(client.post(WEBHOOKS, headers=auth, json={"url": PUBLIC_URL}), 400, "OperationDenied")
    assert str(MAX_ENDPOINTS_PER_WORKSPACE) in error["message"]


def test_another_workspaces_endpoints_are_not_found(client: TestClient, auth: dict[str, str], other_key: str) -> None:
    created = add(client, auth)
    other = {"Authorization": f"Bearer {other_key}"}
    endpoint = f"{WEBHOOKS}/{created['endpoint_id']}"
    assert client.get(WEBHOOKS, headers=other).json()["output"]["total"] == 0
    assert_error(client.get(f"{endpoint}/deliveries", headers=other), 404, "NotFound")
    assert_error(client.post(f"{endpoint}/deliveries/{UNKNOWN_MESSAGE}/redeliver", headers=other), 404, "NotFound")
    assert_error(client.delete(endpoint, headers=other), 404, "NotFound")
    assert client.get(WEBHOOKS, headers=auth).json()["output"]["total"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", WEBHOOKS),
        ("GET", WEBHOOKS),
        ("DELETE", f"{WEBHOOKS}/{UNKNOWN_ENDPOINT}"),
        ("GET", f"{WEBHOOKS}/{UNKNOWN_ENDPOINT}/deliveries"),
        ("POST", f"{WEBHOOKS}/{UNKNOWN_ENDPOINT}/deliveries/{UNKNOWN_MESSAGE}/redeliver"),
    ],
)
def test_every_webhook_route_needs_a_valid_key(client: TestClient, method: str, path: str) -> None:
    assert_error(client.request(method, path, json={"url": PUBLIC_URL}), 401, "InvalidApiKey")
    bad = {"Authorization": "Bearer sk-" + "x" * 40}
    assert_error(client.request(method, path, headers=bad, json={"url": PUBLIC_URL}), 401, "InvalidApiKey")


@pytest.mark.parametrize("endpoint_id", [UNKNOWN_ENDPOINT, "nope", str(uuid.uuid4()), "ep_" + "g" * 32])
def test_unknown_or_malformed_ids_are_not_found(client: TestClient, auth: dict[str, str], endpoint_id: str) -> None:
    assert_error(client.get(f"{WEBHOOKS}/{endpoint_id}/deliveries", headers=auth), 404, "NotFound")
    assert_error(client.delete(f"{WEBHOOKS}/{endpoint_id}", headers=auth), 404, "NotFound")


def test_the_deliveries_limit_is_checked(client: TestClient, auth: dict[str, str]) -> None:
    endpoint = f"{WEBHOOKS}/{add(client, auth)['endpoint_id']}/deliveries"
    for bad in ("0", "101", "x", "-1"):
        assert_error(client.get(endpoint, headers=auth, params={"limit": bad}), 400, "InvalidParameter")
    assert client.get(endpoint, headers=auth, params={"limit": "100"}).json()["output"] == {"limit": 100, "list": []}


def test_a_jobs_end_is_delivered_listed_and_redelivered_through_the_routes(
    client: TestClient, services: Services, auth: dict[str, str], receiver: Receiver
) -> None:
    created = add(client, auth, url=receiver.url())
    secret, endpoint = str(created["secret"]), f"{WEBHOOKS}/{created['endpoint_id']}"
    write_adapter(services.settings, "my-bucket", "models/lora/")
    worker = Worker(services)
    worker.start()
    try:
        job = client.post(IMPORT, headers=auth, json=create_body()).json()["output"]
        (first,) = receiver.wait_for(1)
        payload = first.verified(secret)
        assert payload["type"] == "import.succeeded"
        polled = client.get(f"{IMPORT}/{job['job_id']}", headers=auth).json()["output"]
        assert payload["data"]["job"] == polled  # the job object exactly as GET job answers it
        assert payload["data"]["report"]["verdict"] == "passed" and payload["data"]["report"]["error"] is None

        def listed_delivered() -> dict[str, object] | None:
            (delivery,) = client.get(f"{endpoint}/deliveries", headers=auth).json()["output"]["list"]
            return delivery if delivery["status"] == "delivered" else None

        delivery = wait_for(listed_delivered, timeout=60)
        assert delivery["message_id"] == first.message_id and delivery["job_id"] == job["job_id"]
        assert delivery["event_type"] == "import.succeeded" and delivery["last_status_code"] == 204
        assert [(a["attempt"], a["status_code"], a["error"]) for a in delivery["attempts"]] == [(1, 204, None)]

        again = client.post(f"{endpoint}/deliveries/{first.message_id}/redeliver", headers=auth)
        assert again.status_code == 200 and again.json()["output"]["status"] == "pending"
        second = receiver.wait_for(2)[1]
        assert second.message_id == first.message_id and second.body == first.body
        assert second.verified(secret)["type"] == "import.succeeded"
        assert_error(client.post(f"{endpoint}/deliveries/{UNKNOWN_MESSAGE}/redeliver", headers=auth), 404, "NotFound")
    finally:
        worker.stop(0)
