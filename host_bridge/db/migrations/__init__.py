"""Alembic's migration scripts for the store (run through `host_bridge.db.migrate`)."""
