"""Alembic environment: always runs on a connection handed over by `modelport.db.migrations`."""

from alembic import context

from modelport.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
context.run_migrations()
