"""Alembic's entry point, run on the connection storycrawl hands over.

storycrawl drives Alembic from code (``archive.db.engine``), so there is no alembic.ini and no
offline mode: the connection, already set up with the database's pragmas, comes in
``config.attributes``. A new revision is written the same way, e.g.::

    with open_engine(url).connect() as connection:
        command.revision(alembic_config(connection), "what changed", autogenerate=True)
"""

from alembic import context

from archive.db.models import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    # SQLite alters a column only by copying its table: batch operations do that for us.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
