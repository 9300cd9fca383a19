"""Spread each per-status job count over 16 rows, so concurrent workers stop queueing on one row lock.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing counts stay on shard 0; new changes spread over the shards, and readers sum them.
    with op.batch_alter_table("job_counts", recreate="always") as batch:
        batch.add_column(sa.Column("shard", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_job_counts", type_="primary")
        batch.create_primary_key("pk_job_counts", ["workspace_id", "status", "shard"])


def downgrade() -> None:
    op.execute(
        "UPDATE job_counts SET count = (SELECT sum(c.count) FROM job_counts c "
        "WHERE c.workspace_id = job_counts.workspace_id AND c.status = job_counts.status) WHERE shard = 0"
    )
    op.execute(
        "INSERT INTO job_counts (workspace_id, status, shard, count) "
        "SELECT workspace_id, status, 0, sum(count) FROM job_counts c GROUP BY workspace_id, status "
        "HAVING NOT EXISTS (SELECT 1 FROM job_counts z WHERE z.workspace_id = c.workspace_id "
        "AND z.status = c.status AND z.shard = 0)"
    )
    op.execute("DELETE FROM job_counts WHERE shard <> 0")
    with op.batch_alter_table("job_counts", recreate="always") as batch:
        batch.drop_constraint("pk_job_counts", type_="primary")
        batch.drop_column("shard")
        batch.create_primary_key("pk_job_counts", ["workspace_id", "status"])
