"""Site models, and the provenance of every document

- site_models: per host, the fingerprints of the page blocks that repeat across that
  outlet's pages (its menus, boxes, banners), learned by ``archive.chrome``; the next crawl
  and ``storycrawl reextract`` start from them.
- documents.extractor is now the name of the extractor whose text was kept (trafilatura,
  or jusText as the second opinion), documents.extractor_version its version, and
  documents.site_model the site model that removed the chrome ("host@version"), null when
  the outlet had none yet. Existing rows said "trafilatura 2.3.1": split into the two.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

documents = sa.table(
    "documents", sa.column("extractor", sa.String), sa.column("extractor_version", sa.String)
)


def upgrade() -> None:
    op.create_table(
        "site_models",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprints", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("extractor_version", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("site_model", sa.String(length=300), nullable=True))
    connection = op.get_bind()
    for (old,) in connection.execute(sa.select(documents.c.extractor).distinct()).all():
        name, _, number = old.rpartition(" ")
        if name:
            connection.execute(
                documents.update()
                .where(documents.c.extractor == old)
                .values(extractor=name, extractor_version=number)
            )


def downgrade() -> None:
    connection = op.get_bind()
    pairs = sa.select(documents.c.extractor, documents.c.extractor_version).distinct()
    for name, number in connection.execute(pairs).all():
        if number:
            connection.execute(
                documents.update()
                .where(documents.c.extractor == name, documents.c.extractor_version == number)
                .values(extractor=f"{name} {number}")
            )
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("site_model")
        batch.drop_column("extractor_version")
    op.drop_table("site_models")
