"""Webhook test helpers: endpoints added through the use case, jobs driven through their real
transitions (so events come from `change_status`), outbox rows read back, and a sender run in a
thread for as long as a `with` block lasts."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from modelport.db.schema import webhook_attempts, webhook_messages
from modelport.domain.jobs import Job, JobStatus, NewJob, StorageInfo, WeightType
from modelport.services import Services
from modelport.settings import Settings
from modelport.usecases.webhooks import NewEndpoint, Webhooks
from modelport.webhooks.addresses import Resolver, system_resolver
from modelport.worker.owner import new_owner_id, retire_owner_id
from modelport.worker.webhook_sender import WebhookSender

REPORT = {
    "format": "modelport.report/v1",
    "verdict": "passed",
    "error": None,
    "checks": [{"name": "files.policy", "outcome": "passed"}],
    "findings": [],
    "files": [{"path": "adapter_model.safetensors", "status": "accepted"}],
    "summary": {"rank": 8},
    "counts": {"errors": 0, "warnings": 1, "files": 3, "bytes_to_copy": 1234},
}


def add_endpoint(
    services: Services,
    url: str,
    *,
    workspace: str = "alpha",
    events: Sequence[str] | None = None,
    allow_private: bool = True,
    resolver: Resolver = system_resolver,
) -> NewEndpoint:
    webhooks = Webhooks(
        services.webhook_endpoints, services.outbox, services.keys, allow_private=allow_private, resolver=resolver
    )
    return webhooks.add_to_workspace(workspace, url, events)


def new_job(workspace_id: int, services: Services, n: int = 0) -> Job:
    request = NewJob(
        base_model="qwen3-8b",
        weight_type=WeightType.LORA,
        storage=StorageInfo(bucket_name="my-bucket", object_key=f"models/{n}/"),
        display_name=f"job {n}",
    )
    return services.writes.create(workspace_id, request).job


def finish_job(
    services: Services, workspace: str = "alpha", status: JobStatus = JobStatus.SUCCEEDED, n: int = 0
) -> Job:
    """A job of `workspace`, claimed and finished through the lease protocol; returns it as GET shows it."""
    workspace_id = services.keys.ensure_workspace(workspace)
    job = new_job(workspace_id, services, n)
    owner = f"test-owner-{n}"
    claim = services.queue.claim_next(owner, 30, 3)
    assert claim is not None and claim.job.job_id == job.job_id
    if status == JobStatus.SUCCEEDED:
        assert services.queue.finish(job.job_id, owner, status, report=REPORT)
    else:
        failed = {**REPORT, "verdict": "failed", "error": "adapter_config.json: r is 12."}
        failed["counts"] = {**REPORT["counts"], "errors": 1}
        finished = services.queue.finish(
            job.job_id, owner, status, error_code="adapter_config.json: r is 12.", reason_code="lora.rank_not_allowed",
            report=failed,
        )  # fmt: skip
        assert finished
    done = services.reads.get_by_id(job.job_id)
    assert done is not None
    return done


def messages(services: Services) -> list[dict[str, Any]]:
    with services.engine.connect() as connection:
        rows = connection.execute(select(webhook_messages).order_by(webhook_messages.c.created_at_ms)).all()
    return [dict(row._mapping) for row in rows]


def attempts(services: Services, message_id: str) -> list[dict[str, Any]]:
    with services.engine.connect() as connection:
        rows = connection.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.message_id == message_id)
            .order_by(webhook_attempts.c.attempt)
        ).all()
    return [dict(row._mapping) for row in rows]


@contextmanager
def sending(
    services: Services, settings: Settings | None = None, resolver: Resolver = system_resolver
) -> Iterator[WebhookSender]:
    """A sender delivering from the outbox in a thread of its own until the block ends."""
    owner = new_owner_id()
    sender = WebhookSender(services.outbox, settings or services.settings, owner, resolver=resolver)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(lambda: not stop.is_set(),), name="test-sender", daemon=True)
    thread.start()
    try:
        yield sender
    finally:
        stop.set()
        sender.wake()
        thread.join(timeout=60)
        retire_owner_id(owner)
        assert not thread.is_alive(), "the sender did not stop"
