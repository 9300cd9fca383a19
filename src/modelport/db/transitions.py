"""The one compare-and-set through which every job status changes.

`change_status` refuses a change the domain's TRANSITIONS table does not allow, updates the row
only if it is still in the expected status (and matches any extra condition, such as the lease
owner), and moves the job's count and writes the webhook events of the change (db/webhook_outbox.py)
in the same transaction. No row back means someone else won: the caller backs off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, update

from modelport.db.job_counts import move_count
from modelport.db.schema import import_jobs
from modelport.db.webhook_outbox import enqueue_job_event
from modelport.domain.jobs import TRANSITIONS, JobStatus


class IllegalTransition(ValueError):
    """A programming error: the code asked for a status change the state machine forbids."""


def change_status(
    connection: Connection,
    job_id: str,
    old: JobStatus,
    new: JobStatus,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any],
    returning: Sequence[Any] = (),
) -> Row[Any] | None:
    """Move job `job_id` from `old` to `new` if it is still `old`; the updated row, or None."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"a {old.name} job cannot become {new.name}")
    row = connection.execute(
        update(import_jobs)
        .where(import_jobs.c.job_id == job_id, import_jobs.c.status == old.value, *where)
        .values(status=new.value, **values)
        .returning(import_jobs.c.workspace_id, *returning)
    ).first()
    if row is not None:
        move_count(connection, row.workspace_id, job_id, old, new)
        # In the change's own transaction: the event exists exactly when the change committed.
        enqueue_job_event(connection, job_id, row.workspace_id, new)
    return row
