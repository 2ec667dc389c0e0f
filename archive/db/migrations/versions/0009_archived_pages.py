"""Pages fetched from web archives

A page a story's crawl got from a web archive (the Wayback Machine, any CDX server with
raw replay) records which archive served it, the archive's URL of the capture and when the
archive captured the page; the page's own URL stays the original one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 21:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("archive", sa.Text(), nullable=True))
        batch.add_column(sa.Column("archive_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("archived_at")
        batch.drop_column("archive_url")
        batch.drop_column("archive")
