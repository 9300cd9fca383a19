"""The webhook outbox on SQLite and PostgreSQL: events written with the status change that caused
them (and only then), one per subscribed endpoint; claims that never overlap; attempts, retries,
giving up, dead senders' leases, redelivery and removal."""

from __future__ import annotations

import json
import threading
import traceback
from collections import Counter

import pytest
from sqlalchemy import update

from modelport.db.engine import write_transaction
from modelport.db.schema import import_jobs, webhook_messages
from modelport.db.transitions import change_status
from modelport.db.webhook_outbox import AttemptOutcome
from modelport.domain.job_object import job_object
from modelport.domain.jobs import JobStatus
from modelport.domain.webhooks import DEFAULT_EVENTS, DeliveryStatus
from modelport.services import Services
from modelport.webhooks.retry import RetryPolicy
from modelport.webhooks.signing import Secret
from tests.support.webhook_events import REPORT, add_endpoint, attempts, finish_job, messages, new_job

URL = "https://93.184.216.34/hooks"  # a public address: accepted without DNS, never connected to here
POLICY = RetryPolicy(first_delay_seconds=60, max_delay_seconds=600, max_age_seconds=3600)
REFUSED = AttemptOutcome(503, "The receiver answered HTTP 503: busy")
OK = AttemptOutcome(204, None)


def make_due(services: Services) -> None:
    """What the passing of time does to every scheduled delivery, without waiting for it."""
    with services.engine.begin() as connection:
        connection.execute(
            update(webhook_messages)
            .where(webhook_messages.c.status == DeliveryStatus.PENDING.value)
            .values(next_attempt_at_ms=0)
        )


def test_each_transition_writes_one_event_per_endpoint_that_subscribes_to_it(services: Services) -> None:
    ends = add_endpoint(services, URL + "/ends").endpoint
    runs = add_endpoint(services, URL + "/runs", events=["import.running"]).endpoint
    everything = add_endpoint(services, URL + "/all", events=["import.running", "import.succeeded"]).endpoint
    add_endpoint(services, URL + "/beta", workspace="beta")
    job = finish_job(services, "alpha", JobStatus.SUCCEEDED)
    written = messages(services)
    by_endpoint = Counter((m["endpoint_id"], m["event_type"]) for m in written)
    assert by_endpoint == {
        (runs.endpoint_id, "import.running"): 1,
        (everything.endpoint_id, "import.running"): 1,
        (ends.endpoint_id, "import.succeeded"): 1,
        (everything.endpoint_id, "import.succeeded"): 1,
    }
    succeeded = json.loads(next(m for m in written if m["endpoint_id"] == ends.endpoint_id)["payload"])
    assert succeeded["type"] == "import.succeeded"
    assert succeeded["data"]["job"] == job_object(job)  # exactly what GET job answers
    assert succeeded["data"]["report"] == {
        "verdict": "passed",
        "error": None,
        "reason_code": None,
        "base_model": "qwen3-8b",
        "weight_type": "lora",
        "counts": REPORT["counts"],
    }
    assert "checks" not in succeeded["data"]["report"] and "files" not in succeeded["data"]["report"]
    running = json.loads(next(m for m in written if m["endpoint_id"] == runs.endpoint_id)["payload"])
    assert running["data"]["job"]["status"] == "RUNNING" and running["data"]["report"]["verdict"] == "pending"
    assert all(m["status"] == "pending" and m["attempts"] == 0 for m in written)


def test_a_failed_job_sends_its_error_sentence(services: Services) -> None:
    add_endpoint(services, URL)
    job = finish_job(services, "alpha", JobStatus.FAILED)
    (message,) = messages(services)
    body = json.loads(message["payload"])
    assert body["type"] == "import.failed"
    assert body["data"]["job"]["error_code"] == "adapter_config.json: r is 12." == job.error_code
    assert body["data"]["report"]["verdict"] == "failed"
    assert body["data"]["report"]["reason_code"] == "lora.rank_not_allowed"
    assert body["data"]["report"]["counts"]["errors"] == 1


def test_a_job_that_runs_out_of_attempts_emits_import_failed(services: Services) -> None:
    add_endpoint(services, URL)
    workspace_id = services.keys.ensure_workspace("alpha")
    job = new_job(workspace_id, services)
    assert services.queue.claim_next("dead-worker", 30, 1) is not None
    with services.engine.begin() as connection:
        connection.execute(update(import_jobs).where(import_jobs.c.job_id == job.job_id).values(lease_expires_at_ms=0))
    assert services.queue.claim_next("next-worker", 30, 1) is None  # exhausted instead of reclaimed
    (message,) = messages(services)
    body = json.loads(message["payload"])
    assert body["type"] == "import.failed"
    assert body["data"]["report"]["verdict"] == "failed"
    assert "could not be completed in 1 attempts" in body["data"]["report"]["error"]
    assert body["data"]["report"]["reason_code"] == "worker.attempts_exhausted"


def test_an_event_exists_only_if_its_change_committed(services: Services) -> None:
    add_endpoint(services, URL, events=["import.running"])
    workspace_id = services.keys.ensure_workspace("alpha")
    job = new_job(workspace_id, services)
    with pytest.raises(RuntimeError, match="crash"), write_transaction(services.engine) as connection:
        assert change_status(connection, job.job_id, JobStatus.PENDING, JobStatus.RUNNING, values={}) is not None
        raise RuntimeError("crash before the commit")
    assert messages(services) == []
    assert services.reads.get_by_id(job.job_id).status == JobStatus.PENDING  # type: ignore[union-attr]
    with write_transaction(services.engine) as connection:
        change_status(connection, job.job_id, JobStatus.PENDING, JobStatus.RUNNING, values={})
    assert [m["event_type"] for m in messages(services)] == ["import.running"]


def test_a_workspace_without_endpoints_writes_nothing(services: Services) -> None:
    add_endpoint(services, URL, workspace="beta")
    finish_job(services, "alpha")
    assert messages(services) == []


def test_concurrent_senders_claim_every_delivery_exactly_once(services: Services) -> None:
    add_endpoint(services, URL)
    for n in range(40):
        finish_job(services, "alpha", n=n)
    claimed: dict[str, list[str]] = {f"sender-{n}": [] for n in range(4)}
    start = threading.Barrier(len(claimed))

    def claim_all(owner: str) -> None:
        start.wait()
        while batch := services.outbox.claim_due(owner, 3, 60_000):
            claimed[owner].extend(message.message_id for message in batch)

    threads = [threading.Thread(target=claim_all, args=(owner,)) for owner in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    every = [message_id for batch in claimed.values() for message_id in batch]
    assert sorted(every) == sorted(m["message_id"] for m in messages(services))
    assert len(every) == len(set(every)) == 40
    assert services.outbox.claim_due("late", 10, 60_000) == []  # all leased


def test_a_failure_is_retried_later_and_a_success_ends_the_delivery(services: Services) -> None:
    add_endpoint(services, URL)
    finish_job(services)
    (first,) = services.outbox.claim_due("sender-a", 10, 60_000)
    assert first.attempts == 0 and first.secret.reveal().startswith("whsec_")
    status = services.outbox.record_attempt(first, "sender-a", REFUSED, started_at_ms=1, duration_ms=5, policy=POLICY)
    assert status == DeliveryStatus.PENDING
    (row,) = messages(services)
    assert row["lease_owner"] is None and row["attempts"] == 1
    assert row["next_attempt_at_ms"] >= row["created_at_ms"] + 0.8 * 60_000  # backed off
    assert services.outbox.claim_due("sender-b", 10, 60_000) == []  # not due yet
    make_due(services)
    (second,) = services.outbox.claim_due("sender-b", 10, 60_000)
    assert (second.message_id, second.attempts, second.body) == (first.message_id, 1, first.body)
    assert services.outbox.record_attempt(second, "sender-b", OK, started_at_ms=2, duration_ms=3, policy=POLICY) == (
        DeliveryStatus.DELIVERED
    )
    (delivery,) = services.outbox.deliveries(first.endpoint_id, 10)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.delivered_at_ms is not None
    assert [(a.number, a.status_code, a.error) for a in delivery.attempts] == [
        (1, 503, "The receiver answered HTTP 503: busy"),
        (2, 204, None),
    ]
    make_due(services)
    assert services.outbox.claim_due("sender-c", 10, 60_000) == []


def test_a_delivery_is_given_up_after_its_maximum_age(services: Services) -> None:
    add_endpoint(services, URL)
    finish_job(services)
    (message,) = services.outbox.claim_due("sender-a", 10, 60_000)
    with services.engine.begin() as connection:
        connection.execute(update(webhook_messages).values(retry_from_ms=0))  # created long ago
    assert services.outbox.record_attempt(
        message, "sender-a", REFUSED, started_at_ms=1, duration_ms=1, policy=POLICY
    ) == (DeliveryStatus.FAILED)
    (row,) = messages(services)
    assert (row["status"], row["next_attempt_at_ms"]) == ("failed", None)
    make_due(services)
    assert services.outbox.claim_due("sender-b", 10, 60_000) == []


def test_an_attempt_recorded_by_a_sender_that_lost_its_lease_does_not_reschedule(services: Services) -> None:
    add_endpoint(services, URL)
    finish_job(services)
    (slow,) = services.outbox.claim_due("slow-sender", 10, 60_000)
    assert services.outbox.expire_leases_of(["slow-sender"]) == 1
    (fast,) = services.outbox.claim_due("fast-sender", 10, 60_000)
    assert (
        services.outbox.record_attempt(slow, "slow-sender", REFUSED, started_at_ms=1, duration_ms=1, policy=POLICY)
        is None
    )
    (row,) = messages(services)
    assert row["lease_owner"] == "fast-sender"  # still the new owner's
    assert services.outbox.record_attempt(fast, "fast-sender", OK, started_at_ms=2, duration_ms=1, policy=POLICY) == (
        DeliveryStatus.DELIVERED
    )
    assert [a["attempt"] for a in attempts(services, fast.message_id)] == [1, 2]


def test_released_deliveries_are_due_at_once(services: Services) -> None:
    add_endpoint(services, URL)
    finish_job(services)
    (message,) = services.outbox.claim_due("stopping", 10, 60_000)
    assert services.outbox.leased_owners() == {"stopping"}
    assert services.outbox.release([message.message_id], "stopping") == 1
    (again,) = services.outbox.claim_due("next", 10, 60_000)
    assert again.message_id == message.message_id and again.attempts == 0


def test_redeliver_sends_an_ended_delivery_again_with_the_same_id(services: Services) -> None:
    add_endpoint(services, URL)
    finish_job(services)
    (message,) = services.outbox.claim_due("sender", 10, 60_000)
    services.outbox.record_attempt(message, "sender", OK, started_at_ms=1, duration_ms=1, policy=POLICY)
    assert services.outbox.redeliver(message.message_id)
    (again,) = services.outbox.claim_due("sender", 10, 60_000)
    assert (again.message_id, again.body, again.attempts) == (message.message_id, message.body, 1)
    assert not services.outbox.redeliver("msg_" + "0" * 32)


def test_removing_an_endpoint_removes_its_deliveries(services: Services) -> None:
    removed = add_endpoint(services, URL).endpoint
    kept = add_endpoint(services, URL + "/kept").endpoint
    finish_job(services)
    claimed = {message.endpoint_id: message for message in services.outbox.claim_due("sender", 10, 60_000)}
    for message in claimed.values():
        services.outbox.record_attempt(message, "sender", REFUSED, started_at_ms=1, duration_ms=1, policy=POLICY)
    assert services.webhook_endpoints.remove(removed.endpoint_id, None) == removed
    assert [m["endpoint_id"] for m in messages(services)] == [kept.endpoint_id]
    assert attempts(services, claimed[removed.endpoint_id].message_id) == []
    assert len(attempts(services, claimed[kept.endpoint_id].message_id)) == 1
    assert services.webhook_endpoints.remove(removed.endpoint_id, None) is None


def test_old_ended_deliveries_are_pruned_and_pending_ones_kept(services: Services) -> None:
    add_endpoint(services, URL)
    finish_job(services, n=0)
    (ended,) = services.outbox.claim_due("sender", 10, 60_000)
    services.outbox.record_attempt(ended, "sender", OK, started_at_ms=1, duration_ms=1, policy=POLICY)
    finish_job(services, n=1)
    assert services.outbox.prune(older_than_ms=2**62) == 1
    (left,) = messages(services)
    assert left["status"] == "pending" and left["message_id"] != ended.message_id
    assert attempts(services, ended.message_id) == []


def test_a_failed_insert_keeps_the_secret_out_of_the_error(services: Services) -> None:
    secret = Secret.generate()
    with pytest.raises(RuntimeError) as raised:
        services.webhook_endpoints.add(999_999, URL, DEFAULT_EVENTS, secret)  # no such workspace
    assert secret.reveal() not in "".join(traceback.format_exception(raised.value))
