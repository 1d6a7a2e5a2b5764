"""Alembic environment: always given a connection by `host_bridge.db.migrate` (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from host_bridge.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
