"""Job control: cancel requests, Idempotency-Key records, per-workspace quotas and stored bytes,
and the index fair-share claiming reads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("cancel_requested_at_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("stored_bytes", sa.BigInteger(), nullable=True))
    op.create_index("ix_import_jobs_started", "import_jobs", ["workspace_id", "started_at_ms"])
    op.create_table(
        "idempotency_keys",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_idempotency_keys_workspace_id_workspaces"
        ),
    )
    op.create_table(
        "workspace_quotas",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("max_running", sa.Integer(), nullable=True),
        sa.Column("max_pending", sa.Integer(), nullable=True),
        sa.Column("max_stored_bytes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_workspace_quotas"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_workspace_quotas_workspace_id_workspaces"
        ),
    )
    op.create_table(
        "workspace_storage",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "shard", name="pk_workspace_storage"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_workspace_storage_workspace_id_workspaces"
        ),
    )


def downgrade() -> None:
    op.drop_table("workspace_storage")
    op.drop_table("workspace_quotas")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_import_jobs_started", table_name="import_jobs")
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("stored_bytes")
        batch.drop_column("cancel_requested_at_ms")
