"""documents.created_at: re-extraction adds newer documents per page, export takes the newest

A document made before this revision was extracted when its page was fetched, so that is
its age. The column is filled from ``pages.fetched_at`` rather than given a server default:
SQLite cannot add a column with a non-constant default, and the models have none.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE documents SET created_at = "
        "(SELECT fetched_at FROM pages WHERE pages.id = documents.page_id)"
    )
    with op.batch_alter_table("documents") as batch:
        batch.alter_column("created_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("created_at")
