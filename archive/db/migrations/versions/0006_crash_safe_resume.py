"""WARC files by crawl, for a crash-safe resume

A crawl names each WARC file it opens before writing to it; a run resuming an interrupted
crawl reads the records of that crawl's files that have no page row, and finishes them
from the archive instead of fetching them again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warc_files",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("crawl_id", sa.Integer(), sa.ForeignKey("crawls.id"), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_warc_files_crawl_id", "warc_files", ["crawl_id"])


def downgrade() -> None:
    op.drop_index("ix_warc_files_crawl_id", table_name="warc_files")
    op.drop_table("warc_files")
