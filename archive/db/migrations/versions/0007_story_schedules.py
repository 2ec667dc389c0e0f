"""Story schedules: which scheduler runs a story, and when next

`storycrawl schedule` records each story it runs with its next run, and removes the row
when it stops, so that `storycrawl stories` shows a next run only while a scheduler will
make it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_schedules",
        sa.Column("story", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("schedule", sa.String(200), nullable=False),
        sa.Column("next_run", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("story_schedules")
