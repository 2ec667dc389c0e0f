"""Candidate states with the score and features that decided them

Every URL a story's crawl saw now keeps what became of it: discovered (seen, not worth
fetching), queued, fetched, accepted, rejected, duplicate, out of window, blocked by
robots.txt, redirected, failed, refused by the page budget or a trap rule. The score and
the features behind the decision are kept with it, so `storycrawl show` can say why.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("score", sa.Double(), nullable=True))
        batch.add_column(sa.Column("features", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("features")
        batch.drop_column("score")
