"""The delivery loop against a real HTTP receiver on 127.0.0.1 (with the private-address allowance),
on SQLite and PostgreSQL: signed requests the reference library verifies, retries after refusals,
the address rule applied again at delivery time, no redirects, bounded waits, and several
senders that never deliver one event twice."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter

import pytest

from modelport.domain.jobs import JobStatus
from modelport.services import Services
from modelport.settings import Settings
from tests.support import webhook_receiver
from tests.support.server import wait_for
from tests.support.webhook_events import add_endpoint, attempts, finish_job, messages, sending
from tests.support.webhook_receiver import Receiver, running_receiver

receiver = webhook_receiver.receiver


@pytest.fixture
def allowed(settings: Settings) -> Settings:
    """The sender's settings in these tests: private receivers allowed, quick retries."""
    return settings.with_overrides(
        webhooks_allow_private=True, webhooks_backoff_seconds=0.05, webhooks_max_backoff_seconds=0.2
    )


def delivered(services: Services, count: int = 1) -> list[dict[str, object]]:
    def done() -> list[dict[str, object]] | None:
        rows = messages(services)
        return rows if len(rows) == count and all(row["status"] == "delivered" for row in rows) else None

    return wait_for(done, timeout=120)


def first_attempt_recorded(services: Services) -> dict[str, object]:
    def recorded() -> dict[str, object] | None:
        rows = messages(services)
        found = attempts(services, str(rows[0]["message_id"])) if rows else []
        return found[0] if found else None

    return wait_for(recorded, timeout=120)


def test_a_finished_job_is_posted_signed_and_the_reference_library_verifies_it(
    services: Services, allowed: Settings, receiver: Receiver
) -> None:
    created = add_endpoint(services, receiver.url())
    job = finish_job(services, status=JobStatus.SUCCEEDED)
    with sending(services, allowed):
        (request,) = receiver.wait_for(1)
        delivered(services)
    payload = request.verified(created.secret.reveal())
    assert payload["type"] == "import.succeeded"
    assert payload["data"]["job"]["job_id"] == job.job_id and payload["data"]["job"]["status"] == "SUCCESSED"
    assert payload["data"]["report"]["verdict"] == "passed"
    assert request.path == "/hooks/modelport"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("modelport-webhooks/")
    assert request.message_id == messages(services)[0]["message_id"]
    (attempt,) = attempts(services, request.message_id)
    assert (attempt["status_code"], attempt["error"]) == (204, None)


def test_a_refusing_receiver_gets_the_same_event_again_until_it_accepts(
    services: Services, allowed: Settings, receiver: Receiver
) -> None:
    secret = add_endpoint(services, receiver.url()).secret.reveal()
    receiver.answer(503)
    finish_job(services, status=JobStatus.FAILED)
    with sending(services, allowed):
        receiver.wait_for(2)  # refused twice: retried with backoff
        receiver.answer(204)
        delivered(services)
    requests = receiver.received
    assert len({request.message_id for request in requests}) == 1
    assert all(request.verified(secret)["type"] == "import.failed" for request in requests)
    history = attempts(services, requests[0].message_id)
    assert [a["status_code"] for a in history][:2] == [503, 503] and history[-1]["status_code"] == 204
    assert history[0]["error"] == "The receiver answered HTTP 503: busy, try later"


def test_without_the_allowance_a_private_address_is_refused_at_delivery_time_too(
    services: Services, settings: Settings, receiver: Receiver
) -> None:
    add_endpoint(services, receiver.url(), allow_private=True)  # allowed when added
    finish_job(services)
    with sending(services, settings.with_overrides(webhooks_backoff_seconds=60)):
        attempt = first_attempt_recorded(services)
    assert attempt["status_code"] is None
    assert "Not sent: The webhook URL's host 127.0.0.1 is a loopback address" in str(attempt["error"])
    assert receiver.received == []


def test_a_name_that_resolves_elsewhere_at_delivery_time_is_refused(services: Services, settings: Settings) -> None:
    """DNS rebinding: public when the endpoint was added, loopback when the event is sent."""
    answers = {"hooks.example.test": "93.184.216.34"}
    add_endpoint(services, "http://hooks.example.test/in", allow_private=False, resolver=lambda h, p: [answers[h]])
    answers["hooks.example.test"] = "127.0.0.1"
    finish_job(services)
    with sending(services, settings.with_overrides(webhooks_backoff_seconds=60), resolver=lambda h, p: [answers[h]]):
        attempt = first_attempt_recorded(services)
    assert "hooks.example.test resolves to 127.0.0.1, a loopback address" in str(attempt["error"])


def test_the_attempt_connects_to_the_checked_address_and_names_the_host(
    services: Services, allowed: Settings, receiver: Receiver
) -> None:
    # No DNS knows receiver.test: the request can only arrive if modelport connects to the address
    # its own check returned, while the Host header keeps the name the endpoint was given.
    def resolve(host: str, port: int) -> list[str]:
        assert host == "receiver.test"
        return ["127.0.0.1"]

    secret = add_endpoint(services, f"http://receiver.test:{receiver.port}/in", resolver=resolve).secret
    finish_job(services)
    with sending(services, allowed, resolver=resolve):
        (request,) = receiver.wait_for(1)
        delivered(services)
    assert request.headers["host"] == f"receiver.test:{receiver.port}"
    assert request.verified(secret.reveal())["type"] == "import.succeeded"


def test_a_redirect_is_not_followed(services: Services, allowed: Settings, receiver: Receiver) -> None:
    with running_receiver() as elsewhere:
        receiver.redirect_to = elsewhere.url("/stolen")
        add_endpoint(services, receiver.url())
        finish_job(services)
        with sending(services, allowed.with_overrides(webhooks_backoff_seconds=60)):
            attempt = first_attempt_recorded(services)
        assert attempt["status_code"] == 302
        assert "redirects are not followed" in str(attempt["error"])
        assert elsewhere.received == []


def test_a_receiver_that_never_answers_costs_one_bounded_attempt(
    services: Services, allowed: Settings, receiver: Receiver
) -> None:
    receiver.stall()
    add_endpoint(services, receiver.url())
    finish_job(services)
    with sending(services, allowed.with_overrides(webhooks_timeout_seconds=0.5, webhooks_backoff_seconds=60)):
        attempt = first_attempt_recorded(services)
    receiver.answer()
    assert attempt["status_code"] is None and attempt["error"] == "No answer within 0.5 s."
    (row,) = messages(services)
    assert row["status"] == "pending" and row["lease_owner"] is None  # retried later


def test_a_stopping_sender_hands_its_attempt_in_flight_back(
    services: Services, allowed: Settings, receiver: Receiver
) -> None:
    receiver.stall()
    secret = add_endpoint(services, receiver.url()).secret.reveal()
    finish_job(services)
    with sending(services, allowed):
        receiver.wait_for(1)
    (row,) = messages(services)
    assert (row["status"], row["lease_owner"], row["attempts"]) == ("pending", None, 0)
    receiver.answer()
    with sending(services, allowed):
        delivered(services)
    first, second = receiver.wait_for(2)
    assert first.message_id == second.message_id
    assert second.verified(secret)["type"] == "import.succeeded"


def test_several_senders_deliver_each_event_once(services: Services, allowed: Settings, receiver: Receiver) -> None:
    add_endpoint(services, receiver.url())
    for n in range(30):
        finish_job(services, n=n)
    with sending(services, allowed), sending(services, allowed), sending(services, allowed):
        delivered(services, 30)
    counts = Counter(request.message_id for request in receiver.received)
    assert len(counts) == 30 and set(counts.values()) == {1}
    assert {json.loads(request.body)["data"]["job"]["display_name"] for request in receiver.received} == {
        f"job {n}" for n in range(30)
    }


def test_a_delivery_to_a_checked_ipv6_address_uses_brackets(services: Services, allowed: Settings) -> None:
    address = ipaddress.ip_address("::1")
    add_endpoint(services, "http://v6.test:9/in", resolver=lambda h, p: [str(address)])
    finish_job(services)
    with sending(services, allowed.with_overrides(webhooks_backoff_seconds=60), resolver=lambda h, p: [str(address)]):
        attempt = first_attempt_recorded(services)
    # Nothing listens on port 9: what matters is that the attempt went to [::1]:9 and said so.
    assert attempt["status_code"] is None and "::1" in str(attempt["error"])
