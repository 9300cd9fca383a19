"""Index the list route's base_model filter (a modelport extension), so a base's jobs page like the rest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_import_jobs_listing_base", "import_jobs", ["workspace_id", "base_model", "created_at_ms", "job_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_import_jobs_listing_base", table_name="import_jobs")
