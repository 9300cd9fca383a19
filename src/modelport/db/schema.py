"""The database schema as SQLAlchemy Core tables; Alembic migrations must produce exactly this.

Times are integer milliseconds since the epoch (UTC): the wire shows milliseconds, ordering and
lease arithmetic stay exact, and SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

import zlib

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at_ms", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    # SHA-256 of the whole key: keys are 190+ bits of randomness, so a slow KDF buys nothing.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("revoked_at_ms", BigInteger, nullable=True),
)

import_jobs = Table(
    "import_jobs",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("model_name", String(160), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("base_model", String(64), nullable=False),
    Column("weight_type", String(8), nullable=False),
    Column("bucket_name", String(63), nullable=False),
    Column("object_key", String(1024), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", Text, nullable=True),
    Column("reason_code", String(64), nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("started_at_ms", BigInteger, nullable=True),
    Column("finished_at_ms", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires_at_ms", BigInteger, nullable=True),
    Column("phase", String(32), nullable=True),
    Column("bytes_done", BigInteger, nullable=False, default=0),
    Column("bytes_total", BigInteger, nullable=True),
    Column("progress_at_ms", BigInteger, nullable=True),
    Column("report", Text, nullable=True),
    # Set by a cancel request while the job runs; the worker holding it sees it at its next heartbeat.
    Column("cancel_requested_at_ms", BigInteger, nullable=True),
    # The bytes a SUCCESSED import's model takes in the store (its manifest's total), for quotas.
    Column("stored_bytes", BigInteger, nullable=True),
    Index("ix_import_jobs_listing", "workspace_id", "created_at_ms", "job_id"),
    Index("ix_import_jobs_listing_status", "workspace_id", "status", "created_at_ms", "job_id"),
    Index("ix_import_jobs_queue", "status", "created_at_ms"),
    Index("ix_import_jobs_listing_base", "workspace_id", "base_model", "created_at_ms", "job_id"),
    # Fair share: when a workspace last had a job claimed (the largest started_at_ms), per workspace.
    Index("ix_import_jobs_started", "workspace_id", "started_at_ms"),
)

# Per-workspace counts by status, kept in the same transaction as every job insert, transition and
# delete, so that the list route's `total` costs a few row reads however many jobs a workspace
# holds. Each count is spread over COUNT_SHARDS rows (a job always lands on the same one), so
# concurrent workers do not queue on a single row lock; readers sum the shards.
COUNT_SHARDS = 16

job_counts = Table(
    "job_counts",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("shard", Integer, primary_key=True, server_default="0"),
    Column("count", BigInteger, nullable=False),
)


# An Idempotency-Key (IETF draft) seen on a create, per workspace: a retry with the same key and
# body within the window returns the job the first request created.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("job_id", String(36), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

# Per-workspace limits set by the operator; NULL means the default (see settings).
workspace_quotas = Table(
    "workspace_quotas",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("max_running", Integer, nullable=True),
    Column("max_pending", Integer, nullable=True),
    Column("max_stored_bytes", BigInteger, nullable=True),
)

# Bytes stored per workspace, sharded like job_counts and changed in the same transactions as the
# job rows (a SUCCESSED finish adds the model's bytes, a delete removes them).
workspace_storage = Table(
    "workspace_storage",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("bytes", BigInteger, nullable=False),
)


def count_shard(job_id: str) -> int:
    """The counter shard of a job: stable for the job's life, so its +1 and -1 meet on one row."""
    return zlib.crc32(job_id.encode()) % COUNT_SHARDS


# -- webhooks (domain/webhooks.py) ---------------------------------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint_id", String(40), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("events", String(200), nullable=False),  # event types, comma-separated
    # The signing secret itself (`whsec_...`), not a hash: HMAC signing needs the key on every
    # delivery. It leaves the database only into a signature (and once, at creation, to its owner).
    Column("secret", String(100), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_webhook_endpoints_workspace", "workspace_id", "created_at_ms"),
)

# The outbox: one row per event and endpoint, written in the transaction of the job's status change
# (db/transitions.py), so an event exists exactly when its change committed. `next_attempt_at_ms`
# is both the retry schedule and the lease: a sender that claims a row pushes it past its own
# deadline, so a sender that dies mid-delivery only delays the row.
webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("endpoint_id", String(40), ForeignKey("webhook_endpoints.endpoint_id"), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("job_id", String(36), nullable=False),  # no foreign key: a deleted job's event still goes out
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("retry_from_ms", BigInteger, nullable=False),  # the retry window's start (reset by a redeliver)
    Column("next_attempt_at_ms", BigInteger, nullable=True),
    Column("lease_owner", String(200), nullable=True),
    Column("delivered_at_ms", BigInteger, nullable=True),
    Index("ix_webhook_messages_due", "status", "next_attempt_at_ms"),
    Index("ix_webhook_messages_endpoint", "endpoint_id", "created_at_ms"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(40), ForeignKey("webhook_messages.message_id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Index("ix_webhook_attempts_message", "message_id", "attempt"),
)
