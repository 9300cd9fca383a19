"""Initial schema: workspaces, API keys, import jobs and per-status job counts.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("name", name="uq_workspaces_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name="fk_api_keys_workspace_id_workspaces"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "import_jobs",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(160), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("base_model", sa.String(64), nullable=False),
        sa.Column("weight_type", sa.String(8), nullable=False),
        sa.Column("bucket_name", sa.String(63), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("finished_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("phase", sa.String(32), nullable=True),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=True),
        sa.Column("progress_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name="pk_import_jobs"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name="fk_import_jobs_workspace_id_workspaces"),
        sa.UniqueConstraint("model_name", name="uq_import_jobs_model_name"),
    )
    op.create_index("ix_import_jobs_listing", "import_jobs", ["workspace_id", "created_at_ms", "job_id"])
    op.create_index(
        "ix_import_jobs_listing_status", "import_jobs", ["workspace_id", "status", "created_at_ms", "job_id"]
    )
    op.create_index("ix_import_jobs_queue", "import_jobs", ["status", "created_at_ms"])
    op.create_table(
        "job_counts",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "status", name="pk_job_counts"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name="fk_job_counts_workspace_id_workspaces"),
    )


def downgrade() -> None:
    op.drop_table("job_counts")
    op.drop_index("ix_import_jobs_queue", table_name="import_jobs")
    op.drop_index("ix_import_jobs_listing_status", table_name="import_jobs")
    op.drop_index("ix_import_jobs_listing", table_name="import_jobs")
    op.drop_table("import_jobs")
    op.drop_table("api_keys")
    op.drop_table("workspaces")
