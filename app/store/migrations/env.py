"""Alembic environment: always driven from `countersign.store.migrate`, which passes
the open connection in ``config.attributes["connection"]``."""

from alembic import context

# Their tables join Base.metadata.
from countersign.store import autonomy_models, review_models  # noqa: F401
from countersign.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
