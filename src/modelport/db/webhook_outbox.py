"""The webhook outbox: events written in the transaction of the job change that caused them, and
the senders' side of delivering them (claim with a lease, record each attempt, retry or give up).

`enqueue_job_event` runs inside `transitions.change_status`, so an event exists exactly when its
status change committed: a crash before the commit loses both, a crash after it loses neither.
Delivery is at least once. A sender claims due rows in one transaction (`FOR UPDATE SKIP LOCKED`
on PostgreSQL; SQLite serialises writers) by pushing `next_attempt_at_ms` past its own deadline,
which is the lease: if the sender dies, the row comes due again by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from modelport.db.engine import db_now_ms, read_transaction, single_read, write_transaction
from modelport.db.job_rows import JOB_COLUMNS, job_from_row
from modelport.db.schema import import_jobs, webhook_attempts, webhook_endpoints, webhook_messages
from modelport.domain.jobs import JobStatus
from modelport.domain.webhooks import Attempt, Delivery, DeliveryStatus, EventType, new_message_id
from modelport.webhooks.payload import event_body
from modelport.webhooks.retry import RetryPolicy
from modelport.webhooks.signing import Secret

MAX_ERROR_CHARS = 500
MAX_LISTED_ATTEMPTS = 20  # per delivery, the latest

_SUBSCRIBERS = select(webhook_endpoints.c.endpoint_id, webhook_endpoints.c.events).where(
    webhook_endpoints.c.workspace_id == bindparam("workspace_id")
)
_PENDING = DeliveryStatus.PENDING.value


def enqueue_job_event(connection: Connection, job_id: str, workspace_id: int, status: JobStatus) -> int:
    """Within the transaction that made job `job_id` `status`: one outbox row per endpoint of the
    workspace that subscribes to the event; returns how many."""
    event = EventType.for_status(status)
    if event is None:
        return 0
    endpoint_ids = [
        row.endpoint_id
        for row in connection.execute(_SUBSCRIBERS, {"workspace_id": workspace_id})
        if event.value in row.events.split(",")
    ]
    if not endpoint_ids:
        return 0
    row = connection.execute(select(*JOB_COLUMNS, import_jobs.c.report).where(import_jobs.c.job_id == job_id)).one()
    occurred = int(row.updated_at_ms)
    body = event_body(event, job_from_row(row._mapping), json.loads(row.report) if row.report else None, occurred)
    connection.execute(
        insert(webhook_messages),
        [
            {
                "message_id": new_message_id(),
                "endpoint_id": endpoint_id,
                "event_type": event.value,
                "job_id": job_id,
                "payload": body,
                "status": _PENDING,
                "attempts": 0,
                "created_at_ms": occurred,
                "retry_from_ms": occurred,
                "next_attempt_at_ms": occurred,
            }
            for endpoint_id in endpoint_ids
        ],
    )
    return len(endpoint_ids)


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed delivery, with what the sender needs to make one attempt."""

    message_id: str
    endpoint_id: str
    url: str
    secret: Secret
    body: bytes
    attempts: int  # made before this claim


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    error: str | None  # None exactly when the receiver answered 2xx

    @property
    def delivered(self) -> bool:
        return self.error is None


class WebhookOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgresql = engine.dialect.name == "postgresql"

    # -- the senders' side -----------------------------------------------------------------------

    def claim_due(self, owner: str, limit: int, lease_ms: int) -> list[OutgoingMessage]:
        """Up to `limit` due deliveries, leased to `owner` for `lease_ms`."""
        due = (webhook_messages.c.status == _PENDING, webhook_messages.c.next_attempt_at_ms <= db_now_ms())
        # A read first, so that an idle sender polling SQLite does not take the write lock.
        with single_read(self._engine) as connection:
            if connection.execute(select(webhook_messages.c.message_id).where(*due).limit(1)).first() is None:
                return []
        with write_transaction(self._engine) as connection:
            query = (
                select(webhook_messages.c.message_id)
                .where(*due)
                .order_by(webhook_messages.c.next_attempt_at_ms)
                .limit(limit)
            )
            if self._postgresql:
                query = query.with_for_update(skip_locked=True)
            ids = [row.message_id for row in connection.execute(query)]
            if not ids:
                return []
            connection.execute(
                update(webhook_messages)
                .where(webhook_messages.c.message_id.in_(ids), *due)
                .values(lease_owner=owner, next_attempt_at_ms=db_now_ms() + lease_ms)
            )
            rows = connection.execute(
                select(
                    webhook_messages.c.message_id,
                    webhook_messages.c.endpoint_id,
                    webhook_messages.c.payload,
                    webhook_messages.c.attempts,
                    webhook_endpoints.c.url,
                    webhook_endpoints.c.secret,
                )
                .join(webhook_endpoints, webhook_endpoints.c.endpoint_id == webhook_messages.c.endpoint_id)
                .where(webhook_messages.c.message_id.in_(ids), webhook_messages.c.lease_owner == owner)
            ).all()
        return [
            OutgoingMessage(
                message_id=row.message_id,
                endpoint_id=row.endpoint_id,
                url=row.url,
                secret=Secret(row.secret),
                body=row.payload.encode("utf-8"),
                attempts=int(row.attempts),
            )
            for row in rows
        ]

    def record_attempt(
        self,
        message: OutgoingMessage,
        owner: str,
        outcome: AttemptOutcome,
        *,
        started_at_ms: int,
        duration_ms: int,
        policy: RetryPolicy,
    ) -> DeliveryStatus | None:
        """Keep the attempt and decide what follows: delivered, a retry, or given up. None when the
        delivery is gone (its endpoint was removed) or another sender owns it now."""
        error = None if outcome.error is None else outcome.error[:MAX_ERROR_CHARS]
        with write_transaction(self._engine) as connection:
            query = select(
                webhook_messages.c.status,
                webhook_messages.c.attempts,
                webhook_messages.c.retry_from_ms,
                webhook_messages.c.lease_owner,
                db_now_ms().label("now"),
            ).where(webhook_messages.c.message_id == message.message_id)
            if self._postgresql:
                query = query.with_for_update()
            row = connection.execute(query).first()
            if row is None:
                return None
            number = int(row.attempts) + 1
            connection.execute(
                webhook_attempts.insert().values(
                    message_id=message.message_id,
                    attempt=number,
                    started_at_ms=started_at_ms,
                    duration_ms=duration_ms,
                    status_code=outcome.status_code,
                    error=error,
                )
            )
            changes: dict[str, Any] = {"attempts": number}
            result: DeliveryStatus | None
            if outcome.delivered:
                # Delivered is final whoever holds the lease: a second sender's copy is a duplicate.
                changes |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at_ms": row.now}
                changes |= {"next_attempt_at_ms": None, "lease_owner": None}
                result = DeliveryStatus.DELIVERED
            elif row.status == _PENDING and row.lease_owner == owner:
                next_at = policy.next_attempt_at_ms(int(row.now), int(row.retry_from_ms), number)
                changes |= {"next_attempt_at_ms": next_at, "lease_owner": None}
                if next_at is None:
                    changes["status"] = DeliveryStatus.FAILED.value
                result = DeliveryStatus.PENDING if next_at is not None else DeliveryStatus.FAILED
            else:
                result = None  # the schedule is the current owner's (or the delivery already ended)
            connection.execute(
                update(webhook_messages).where(webhook_messages.c.message_id == message.message_id).values(**changes)
            )
        return result

    def release(self, message_ids: Sequence[str], owner: str) -> int:
        """Hand claimed deliveries back at once (a sender stopping mid-attempt)."""
        if not message_ids:
            return 0
        with write_transaction(self._engine) as connection:
            released: int = connection.execute(
                update(webhook_messages)
                .where(
                    webhook_messages.c.message_id.in_(list(message_ids)),
                    webhook_messages.c.lease_owner == owner,
                    webhook_messages.c.status == _PENDING,
                )
                .values(lease_owner=None, next_attempt_at_ms=db_now_ms())
            ).rowcount
        return released

    def leased_owners(self) -> set[str]:
        with single_read(self._engine) as connection:
            rows = connection.execute(
                select(webhook_messages.c.lease_owner)
                .where(webhook_messages.c.status == _PENDING, webhook_messages.c.lease_owner.isnot(None))
                .distinct()
            ).all()
        return {row.lease_owner for row in rows}

    def expire_leases_of(self, owners: Sequence[str]) -> int:
        """Make the deliveries of senders known to be dead due now, instead of when their leases end."""
        if not owners:
            return 0
        with write_transaction(self._engine) as connection:
            expired: int = connection.execute(
                update(webhook_messages)
                .where(webhook_messages.c.status == _PENDING, webhook_messages.c.lease_owner.in_(list(owners)))
                .values(lease_owner=None, next_attempt_at_ms=db_now_ms())
            ).rowcount
        return expired

    def prune(self, older_than_ms: int) -> int:
        """Forget deliveries that ended (delivered or given up) before `older_than_ms`."""
        ended = select(webhook_messages.c.message_id).where(
            webhook_messages.c.status != _PENDING, webhook_messages.c.created_at_ms < older_than_ms
        )
        with write_transaction(self._engine) as connection:
            connection.execute(delete(webhook_attempts).where(webhook_attempts.c.message_id.in_(ended)))
            pruned: int = connection.execute(
                delete(webhook_messages).where(
                    webhook_messages.c.status != _PENDING, webhook_messages.c.created_at_ms < older_than_ms
                )
            ).rowcount
        return pruned

    # -- what operators and owners see -----------------------------------------------------------

    def deliveries(self, endpoint_id: str, limit: int) -> list[Delivery]:
        """The latest `limit` deliveries of an endpoint, newest first, each with its latest attempts."""
        with read_transaction(self._engine) as connection:
            messages = connection.execute(
                select(*_DELIVERY_COLUMNS)
                .where(webhook_messages.c.endpoint_id == endpoint_id)
                .order_by(webhook_messages.c.created_at_ms.desc(), webhook_messages.c.message_id.desc())
                .limit(limit)
            ).all()
            attempts = _attempts_of(connection, [row.message_id for row in messages])
        return [_delivery(row._mapping, attempts.get(row.message_id, [])) for row in messages]

    def delivery(self, message_id: str) -> Delivery | None:
        with read_transaction(self._engine) as connection:
            row = connection.execute(
                select(*_DELIVERY_COLUMNS).where(webhook_messages.c.message_id == message_id)
            ).first()
            if row is None:
                return None
            attempts = _attempts_of(connection, [message_id])
        return _delivery(row._mapping, attempts.get(message_id, []))

    def redeliver(self, message_id: str) -> bool:
        """Send a delivery again, whatever became of it, with a fresh retry window and the same
        webhook-id; one in flight keeps its lease. False if there is no such delivery."""
        with write_transaction(self._engine) as connection:
            now = db_now_ms()
            in_flight = (
                webhook_messages.c.status == _PENDING,
                webhook_messages.c.lease_owner.isnot(None),
                webhook_messages.c.message_id == message_id,
            )
            if connection.execute(update(webhook_messages).where(*in_flight).values(retry_from_ms=now)).rowcount:
                return True
            changed: int = connection.execute(
                update(webhook_messages)
                .where(webhook_messages.c.message_id == message_id)
                .values(
                    status=_PENDING,
                    retry_from_ms=now,
                    next_attempt_at_ms=now,
                    delivered_at_ms=None,
                    lease_owner=None,
                )
            ).rowcount
        return changed == 1


_DELIVERY_COLUMNS = (
    webhook_messages.c.message_id,
    webhook_messages.c.endpoint_id,
    webhook_messages.c.event_type,
    webhook_messages.c.job_id,
    webhook_messages.c.status,
    webhook_messages.c.attempts,
    webhook_messages.c.created_at_ms,
    webhook_messages.c.next_attempt_at_ms,
    webhook_messages.c.delivered_at_ms,
)


def _attempts_of(connection: Connection, message_ids: list[str]) -> dict[str, list[Attempt]]:
    found: dict[str, list[Attempt]] = {}
    if not message_ids:
        return found
    rows = connection.execute(
        select(webhook_attempts)
        .where(webhook_attempts.c.message_id.in_(message_ids))
        .order_by(webhook_attempts.c.message_id, webhook_attempts.c.attempt, webhook_attempts.c.id)
    ).all()
    for row in rows:
        found.setdefault(row.message_id, []).append(
            Attempt(
                number=row.attempt,
                started_at_ms=row.started_at_ms,
                duration_ms=row.duration_ms,
                status_code=row.status_code,
                error=row.error,
            )
        )
    return found


def _delivery(row: Any, attempts: list[Attempt]) -> Delivery:
    return Delivery(
        message_id=row["message_id"],
        endpoint_id=row["endpoint_id"],
        event_type=EventType(row["event_type"]),
        job_id=row["job_id"],
        status=DeliveryStatus(row["status"]),
        attempt_count=row["attempts"],
        created_at_ms=row["created_at_ms"],
        next_attempt_at_ms=row["next_attempt_at_ms"] if row["status"] == _PENDING else None,
        delivered_at_ms=row["delivered_at_ms"],
        attempts=tuple(attempts[-MAX_LISTED_ATTEMPTS:]),
    )
