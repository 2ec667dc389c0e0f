"""Incremental crawls: page validators, the crawl frontier, per-run figures, story locks

- pages.etag / pages.last_modified: what a later run sends back in a conditional request.
- candidates: every URL a story's crawl decided to fetch, with its state, so a crawl that
  was stopped (even by SIGKILL) resumes its frontier instead of starting over.
- crawls.*: the figures of each run (fetched, not modified, new, changed, new matches).
- story_locks: at most one run per story at a time, across machines sharing the database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FIGURES = ("pages_fetched", "not_modified", "new_pages", "changed_pages", "new_matches")


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("etag", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("last_modified", sa.String(length=100), nullable=True))
    with op.batch_alter_table("crawls") as batch:
        for name in FIGURES:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("crawl_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"]),
        sa.ForeignKeyConstraint(["crawl_id"], ["crawls.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("story_id", "canonical_url"),
    )
    op.create_index("ix_candidates_state", "candidates", ["story_id", "state"])
    op.create_table(
        "story_locks",
        sa.Column("story", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=300), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("story"),
    )


def downgrade() -> None:
    op.drop_table("story_locks")
    op.drop_index("ix_candidates_state", table_name="candidates")
    op.drop_table("candidates")
    with op.batch_alter_table("crawls") as batch:
        for name in FIGURES:
            batch.drop_column(name)
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("last_modified")
        batch.drop_column("etag")
